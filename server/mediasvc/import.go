package mediasvc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/yingji/yingji/server/yingji"
)

// Import stores a complete file the server itself has (the demo city's photos) as an upload
// by the actor would be stored: sniffed and limited by kind, its EXIF read, verified, recorded
// and audited. It returns the file's SHA-256; a file already held is not stored again.
func (s *Service) Import(ctx context.Context, a *yingji.Actor, data []byte, filename string) (string, error) {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if _, ok, err := s.Exists(ctx, a, sha); err != nil || ok {
		return sha, err
	}
	row := uploadRow{ID: yingji.NewID(), SHA256: sha, UserID: a.UserID, Filename: filename, Size: int64(len(data))}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return sha, s.ingest(ctx, a, row, open)
}
