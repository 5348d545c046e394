package mqtt

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// authCache remembers positive Auth answers for ttl, keyed by a hash of code and secret so
// secrets are not kept as map keys. Negative answers are never cached: a device that was just
// enabled can connect at once.
type authCache struct {
	auth    Auth
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time

	mu        sync.Mutex
	ok        map[[sha256.Size]byte]time.Time // key → expiry
	lastSweep time.Time
}

// sweepAbove is the cache size from which expired entries are swept on insert.
const sweepAbove = 1024

func newAuthCache(auth Auth, ttl, timeout time.Duration, now func() time.Time) *authCache {
	return &authCache{auth: auth, ttl: ttl, timeout: timeout, now: now, ok: map[[sha256.Size]byte]time.Time{}}
}

func cacheKey(code, secret string) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(code))
	h.Write([]byte{0})
	h.Write([]byte(secret))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// check reports whether code and secret are valid, asking Auth when no fresh positive answer
// is cached. The Auth call is bounded by the cache's timeout.
func (c *authCache) check(ctx context.Context, code, secret string) bool {
	var key [sha256.Size]byte
	if c.ttl > 0 {
		key = cacheKey(code, secret)
		c.mu.Lock()
		exp, hit := c.ok[key]
		c.mu.Unlock()
		if hit && c.now().Before(exp) {
			return true
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ok := c.auth.AuthDevice(ctx, code, secret)
	if c.ttl <= 0 {
		return ok
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if ok {
		c.ok[key] = now.Add(c.ttl)
	} else {
		delete(c.ok, key)
	}
	if len(c.ok) > sweepAbove && now.Sub(c.lastSweep) > c.ttl {
		c.lastSweep = now
		for k, exp := range c.ok {
			if !now.Before(exp) {
				delete(c.ok, k)
			}
		}
	}
	return ok
}
