package account_test

import (
	"strings"
	"testing"

	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/yingji"
)

func TestPasswordHash(t *testing.T) {
	h, err := account.HashPassword("Secret-123")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id in PHC format", h)
	}
	h2, _ := account.HashPassword("Secret-123")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !account.CheckPassword(h, "Secret-123") {
		t.Fatal("right password refused")
	}
	for _, bad := range []string{"secret-123", "Secret-1234", "", "Secret-12"} {
		if account.CheckPassword(h, bad) {
			t.Fatalf("%q accepted (passwords are case-sensitive and exact)", bad)
		}
	}
	if account.CheckPassword("$argon2id$garbage", "x") || account.CheckPassword("", "") {
		t.Fatal("malformed hash accepted")
	}
}

func TestPolicy(t *testing.T) {
	p := account.Policy{MinLength: 8}
	for _, c := range []struct {
		pw string
		ok bool
	}{
		{"Abcdefg1", true}, {"abc12345", true}, {"长城长城长城12", true},
		{"Abcdef1", false}, {"abcdefgh", false}, {"12345678", false}, {"zhangsan1", false},
	} {
		err := p.Check("zhangsan1", c.pw)
		if (err == nil) != c.ok {
			t.Errorf("%q: err = %v, want ok=%v", c.pw, err, c.ok)
		}
		if err != nil && yingji.ErrorCode(err) != "auth.weak_password" {
			t.Errorf("%q: code %s", c.pw, yingji.ErrorCode(err))
		}
	}
	if !strings.Contains(p.Describe(), "8") {
		t.Fatal(p.Describe())
	}
	for range 20 {
		if pw := account.RandomPassword(); p.Check("admin", pw) != nil || len(pw) != 16 {
			t.Fatalf("random password %q fails the policy", pw)
		}
	}
}
