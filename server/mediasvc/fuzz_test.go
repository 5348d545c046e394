package mediasvc

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/server/yingji"
)

// FuzzParseCreation fuzzes the upload metadata parser: the headers of a tus creation request
// (Upload-Length, Upload-Metadata with sha256, filename and content_type) and of a chunk
// (Upload-Checksum). Whatever a client sends, the parser must not panic and must answer a
// coded error with a 4xx meaning, or a creation whose values are safe to store and to put in
// a Content-Disposition header later: a valid SHA-256, a size within the limits, a file name
// without a path, control characters or broken UTF-8, a bounded content type.
//
//	go test -run '^$' -fuzz '^FuzzParseCreation$' -fuzztime 10m -parallel 1 ./server/mediasvc/
//
// Result, 2026-12-07 14:32 UTC (after 18 minutes of building with coverage instrumentation): 10
// minutes, 1 worker, 540,160 execs, no failure. Written before the first run, its seeds
// already failed on two cases, fixed in parseCreation: a file name kept control characters
// (NUL, CR, LF) and a file name ".." was kept as it was.
func FuzzParseCreation(f *testing.F) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	sha := strings.Repeat("ab", 32)
	for _, s := range [][3]string{
		{"1024", "sha256 " + b64(sha) + ",filename " + b64("IMG_0001.jpg") + ",content_type " + b64("image/jpeg"), "sha256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
		{"1", "sha256 " + b64(strings.ToUpper(sha)) + ",filename " + b64(`C:\\照片\\..\\现场.heic`), "md5 1B2M2Y8AsgTpgAmY7PhCfg=="},
		{"999999999999", "sha256 " + b64(" "+sha+" ") + ",content_type " + b64("video/mp4; x=1"), "sha1 2jmj7l5rSw0yVb/vlWAYkK/YBwk="},
		{"-1", "sha256", "crc32 AAAA"},
		{"0", "", ""},
		{"10", "filename " + b64("a\x00b\r\nc") + ",sha256 " + b64(sha) + ",filename " + b64("/"), "sha256"},
		{"5", "sha256 !!!,,, ,filename", "SHA256  47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= "},
		{"7", "sha256 " + b64(sha) + ",filename " + b64("报告\x00.pdf\r\n"), ""},
		{"7", "sha256 " + b64(sha) + ",filename " + b64(".."), ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	svc := &Service{cfg: Config{MaxPhoto: 30 << 20, MaxVideo: 1 << 30, MaxAudio: 100 << 20, MaxPDF: 50 << 20}}
	f.Fuzz(func(t *testing.T, length, metadata, sum string) {
		h := http.Header{}
		h.Set("Upload-Length", length)
		h.Set("Upload-Metadata", metadata)
		c, err := svc.parseCreation(h)
		if err != nil {
			checkClientError(t, err)
		} else {
			if !media.ValidSHA256(c.sha) || c.sha != strings.ToLower(c.sha) {
				t.Fatalf("sha256 %q", c.sha)
			}
			if c.size <= 0 || c.size > svc.cfg.maxSize() {
				t.Fatalf("size %d", c.size)
			}
			for what, v := range map[string]string{"filename": c.filename, "content_type": c.contentType} {
				if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
					t.Fatalf("%s %q has broken UTF-8 or control characters", what, v)
				}
			}
			if strings.ContainsAny(c.filename, `/\`) || c.filename == "." || c.filename == ".." || utf8.RuneCountInString(c.filename) > 255 {
				t.Fatalf("filename %q", c.filename)
			}
			if utf8.RuneCountInString(c.contentType) > 100 {
				t.Fatalf("content_type %q", c.contentType)
			}
		}
		ck, err := parseChecksum(sum)
		if err != nil {
			checkClientError(t, err)
			return
		}
		if h, ok := checksumAlgos[ck.algo]; !ok || len(ck.sum) != h().Size() {
			t.Fatalf("checksum %q accepted as %s of %d bytes", sum, ck.algo, len(ck.sum))
		}
	})
}

// checkClientError fails unless err is a coded error answered with a 4xx status.
func checkClientError(t *testing.T, err error) {
	t.Helper()
	var ye *yingji.Error
	if !errors.As(err, &ye) || ye.Kind == yingji.EINTERNAL || ye.Code == "" || ye.Message == "" {
		t.Fatalf("not a coded client error: %v", err)
	}
	if st := HTTPStatus(err); st != 0 && (st < 400 || st > 499) {
		t.Fatalf("status %d for %v", st, err)
	}
}
