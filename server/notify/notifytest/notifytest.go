// Package notifytest holds local stand-ins for the outside services package notify talks to:
// Zhezhengding, FCM, an SMS gateway and DingTalk robots. Each is an httptest.Server that checks
// what the real service checks (signatures, clocks, nonces, tokens, message shape), answers as
// it does, records what it accepted and can be told to fail the next requests. The stand-ins
// recompute signatures from the raw requests with their own code, not package notify's.
package notifytest

import (
	"sync"
)

// Failure is an answer a stand-in gives instead of accepting a request (see each stand-in's
// FailNext for how it is written on the wire). Status is the HTTP status (0 means the
// service's usual status for a refusal); Code and Message are the service's error code and text.
type Failure struct {
	Status  int
	Code    string
	Message string
}

// failures counts down the failures a stand-in was told to give.
type failures struct {
	mu sync.Mutex
	n  int
	f  Failure
}

func (fs *failures) set(n int, f Failure) {
	fs.mu.Lock()
	fs.n, fs.f = n, f
	fs.mu.Unlock()
}

// next reports whether this request is to fail, and how.
func (fs *failures) next() (Failure, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.n <= 0 {
		return Failure{}, false
	}
	fs.n--
	return fs.f, true
}
