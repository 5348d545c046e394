package apptest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// CutProxy stands between a client and a server on loopback and can cut the connection in the
// middle of a response: the request reaches the server and is processed, the client gets the
// status line, the headers and half the body, then the connection drops.
//
// It can also cut a request body on its way to the server (CutBodyAt), play a network that is
// down (SetDown), and it logs every request it passed on (Requests). It tells the server the
// address the client used (X-Forwarded-Host), as reverse proxies do, so that the URLs the
// server makes (tus upload Locations) lead through the proxy.
type CutProxy struct {
	URL      string
	upstream string
	cuts     atomic.Int32
	prefix   atomic.Value // string: path prefix of the requests to cut
	Cut      atomic.Int32 // responses cut so far
	down     atomic.Bool

	mu      sync.Mutex
	bodyCut *bodyCut
	log     []Forwarded
}

// Forwarded is a request the proxy passed on, with the server's answer.
type Forwarded struct {
	Method    string
	Path      string
	Header    http.Header // the request's
	BodyBytes int64       // request body bytes passed on to the server
	BodyCut   bool        // the body was cut (CutBodyAt)
	Status    int         // the server's answer; 0 when there was none
	ResHeader http.Header
}

type bodyCut struct {
	method, prefix string
	left           int64 // body bytes still let through
}

// NewCutProxy starts a proxy to upstream (a base URL) until the test ends.
func NewCutProxy(tb testing.TB, upstream string) *CutProxy {
	p := &CutProxy{upstream: strings.TrimRight(upstream, "/")}
	p.prefix.Store("")
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	tb.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// CutNext makes the next n responses to requests whose path starts with prefix drop halfway.
func (p *CutProxy) CutNext(prefix string, n int) {
	p.prefix.Store(prefix)
	p.cuts.Store(int32(n))
}

// CutBodyAt cuts the request body that takes the body bytes of requests with this method and
// path prefix, counted from now, past total: the server gets the bytes up to total and then a
// broken connection, the client a connection dropped without an answer. From then on the
// network is down (SetDown) until SetDown(false).
func (p *CutProxy) CutBodyAt(method, prefix string, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bodyCut = &bodyCut{method: method, prefix: prefix, left: total}
}

// SetDown plays a network that is down (every connection dropped without an answer) or up.
func (p *CutProxy) SetDown(down bool) { p.down.Store(down) }

// Requests returns the requests passed on so far, in order.
func (p *CutProxy) Requests() []Forwarded {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Forwarded(nil), p.log...)
}

// drop closes the client's connection without an answer.
func drop(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}

// errCut breaks a request body on its way to the server.
var errCut = errors.New("apptest: request body cut")

// cutReader yields the first n bytes of b, then errCut.
type cutReader struct {
	b []byte
	n int
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errCut
	}
	k := copy(p, c.b[:c.n])
	c.b, c.n = c.b[k:], c.n-k
	return k, nil
}

func (p *CutProxy) serve(w http.ResponseWriter, r *http.Request) {
	if p.down.Load() {
		drop(w)
		return
	}
	body, _ := io.ReadAll(r.Body)
	fw := Forwarded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), BodyBytes: int64(len(body))}
	var rd io.Reader = bytes.NewReader(body)
	p.mu.Lock()
	if bc := p.bodyCut; bc != nil && r.Method == bc.method && strings.HasPrefix(r.URL.Path, bc.prefix) {
		if int64(len(body)) > bc.left {
			fw.BodyBytes, fw.BodyCut = bc.left, true
			rd = &cutReader{b: body, n: int(bc.left)}
			p.bodyCut = nil
			p.down.Store(true)
		} else {
			bc.left -= int64(len(body))
		}
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.log = append(p.log, fw)
		p.mu.Unlock()
	}()
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), rd)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set("X-Forwarded-Host", r.Host)
	req.Header.Set("X-Forwarded-Proto", "http")
	res, err := http.DefaultTransport.RoundTrip(req)
	if fw.BodyCut {
		if err == nil {
			res.Body.Close()
		}
		drop(w)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	fw.Status, fw.ResHeader = res.StatusCode, res.Header.Clone()
	resBody, _ := io.ReadAll(res.Body)
	prefix, _ := p.prefix.Load().(string)
	if prefix != "" && strings.HasPrefix(r.URL.Path, prefix) && p.cuts.Add(-1) >= 0 {
		p.Cut.Add(1)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		bw := bufio.NewWriter(buf)
		fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", res.StatusCode, http.StatusText(res.StatusCode))
		res.Header.Del("Content-Length")
		res.Header.Write(bw)
		fmt.Fprintf(bw, "Content-Length: %d\r\n\r\n", len(resBody))
		bw.Write(resBody[:len(resBody)/2])
		bw.Flush()
		buf.Flush()
		return
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	w.Write(resBody)
}
