package mediasvc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/yingji/yingji/server/yingji"
)

// Variants a signed URL may serve.
const (
	VariantOriginal  = "original"
	VariantThumb320  = "thumb320"
	VariantThumb1280 = "thumb1280"
)

// Variants lists them.
var Variants = []string{VariantOriginal, VariantThumb320, VariantThumb1280}

// VariantWidth is the thumbnail width of a variant, 0 for the original.
func VariantWidth(v string) int {
	switch v {
	case VariantThumb320:
		return 320
	case VariantThumb1280:
		return 1280
	}
	return 0
}

// Lifetimes of signed URLs.
const (
	MaxSignedTTL     = 600 * time.Second
	DefaultSignedTTL = 300 * time.Second
)

// Signature is what a signed URL carries in its query: the user it was made for (downloads
// are audited as his), the expiry and the HMAC of both with the object and variant.
type Signature struct {
	UserID  string
	Expires time.Time
	Sig     string
}

// Query encodes the signature as query parameters u, exp and sig.
func (g Signature) Query() url.Values {
	return url.Values{"u": {g.UserID}, "exp": {strconv.FormatInt(g.Expires.Unix(), 10)}, "sig": {g.Sig}}
}

func (s *Service) mac(sha, variant, userID string, exp int64) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("media-url/v1\n" + sha + "\n" + variant + "\n" + userID + "\n" + strconv.FormatInt(exp, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// Sign makes a short-lived signature for an object the actor may read, so that a browser can
// load it without the bearer token (<img src>). ttl 0 takes the default; at most 10 minutes.
func (s *Service) Sign(ctx context.Context, a *yingji.Actor, sha, variant string, ttl time.Duration) (Signature, error) {
	if !slices.Contains(Variants, variant) {
		return Signature{}, yingji.Invalid("media.bad_variant", "variant", "variant 只能是 original、thumb320 或 thumb1280")
	}
	if ttl == 0 {
		ttl = DefaultSignedTTL
	}
	if ttl < time.Second || ttl > MaxSignedTTL {
		return Signature{}, yingji.Invalid("media.bad_ttl", "ttl_seconds", "有效期应为 1 到 600 秒")
	}
	st, err := s.authorize(ctx, a, sha, "media.sign")
	if err != nil {
		return Signature{}, err
	}
	if st.obj == nil {
		return Signature{}, yingji.Errorf(yingji.ENOTFOUND, "media.not_ready", "文件尚未上传完成（上传中）")
	}
	if variant != VariantOriginal && st.obj.Kind != KindPhoto {
		return Signature{}, noThumb("该文件是%s，没有缩略图", kindNames[st.obj.Kind])
	}
	exp := s.Now().Add(ttl).Truncate(time.Second)
	return Signature{UserID: a.UserID, Expires: exp, Sig: s.mac(sha, variant, a.UserID, exp.Unix())}, nil
}

// Verify checks a signed URL's query for the object and variant and returns the user it was
// made for. A tampered URL and an expired one are refused (403) with the reason.
func (s *Service) Verify(sha, variant string, q url.Values) (string, error) {
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	user, sig := q.Get("u"), q.Get("sig")
	if err != nil || user == "" || !hmac.Equal([]byte(sig), []byte(s.mac(sha, variant, user, exp))) {
		return "", yingji.Errorf(yingji.EFORBIDDEN, "media.url_invalid", "链接无效或已被篡改，请刷新页面后重试")
	}
	if !s.Now().Before(time.Unix(exp, 0)) {
		return "", yingji.Errorf(yingji.EFORBIDDEN, "media.url_expired", "链接已过期，请刷新页面后重试")
	}
	return user, nil
}
