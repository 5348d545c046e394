package qrtoken_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/yingji/yingji/server/risk/qrtoken"
)

func key(t *testing.T, b byte) ed25519.PrivateKey {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = b
	return ed25519.NewKeyFromSeed(seed)
}

func TestVerify(t *testing.T) {
	priv := key(t, 1)
	pub := priv.Public().(ed25519.PublicKey)
	c := qrtoken.Claims{RiskPointID: "rp-1", EnterpriseID: "e-1", Version: 2, IssuedAt: 1700000000}
	tok := qrtoken.Sign(priv, c)

	t.Run("OK", func(t *testing.T) {
		if !strings.HasPrefix(tok, "YJRP1.") {
			t.Fatalf("token %q", tok)
		}
		got, err := qrtoken.Verify(pub, tok, "rp-1", 2)
		if err != nil || got.RiskPointID != "rp-1" || got.EnterpriseID != "e-1" || got.Version != 2 || got.KeyID != qrtoken.KeyID(pub) {
			t.Fatalf("got %+v, %v", got, err)
		}
		// A replica that has not synced the re-issue yet still accepts the newer code.
		if _, err := qrtoken.Verify(pub, tok, "rp-1", 1); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrForged", func(t *testing.T) {
		parts := strings.Split(tok, ".")
		other := qrtoken.Sign(key(t, 9), c) // same claims, other key, key id patched in
		op := strings.Split(other, ".")
		forged := parts[0] + "." + parts[1] + "." + op[2]
		if _, err := qrtoken.VerifyToken(pub, forged); !errors.Is(err, qrtoken.ErrForged) {
			t.Fatalf("forged signature: %v", err)
		}
	})
	t.Run("ErrTampered", func(t *testing.T) {
		parts := strings.Split(tok, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		tampered := strings.Replace(string(payload), `"v":2`, `"v":3`, 1)
		bad := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tampered)) + "." + parts[2]
		if _, err := qrtoken.VerifyToken(pub, bad); !errors.Is(err, qrtoken.ErrForged) {
			t.Fatalf("tampered payload: %v", err)
		}
	})
	t.Run("ErrWrongKey", func(t *testing.T) {
		other := key(t, 2)
		if _, err := qrtoken.VerifyToken(other.Public().(ed25519.PublicKey), tok); !errors.Is(err, qrtoken.ErrWrongKey) {
			t.Fatalf("wrong key: %v", err)
		}
	})
	t.Run("ErrStale", func(t *testing.T) {
		if _, err := qrtoken.Verify(pub, tok, "rp-1", 3); !errors.Is(err, qrtoken.ErrStale) {
			t.Fatalf("stale: %v", err)
		}
	})
	t.Run("ErrOtherPoint", func(t *testing.T) {
		if _, err := qrtoken.Verify(pub, tok, "rp-2", 2); !errors.Is(err, qrtoken.ErrOtherPoint) {
			t.Fatalf("other point: %v", err)
		}
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		for _, s := range []string{"", "hello", "YJRP1.x", "YJRP2." + strings.SplitN(tok, ".", 2)[1], "YJRP1.!!.!!",
			"YJRP1." + base64.RawURLEncoding.EncodeToString([]byte("{}")) + "." + strings.Split(tok, ".")[2]} {
			if _, err := qrtoken.VerifyToken(pub, s); !errors.Is(err, qrtoken.ErrMalformed) {
				t.Errorf("%q: %v", s, err)
			}
		}
	})
}
