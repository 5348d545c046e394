// Package mediasvctest helps tests of media: it makes JPEG photos with EXIF (time, GPS,
// orientation) and speaks the client side of the server's tus upload protocol.
package mediasvctest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	exif "github.com/dsoprea/go-exif/v3"
	exifcommon "github.com/dsoprea/go-exif/v3/common"
)

// EXIF is what a test photo's EXIF block says; zero fields are left out.
type EXIF struct {
	Orientation uint16
	TakenAt     string // "2006:01:02 15:04:05"
	Offset      string // OffsetTimeOriginal, "+08:00"
	Lat, Lng    float64
}

// JPEG returns a w×h JPEG with the EXIF block e (none when nil). Its left half is red and its
// right half blue, so a test can tell how it was turned; the top-left pixel is green.
func JPEG(tb testing.TB, w, h int, e *EXIF) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{200, 20, 20, 255}
			if x >= w/2 {
				c = color.RGBA{20, 20, 200, 255}
			}
			if x < w/8 && y < h/8 {
				c = color.RGBA{20, 200, 20, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	if e == nil {
		return buf.Bytes()
	}
	return WithEXIF(tb, buf.Bytes(), *e)
}

// WithEXIF inserts an APP1 EXIF segment right after the SOI marker of a JPEG.
func WithEXIF(tb testing.TB, jpg []byte, e EXIF) []byte {
	tb.Helper()
	tiff := encodeEXIF(tb, e)
	seg := make([]byte, 4, 4+6+len(tiff))
	seg[0], seg[1] = 0xFF, 0xE1
	binary.BigEndian.PutUint16(seg[2:], uint16(2+6+len(tiff)))
	seg = append(append(seg, "Exif\x00\x00"...), tiff...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func encodeEXIF(tb testing.TB, e EXIF) []byte {
	tb.Helper()
	im, err := exifcommon.NewIfdMappingWithStandard()
	if err != nil {
		tb.Fatal(err)
	}
	ti := exif.NewTagIndex()
	bo := binary.BigEndian
	ib := exif.NewIfdBuilder(im, ti, exifcommon.IfdStandardIfdIdentity, bo)
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	if e.Orientation != 0 {
		must(ib.AddStandardWithName("Orientation", []uint16{e.Orientation}))
	}
	if e.TakenAt != "" {
		exifIb, err := exif.GetOrCreateIbFromRootIb(ib, "IFD/Exif")
		must(err)
		must(exifIb.AddStandardWithName("DateTimeOriginal", e.TakenAt))
		if e.Offset != "" {
			must(exifIb.AddStandardWithName("OffsetTimeOriginal", e.Offset))
		}
	}
	if e.Lat != 0 || e.Lng != 0 {
		gpsIb, err := exif.GetOrCreateIbFromRootIb(ib, "IFD/GPSInfo")
		must(err)
		must(gpsIb.AddStandardWithName("GPSVersionID", []byte{2, 2, 0, 0}))
		latRef, lngRef := "N", "E"
		if e.Lat < 0 {
			latRef = "S"
		}
		if e.Lng < 0 {
			lngRef = "W"
		}
		must(gpsIb.AddStandardWithName("GPSLatitudeRef", latRef))
		must(gpsIb.AddStandardWithName("GPSLatitude", dms(e.Lat)))
		must(gpsIb.AddStandardWithName("GPSLongitudeRef", lngRef))
		must(gpsIb.AddStandardWithName("GPSLongitude", dms(e.Lng)))
	}
	b, err := exif.NewIfdByteEncoder().EncodeToExif(ib)
	must(err)
	return b
}

// dms writes decimal degrees as degrees, minutes and seconds (1/10000 s).
func dms(v float64) []exifcommon.Rational {
	if v < 0 {
		v = -v
	}
	d := uint32(v)
	m := uint32((v - float64(d)) * 60)
	s := (v - float64(d) - float64(m)/60) * 3600
	return []exifcommon.Rational{{Numerator: d, Denominator: 1}, {Numerator: m, Denominator: 1},
		{Numerator: uint32(s*10000 + 0.5), Denominator: 10000}}
}

// SHA256 is the hex SHA-256 of b.
func SHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Client speaks tus to a server.
type Client struct {
	URL   string // the server's base URL, e.g. http://127.0.0.1:8080
	Token string
	HTTP  *http.Client
}

// Response is a decoded answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Offset is the Upload-Offset of the answer, -1 without one.
func (r Response) Offset() int64 {
	v := r.Header.Get("Upload-Offset")
	if v == "" {
		return -1
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// Metadata encodes an Upload-Metadata header.
func Metadata(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

// Do sends a tus request: headers as name/value pairs, Tus-Resumable added.
func (c *Client) Do(tb testing.TB, method, url string, body []byte, headers ...string) Response {
	tb.Helper()
	if strings.HasPrefix(url, "/") {
		url = c.URL + url
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Create creates an upload of data declaring sha (the hash of data when "") and returns the
// answer; its Location header is the upload's URL.
func (c *Client) Create(tb testing.TB, data []byte, sha, contentType string) Response {
	tb.Helper()
	if sha == "" {
		sha = SHA256(data)
	}
	meta := Metadata("sha256", sha, "filename", "现场照片.jpg", "content_type", contentType)
	return c.Do(tb, http.MethodPost, "/api/v1/media/uploads", nil,
		"Upload-Length", strconv.Itoa(len(data)), "Upload-Metadata", meta)
}

// Patch sends data at offset to the upload at location.
func (c *Client) Patch(tb testing.TB, location string, offset int64, data []byte, headers ...string) Response {
	tb.Helper()
	h := append([]string{"Content-Type", "application/offset+octet-stream", "Upload-Offset", strconv.FormatInt(offset, 10)}, headers...)
	return c.Do(tb, http.MethodPatch, location, data, h...)
}

// Upload uploads data in one creation and one PATCH and returns the PATCH answer (the
// creation's when it completed at once).
func (c *Client) Upload(tb testing.TB, data []byte, contentType string) Response {
	tb.Helper()
	r := c.Create(tb, data, "", contentType)
	if r.Status != http.StatusCreated {
		tb.Fatalf("create: %d %s", r.Status, r.Body)
	}
	if r.Offset() == int64(len(data)) {
		return r
	}
	return c.Patch(tb, r.Header.Get("Location"), 0, data)
}
