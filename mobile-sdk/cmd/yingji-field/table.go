package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
)

// maxCell bounds a cell's display width; longer values are cut with "…".
const maxCell = 40

// cell formats a field value for a table: strings as they are, anything else as JSON.
func cell(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

func fieldsCell(f map[string]json.RawMessage) string {
	names := make([]string, 0, len(f))
	for k := range f {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, k+"="+cell(f[k]))
	}
	return strings.Join(parts, " ")
}

// width is the display width of s: East Asian wide characters take two columns.
func width(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch {
	case r == '\t':
		return 1
	case !unicode.IsPrint(r):
		return 0
	case unicode.Is(unicode.Han, r), unicode.Is(unicode.Hangul, r), unicode.Is(unicode.Hiragana, r),
		unicode.Is(unicode.Katakana, r), r >= 0x3000 && r <= 0x303f, r >= 0xff00 && r <= 0xff60,
		r >= 0xffe0 && r <= 0xffe6, r >= 0x2e80 && r <= 0x2fdf:
		return 2
	}
	return 1
}

// clip cuts s to at most max display columns and keeps it on one line.
func clip(s string, max int) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(s)
	if width(s) <= max {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		w := runeWidth(r)
		if n+w > max-1 {
			break
		}
		b.WriteRune(r)
		n += w
	}
	return b.String() + "…"
}

// table prints an aligned table with a header rule.
func table(w io.Writer, head []string, rows [][]string) {
	widths := make([]int, len(head))
	clipped := make([][]string, len(rows))
	for i, h := range head {
		widths[i] = width(h)
	}
	for r, row := range rows {
		clipped[r] = make([]string, len(head))
		for i := range head {
			if i < len(row) {
				clipped[r][i] = clip(row[i], maxCell)
			}
			widths[i] = max(widths[i], width(clipped[r][i]))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			b.WriteString(c)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-width(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(head)
	rule := make([]string, len(head))
	for i := range head {
		rule[i] = strings.Repeat("-", widths[i])
	}
	line(rule)
	for _, row := range clipped {
		line(row)
	}
}
