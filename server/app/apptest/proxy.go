package apptest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// CutProxy stands between a client and a server on loopback and can cut the connection in the
// middle of a response: the request reaches the server and is processed, the client gets the
// status line, the headers and half the body, then the connection drops.
type CutProxy struct {
	URL      string
	upstream string
	cuts     atomic.Int32
	prefix   atomic.Value // string: path prefix of the requests to cut
	Cut      atomic.Int32 // responses cut so far
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

func (p *CutProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
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
