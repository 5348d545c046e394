package org

import (
	"strings"
	"unicode/utf8"

	"github.com/yingji/yingji/server/yingji"
)

// creditAlphabet holds the characters of a unified social credit code in value order
// (GB 32100-2015): digits and upper-case letters without I, O, Z, S, V.
const creditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var creditWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// CreditCodeCheck returns the check character for the first 17 characters of a unified social
// credit code, or false when one of them is outside the alphabet.
func CreditCodeCheck(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(creditAlphabet, first17[i])
		if v < 0 {
			return 0, false
		}
		sum += v * creditWeights[i]
	}
	c := 31 - sum%31
	if c == 31 {
		c = 0
	}
	return creditAlphabet[c], true
}

// NormalizeCreditCode trims spaces and upper-cases a credit code.
func NormalizeCreditCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// ValidateCreditCode checks a normalised unified social credit code and says what is wrong:
// the length, a character outside the alphabet, a non-digit in the division code, or the
// check character that was expected.
func ValidateCreditCode(s string) error {
	const field = "credit_code"
	runes := []rune(s)
	if len(runes) != 18 {
		return yingji.Invalid("enterprise.bad_credit_code", field, "统一社会信用代码应为 18 位，实际为 %d 位", len(runes))
	}
	for i, r := range runes {
		if r >= utf8.RuneSelf || strings.IndexByte(creditAlphabet, byte(r)) < 0 {
			return yingji.Invalid("enterprise.bad_credit_code", field,
				"统一社会信用代码第 %d 位“%c”不是允许的字符（只能是半角数字和除 I、O、Z、S、V 以外的大写字母）", i+1, r)
		}
	}
	for i := 2; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return yingji.Invalid("enterprise.bad_credit_code", field,
				"统一社会信用代码第 3–8 位为登记管理机关行政区划代码，应为数字，第 %d 位却是“%c”", i+1, s[i])
		}
	}
	want, _ := CreditCodeCheck(s[:17])
	if s[17] != want {
		return yingji.Invalid("enterprise.bad_credit_code", field,
			"统一社会信用代码校验位错误：第 18 位应为“%c”，实际为“%c”，请核对", want, s[17])
	}
	return nil
}
