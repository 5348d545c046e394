// Package web serves the government portal (admin-web) embedded in the binary: hashed assets
// with a one-year immutable cache, index.html with no-cache and an ETag, index.html again for
// every client route (the portal routes in the browser), and a JSON 404 for unknown API and
// operations paths so a mistyped endpoint never answers with a web page.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	adminweb "github.com/yingji/yingji/admin-web"
)

// Cache-Control values.
const (
	// CacheImmutable is sent with hashed files under /assets/: their name changes with their content.
	CacheImmutable = "public, max-age=31536000, immutable"
	// CacheRevalidate is sent with index.html and the other unhashed files: always ask, answer 304 when unchanged.
	CacheRevalidate = "no-cache"
)

// reserved are the path prefixes owned by the server, never by the portal.
var reserved = []string{"/api", "/healthz", "/readyz", "/metrics"}

// Handler serves the portal built into the binary (admin-web/dist).
func Handler() http.Handler {
	sub, err := fs.Sub(adminweb.Dist, "dist")
	if err != nil {
		panic(fmt.Sprintf("web: embedded dist: %v", err)) // cannot happen: dist is a fixed embedded folder
	}
	h, err := New(sub)
	if err != nil {
		panic(fmt.Sprintf("web: embedded dist: %v", err)) // the build embeds an index.html; tests check it
	}
	return h
}

// New returns a handler serving the built portal in fsys (index.html at its root). It reads
// every file once, so later requests never touch fsys.
func New(fsys fs.FS) (http.Handler, error) {
	s := &server{files: map[string]*file{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		f := &file{name: "/" + p, body: b, ctype: contentType(p), etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		f.immutable = strings.HasPrefix(f.name, "/assets/")
		s.files[f.name] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read portal files: %w", err)
	}
	if s.index = s.files["/index.html"]; s.index == nil {
		return nil, fmt.Errorf("web: the portal has no index.html (run npm run build in admin-web)")
	}
	return s, nil
}

type server struct {
	files map[string]*file
	index *file
}

// file is one file of the portal, kept in memory, with its gzip form made on first request.
type file struct {
	name, ctype, etag string
	immutable         bool
	body              []byte
	gzOnce            sync.Once
	gz                []byte // nil when compression does not pay
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := path.Clean("/" + r.URL.Path)
	if isReserved(p) || dotSegments(r.URL.Path) { // browsers resolve "..": such a path is a probe
		notFoundJSON(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, r, http.StatusMethodNotAllowed, "request.method_not_allowed", "不支持该请求方法")
		return
	}
	f := s.files[p]
	switch {
	case f != nil:
	case strings.HasPrefix(p, "/assets/") || path.Ext(p) != "":
		// A missing file, not a client route: answering with index.html would hide the error
		// behind a confusing MIME-type failure in the browser.
		http.Error(w, "404 文件不存在", http.StatusNotFound)
		return
	default:
		f = s.index // a client route: the portal's router shows the page
	}
	s.serve(w, r, f)
}

func (s *server) serve(w http.ResponseWriter, r *http.Request, f *file) {
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	if f.immutable {
		h.Set("Cache-Control", CacheImmutable)
	} else {
		h.Set("Cache-Control", CacheRevalidate)
	}
	body, etag := f.body, f.etag
	if r.Header.Get("Range") == "" && acceptsGzip(r) {
		if gz := f.gzipped(); gz != nil {
			body, etag = gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	// ServeContent answers If-None-Match with 304, HEAD without a body, and Range requests.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// gzipped returns the gzip form of a text file, or nil for small or already compressed files.
func (f *file) gzipped() []byte {
	f.gzOnce.Do(func() {
		if len(f.body) < 1024 || !compressible(f.ctype) {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(f.body)
		zw.Close()
		if buf.Len() < len(f.body) {
			f.gz = buf.Bytes()
		}
	})
	return f.gz
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}

func isReserved(p string) bool {
	for _, pre := range reserved {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// notFoundJSON answers an unknown API or operations path like the API's own error handler does
// (same code and message as an unmatched /api route, with the request id).
func notFoundJSON(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusNotFound, "request.no_route", "接口不存在")
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	json.NewEncoder(w).Encode(struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	}{code, message, w.Header().Get("X-Request-ID")})
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png",
	".jpg": "image/jpeg", ".ico": "image/x-icon", ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
	".txt": "text/plain; charset=utf-8", ".map": "application/json", ".webp": "image/webp", ".geojson": "application/geo+json",
}

// contentType is fixed per extension, so the answer does not depend on the host's mime tables.
func contentType(name string) string {
	if t, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.HasPrefix(ctype, "application/json") ||
		strings.HasPrefix(ctype, "image/svg") || strings.HasPrefix(ctype, "application/geo+json")
}
