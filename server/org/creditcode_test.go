package org_test

import (
	"strings"
	"testing"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/yingji"
)

// Valid codes: the first is GB 32100's own example; the others were computed by hand with
// the standard's weights and checked by a separate implementation.
var validCreditCodes = []string{
	"91350100M000100Y43",
	"91110000802100433B",
	"91330106MA27XL0E27",
	"91330100143166498L",
	"914403001922038216",
	"12330100470110838X",
	"52330108MJ9A1B2C3B",
	"91330110MA2CFXHW83",
	"91330102MA2B000002",
}

func TestCreditCode(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, c := range validCreditCodes {
			if err := org.ValidateCreditCode(c); err != nil {
				t.Errorf("%s: %v", c, err)
			}
			if got, ok := org.CreditCodeCheck(c[:17]); !ok || got != c[17] {
				t.Errorf("%s: check = %c, %v", c, got, ok)
			}
		}
	})
	t.Run("OKLowerCase", func(t *testing.T) {
		c := org.NormalizeCreditCode("  91330106ma27xl0e27 ")
		if c != "91330106MA27XL0E27" {
			t.Fatalf("normalised to %q", c)
		}
		if err := org.ValidateCreditCode(c); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("OKCheckValueZero", func(t *testing.T) {
		// Find a 17-character body whose check value is 31, which the standard writes as "0".
		for i := 0; i < 31; i++ {
			body := "91330106MA27XL0E" + string("0123456789ABCDEFGHJKLMNPQRTUWXY"[i])
			if c, _ := org.CreditCodeCheck(body); c == '0' {
				if err := org.ValidateCreditCode(body + "0"); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
		t.Fatal("no body with check character 0 found")
	})

	for _, tc := range []struct {
		name, code, want string
	}{
		{"ErrCheck", "91330106MA27XL0E2N", "第 18 位应为“7”，实际为“N”"},
		{"ErrCheckDigit", "91350100M000100Y44", "第 18 位应为“3”"},
		{"ErrShort", "91330106MA27XL0E2", "应为 18 位，实际为 17 位"},
		{"ErrLong", "91330106MA27XL0E277", "实际为 19 位"},
		{"ErrLetterI", "91330106MA27XI0E27", "第 14 位“I”不是允许的字符"},
		{"ErrLetterO", "9133010OMA27XL0E27", "第 8 位“O”不是允许的字符"},
		{"ErrLetterZSV", "91330106MA27XL0EZ7", "第 17 位“Z”"},
		{"ErrDivision", "913301A6MA27XL0E27", "第 3–8 位"},
		{"ErrLowerNotNormalised", "91330106ma27xl0e27", "第 9 位“m”"},
		{"ErrFullWidthShort", "９１３３０１０６MA27XL0E2", "实际为 17 位"},
		{"ErrFullWidth", "９１３３０１０６MA27XL0E27", "第 1 位“９”不是允许的字符"},
		{"ErrEmpty", "", "实际为 0 位"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := org.ValidateCreditCode(tc.code)
			if yingji.ErrorKind(err) != yingji.EINVALID || yingji.ErrorCode(err) != "enterprise.bad_credit_code" {
				t.Fatalf("err = %v", err)
			}
			if msg := err.(*yingji.Error).Message; !strings.Contains(msg, tc.want) {
				t.Fatalf("message %q lacks %q", msg, tc.want)
			}
		})
	}
}
