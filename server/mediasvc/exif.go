package mediasvc

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"strings"
	"time"

	exif "github.com/dsoprea/go-exif/v3"
	exifcommon "github.com/dsoprea/go-exif/v3/common"
)

// exifHeadLen bounds how much of a non-JPEG photo is searched for its EXIF block.
const exifHeadLen = 1 << 20

// Metadata is what a photo's EXIF says about where and when it was taken.
type Metadata struct {
	TakenAt  *time.Time
	Lat, Lng *float64
}

// ReadMetadata reads a photo's EXIF DateTimeOriginal (in the zone of OffsetTimeOriginal,
// else loc) and GPS position. A photo without them, or with a broken EXIF block, yields
// what could be read; it is never an error.
func (s *Service) ReadMetadata(r io.Reader, loc *time.Location) (md Metadata) {
	defer func() {
		if recover() != nil { // a malformed block must not take the upload down
			md = Metadata{}
		}
	}()
	tiff := findTIFF(r)
	if tiff == nil || !saneTIFF(tiff) {
		return md
	}
	_, index, err := exif.Collect(s.ifds, s.tags, tiff)
	if err != nil || index.RootIfd == nil {
		return md
	}
	if loc == nil {
		loc = s.cfg.Location
	}
	if ifd, err := exif.FindIfdFromRootIfd(index.RootIfd, "IFD/Exif"); err == nil {
		taken := tagString(ifd, 0x9003) // DateTimeOriginal
		if taken == "" {
			taken = tagString(ifd, 0x9004) // DateTimeDigitized
		}
		if off := tagString(ifd, 0x9011); off != "" { // OffsetTimeOriginal
			if t, err := time.Parse("-07:00", off); err == nil {
				loc = t.Location()
			}
		}
		if t, err := time.ParseInLocation("2006:01:02 15:04:05", taken, loc); err == nil && t.Year() > 1900 {
			t = t.UTC()
			md.TakenAt = &t
		}
	}
	if ifd, err := index.RootIfd.ChildWithIfdPath(exifcommon.IfdGpsInfoStandardIfdIdentity); err == nil {
		if gi, err := ifd.GpsInfo(); err == nil {
			lat, lng := gi.Latitude.Decimal(), gi.Longitude.Decimal()
			if !math.IsNaN(lat) && !math.IsNaN(lng) && math.Abs(lat) <= 90 && math.Abs(lng) <= 180 && (lat != 0 || lng != 0) {
				lat, lng = math.Round(lat*1e7)/1e7, math.Round(lng*1e7)/1e7
				md.Lat, md.Lng = &lat, &lng
			}
		}
	}
	return md
}

func tagString(ifd *exif.Ifd, id uint16) string {
	tags, err := ifd.FindTagWithId(id)
	if err != nil || len(tags) == 0 {
		return ""
	}
	v, err := tags[0].Value()
	if err != nil {
		return ""
	}
	s, _ := v.(string)
	return strings.TrimSpace(strings.TrimRight(s, "\x00"))
}

// findTIFF returns the TIFF structure of a photo's EXIF block: from the APP1 segment of a
// JPEG, else from the first MiB of a PNG (eXIf), WebP (EXIF) or HEIC file.
func findTIFF(r io.Reader) []byte {
	var sig [2]byte
	if _, err := io.ReadFull(r, sig[:]); err != nil {
		return nil
	}
	if sig == [2]byte{0xFF, 0xD8} {
		return jpegTIFF(r)
	}
	head, _ := io.ReadAll(io.LimitReader(r, exifHeadLen))
	if i := bytes.Index(head, []byte("Exif\x00\x00")); i >= 0 {
		return head[i+6:]
	}
	if i := bytes.Index(head, []byte("eXIf")); i >= 0 {
		return head[i+4:]
	}
	return nil
}

// jpegTIFF walks the JPEG segments after SOI up to the image data, returning the payload of
// the APP1 segment that holds EXIF.
func jpegTIFF(r io.Reader) []byte {
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil
		}
		for hdr[0] == 0xFF && hdr[1] == 0xFF { // fill bytes
			copy(hdr[:], hdr[1:])
			if _, err := io.ReadFull(r, hdr[3:]); err != nil {
				return nil
			}
		}
		if hdr[0] != 0xFF {
			return nil
		}
		marker := hdr[1]
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(hdr[2:])) - 2
		if n < 0 {
			return nil
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(r, seg); err != nil {
			return nil
		}
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
	}
}

// Sizes of the TIFF field types, by type id.
var tiffTypeSize = map[uint16]uint64{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}

// Tags of IFD0 and the Exif IFD that point to sub-IFDs: Exif, GPS, Interoperability.
var subIFDTags = map[uint16]bool{0x8769: true, 0x8825: true, 0xA005: true}

// saneTIFF checks the structure of an EXIF block before a parser sees it: every IFD and every
// value lies inside the block, IFDs do not loop and there are few of them. A damaged or
// hostile block (huge counts, offsets out of range, cycles) is left unread rather than risk
// the parser's time and memory.
func saneTIFF(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	var bo binary.ByteOrder
	switch string(b[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return false
	}
	size := uint64(len(b))
	seen := map[uint32]bool{}
	queue := []uint32{bo.Uint32(b[4:8])}
	for len(queue) > 0 {
		off := queue[0]
		queue = queue[1:]
		if off == 0 {
			continue
		}
		if seen[off] || len(seen) >= 8 || uint64(off)+2 > size {
			return false
		}
		seen[off] = true
		n := uint64(bo.Uint16(b[off:]))
		end := uint64(off) + 2 + 12*n
		if n > 1000 || end+4 > size {
			return false
		}
		for i := uint64(0); i < n; i++ {
			e := b[uint64(off)+2+12*i:]
			tag, typ, count := bo.Uint16(e), bo.Uint16(e[2:]), uint64(bo.Uint32(e[4:]))
			ts, ok := tiffTypeSize[typ]
			if !ok {
				continue // unknown types are skipped by parsers
			}
			if n := ts * count; n > 4 && uint64(bo.Uint32(e[8:]))+n > size || n > size {
				return false
			}
			if subIFDTags[tag] && count == 1 && (typ == 4 || typ == 13) {
				queue = append(queue, bo.Uint32(e[8:]))
			}
		}
		queue = append(queue, bo.Uint32(b[end:]))
	}
	return true
}
