// Package qrtoken signs and verifies the tokens that risk-point QR codes carry, so a phone can
// tell offline that a scanned code is genuine, names this risk point and is the latest issue it
// knows of. It imports only the standard library: the SDK and the field client use it as is.
//
// A token is "YJRP1.<payload>.<signature>", both parts base64url without padding. The payload
// is JSON {"rp": risk point id, "e": enterprise id, "v": qr_version, "k": key id, "iat": unix
// seconds}; the signature is Ed25519 over the payload's base64url text (the bytes between the
// dots). The key id is the first 8 bytes of SHA-256 of the public key, base64url.
//
// A phone verifies with the public key from GET /api/v1/risk-points/qr-key:
//
//	c, err := qrtoken.VerifyToken(pub, scanned)          // genuine, this server's key
//	err = c.Check(point.ID, point.QRVersion)             // this point, not re-issued since
package qrtoken

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Prefix starts every token; the digit is the format version.
const Prefix = "YJRP1"

// Errors of verification. Callers test them with errors.Is.
var (
	ErrMalformed  = errors.New("qrtoken: malformed token")                    // not a risk-point code
	ErrWrongKey   = errors.New("qrtoken: signed with another key")            // another server, or a rotated key
	ErrForged     = errors.New("qrtoken: bad signature")                      // forged or tampered
	ErrOtherPoint = errors.New("qrtoken: code belongs to another risk point") // stuck on the wrong point
	ErrStale      = errors.New("qrtoken: code was re-issued")                 // an older issue, revoked
)

// Claims are what a token says.
type Claims struct {
	RiskPointID  string `json:"rp"`
	EnterpriseID string `json:"e"`
	Version      int    `json:"v"`
	KeyID        string `json:"k"`
	IssuedAt     int64  `json:"iat"`
}

var b64 = base64.RawURLEncoding

// KeyID names a public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return b64.EncodeToString(sum[:8])
}

// Sign returns the token of c signed by priv; c.KeyID is set from the key.
func Sign(priv ed25519.PrivateKey, c Claims) string {
	c.KeyID = KeyID(priv.Public().(ed25519.PublicKey))
	payload, _ := json.Marshal(c)
	p := b64.EncodeToString(payload)
	sig := ed25519.Sign(priv, []byte(p))
	return Prefix + "." + p + "." + b64.EncodeToString(sig)
}

// Parse splits a token and decodes its claims without checking the signature.
func Parse(token string) (Claims, error) {
	c, _, _, err := parse(token)
	return c, err
}

func parse(token string) (Claims, string, []byte, error) {
	var c Claims
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 || parts[0] != Prefix {
		return c, "", nil, ErrMalformed
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return c, "", nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return c, "", nil, fmt.Errorf("%w: signature", ErrMalformed)
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.RiskPointID == "" || c.Version < 1 || c.KeyID == "" {
		return c, "", nil, fmt.Errorf("%w: claims", ErrMalformed)
	}
	return c, parts[1], sig, nil
}

// VerifyToken checks that token is well formed and signed by the key pub, and returns its
// claims. It does not know the replica's state: call Claims.Check next.
func VerifyToken(pub ed25519.PublicKey, token string) (Claims, error) {
	c, payload, sig, err := parse(token)
	if err != nil {
		return Claims{}, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return Claims{}, errors.New("qrtoken: bad public key")
	}
	if c.KeyID != KeyID(pub) {
		return Claims{}, ErrWrongKey
	}
	if !ed25519.Verify(pub, []byte(payload), sig) {
		return Claims{}, ErrForged
	}
	return c, nil
}

// Check compares verified claims with the risk point the replica holds: the code must name it
// (pass "" to skip, when the point is looked up by c.RiskPointID) and must not be older than
// the replica's qr_version. A newer version than the replica knows is accepted: the phone has
// not synced the re-issue yet, and the signature proves the server issued it.
func (c Claims) Check(riskPointID string, replicaVersion int) error {
	if riskPointID != "" && c.RiskPointID != riskPointID {
		return ErrOtherPoint
	}
	if c.Version < replicaVersion {
		return ErrStale
	}
	return nil
}

// Verify is VerifyToken followed by Check.
func Verify(pub ed25519.PublicKey, token, riskPointID string, replicaVersion int) (Claims, error) {
	c, err := VerifyToken(pub, token)
	if err != nil {
		return c, err
	}
	return c, c.Check(riskPointID, replicaVersion)
}
