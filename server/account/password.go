package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"

	"github.com/yingji/yingji/server/yingji"
)

// argon2id parameters (OWASP's recommendation for argon2id: 19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("account: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches the encoded hash. The comparison is constant-time
// and the parameters come from the hash, so they can be raised later without a migration.
func CheckPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when a username does not exist, so a login takes as long for
// an unknown user as for a wrong password.
var dummyHash, _ = HashPassword("yingji-no-such-user")

// Policy is the password policy.
type Policy struct {
	MinLength int `json:"min_length"`
}

// Describe is the policy in words, for the portal's change-password page.
func (p Policy) Describe() string {
	return fmt.Sprintf("密码长度至少 %d 位，区分大小写，须包含字母和数字，且不能与用户名相同", p.MinLength)
}

// Check returns an EINVALID error explaining what pw lacks.
func (p Policy) Check(username, pw string) error {
	bad := func(format string, args ...any) error {
		return yingji.Invalid("auth.weak_password", "password", format, args...)
	}
	if n := len([]rune(pw)); n < p.MinLength {
		return bad("密码长度至少 %d 位（当前 %d 位）", p.MinLength, n)
	}
	if len(pw) > 128 {
		return bad("密码不能超过 128 个字符")
	}
	var letter, digit bool
	for _, r := range pw {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsControl(r):
			return bad("密码不能包含控制字符")
		}
	}
	if !letter || !digit {
		return bad("密码须同时包含字母和数字")
	}
	if strings.EqualFold(pw, username) {
		return bad("密码不能与用户名相同")
	}
	return nil
}

// RandomPassword returns a password that satisfies any policy up to 16 characters.
func RandomPassword() string {
	const letters = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
	const digits = "23456789"
	b := make([]byte, 16)
	rand.Read(b)
	out := make([]byte, 16)
	for i := range b {
		if i%4 == 3 {
			out[i] = digits[int(b[i])%len(digits)]
		} else {
			out[i] = letters[int(b[i])%len(letters)]
		}
	}
	return string(out)
}
