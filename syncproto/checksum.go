package syncproto

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
)

// RecordHash is a record's contribution to its scope's checksum. The checksum of a scope is
// the sum modulo 2^64 of the hashes of its live records: order-independent, so both sides keep
// it incrementally (add on arrival, subtract on departure) and never need a full scan.
func RecordHash(collection, id string, seq int64) uint64 {
	h := sha256.New()
	h.Write([]byte(collection))
	h.Write([]byte{0})
	h.Write([]byte(id))
	h.Write([]byte{0})
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	h.Write(b[:])
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])
}

// FormatChecksum writes a checksum for the wire.
func FormatChecksum(sum uint64) string { return strconv.FormatUint(sum, 10) }

// ParseChecksum reads a checksum from the wire.
func ParseChecksum(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
