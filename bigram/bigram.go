// Package bigram is the Chinese full-text index shared by the server and the phone SDK: text
// is cut into overlapping character bigrams (and single characters, for one-character queries)
// plus ASCII letter and digit tokens, with no dictionary and no word segmentation, so "液氯"
// finds "液氯储罐泄漏处置" and "7782-50-5" finds the MSDS sheet of chlorine. Both engines keep
// the terms in an ordinary table (term, document, weight); a query needs every term of every
// word and the caller then checks the words as substrings, so a hit is exact.
//
// It imports only the standard library.
package bigram

import (
	"html"
	"sort"
	"strings"
	"unicode"
)

// TitleWeight is how much more a term in a title counts than one in the body.
const TitleWeight = 10

// MaxTermCount caps a term's count in one document, so a long text cannot drown the rest.
const MaxTermCount = 50

// fold maps one rune to its searchable form: full-width ASCII to half-width, the ideographic
// space to a space, letters to lower case. It maps one rune to one rune, so offsets in the
// folded text are offsets in the original.
func fold(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		r -= 0xFEE0
	case r == 0x3000:
		r = ' '
	}
	return unicode.ToLower(r)
}

// Normalize returns s folded rune by rune (see fold): what the index and LIKE checks compare.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(fold(r))
	}
	return b.String()
}

// kind of a rune for tokenizing.
const (
	sep = iota
	cjk
	letter
	digit
)

func kindOf(r rune) int {
	switch {
	case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
		return cjk
	case r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
		return letter
	case r < 0x80 && r >= '0' && r <= '9':
		return digit
	case unicode.IsLetter(r):
		return letter
	case unicode.IsDigit(r):
		return digit
	}
	return sep
}

// emit calls fn with every term of the folded text s. query drops the single characters of
// CJK runs longer than one character (their bigrams say more and cost less).
func emit(s string, query bool, fn func(term string)) {
	emitAt(s, query, func(t string, _ int) { fn(t) })
}

// emitAt is emit with each term's rune offset in the folded text.
func emitAt(s string, query bool, fn func(term string, at int)) {
	rs := []rune(Normalize(s))
	for i := 0; i < len(rs); {
		k := kindOf(rs[i])
		switch k {
		case sep:
			i++
		case cjk:
			j := i
			for j < len(rs) && kindOf(rs[j]) == cjk {
				j++
			}
			if !query || j-i == 1 {
				for p := i; p < j; p++ {
					fn(string(rs[p]), p)
				}
			}
			for p := i; p+1 < j; p++ {
				fn(string(rs[p:p+2]), p)
			}
			i = j
		default: // a run of letters and digits: each letter or digit segment, and the whole run
			j := i
			segs := 0
			for j < len(rs) {
				kj := kindOf(rs[j])
				if kj != letter && kj != digit {
					break
				}
				s := j
				for j < len(rs) && kindOf(rs[j]) == kj {
					j++
				}
				fn(string(rs[s:j]), s)
				segs++
			}
			if segs > 1 {
				fn(string(rs[i:j]), i)
			}
			i = j
		}
	}
}

// Terms returns the index terms of a document and their weights: each term's count in the
// body plus TitleWeight times its count in the title, each count capped at MaxTermCount.
func Terms(title, body string) map[string]int {
	out := map[string]int{}
	count := func(s string, w int) {
		n := map[string]int{}
		emit(s, false, func(t string) { n[t]++ })
		for t, c := range n {
			out[t] += min(c, MaxTermCount) * w
		}
	}
	count(title, TitleWeight)
	count(body, 1)
	return out
}

// Positions returns the rune offsets of every occurrence of every term of a document (no cap)
// in Normalize(title + "\n" + body), ascending: what Phrase checks a long word against, so a
// phrase is verified in the index instead of in the text.
func Positions(title, body string) map[string][]int {
	out := map[string][]int{}
	emitAt(title, false, func(t string, at int) { out[t] = append(out[t], at) })
	base := len([]rune(title)) + 1 // the "\n" between them
	emitAt(body, false, func(t string, at int) { out[t] = append(out[t], base+at) })
	for _, ps := range out {
		sort.Ints(ps)
	}
	return out
}

// Phrase returns the bigrams a CJK word of more than two characters is made of, in order, or
// nil for any other word. The word occurs in a text exactly when its bigrams occur at
// consecutive offsets (see Consecutive).
func Phrase(word string) []string {
	rs := []rune(word)
	if len(rs) <= 2 {
		return nil
	}
	for _, r := range rs {
		if kindOf(r) != cjk {
			return nil
		}
	}
	out := make([]string, 0, len(rs)-1)
	for p := 0; p+1 < len(rs); p++ {
		out = append(out, string(rs[p:p+2]))
	}
	return out
}

// Consecutive reports whether there is an offset p with p+i in pos[i] for every i: the
// positions (each ascending) of a phrase's bigrams in order.
func Consecutive(pos [][]int) bool {
	if len(pos) == 0 {
		return false
	}
	idx := make([]int, len(pos))
next:
	for _, p := range pos[0] {
		for i := 1; i < len(pos); i++ {
			l := pos[i]
			for idx[i] < len(l) && l[idx[i]] < p+i {
				idx[i]++
			}
			if idx[i] == len(l) {
				return false
			}
			if l[idx[i]] != p+i {
				continue next
			}
		}
		return true
	}
	return false
}

// SelfEvident reports whether the index alone proves that a text with every term of the word
// contains the word: the word is itself one of its terms (every term is a substring of the
// folded text it comes from), as a CJK word of one or two characters or a single run of
// letters and digits is.
func SelfEvident(word string) bool {
	found := false
	emit(word, true, func(t string) { found = found || t == word })
	return found
}

// Query is a parsed search query.
type Query struct {
	// Words are the query's whitespace-separated words, folded; a hit contains each one.
	Words []string
	// Terms are the distinct index terms every hit must have, sorted.
	Terms []string
}

// Empty reports whether the query has nothing to search for.
func (q Query) Empty() bool { return len(q.Terms) == 0 }

// joiners are the punctuation kept inside a query word.
const joiners = "-./_:"

// Parse splits a query into words and the index terms they need. Words without any letter,
// digit or CJK character are dropped.
func Parse(q string) Query {
	var out Query
	seen := map[string]bool{}
	// Words split at spaces and punctuation, except the joiners of codes and numbers
	// (7782-50-5, GB/T 29639, 1.5).
	split := strings.Map(func(r rune) rune {
		if kindOf(r) == sep && !strings.ContainsRune(joiners, r) {
			return ' '
		}
		return r
	}, Normalize(q))
	for _, w := range strings.Fields(split) {
		w = strings.Trim(w, joiners)
		n := 0
		emit(w, true, func(t string) {
			n++
			if !seen[t] {
				seen[t] = true
				out.Terms = append(out.Terms, t)
			}
		})
		if n > 0 {
			out.Words = append(out.Words, w)
		}
	}
	sort.Strings(out.Terms)
	return out
}

// Match reports whether text contains every word of q (after folding).
func (q Query) Match(text string) bool {
	n := Normalize(text)
	for _, w := range q.Words {
		if !strings.Contains(n, w) {
			return false
		}
	}
	return len(q.Words) > 0
}

// Count is how many times the words of q occur in text, all together.
func (q Query) Count(text string) int {
	n, c := Normalize(text), 0
	for _, w := range q.Words {
		c += strings.Count(n, w)
	}
	return c
}

// Marks returns the rune ranges [start, end) of every occurrence of a word of q in text,
// sorted and merged where they overlap.
func (q Query) Marks(text string) [][2]int {
	rs := []rune(Normalize(text))
	var out [][2]int
	for _, w := range q.Words {
		wr := []rune(w)
		if len(wr) == 0 {
			continue
		}
		for i := 0; i+len(wr) <= len(rs); i++ {
			if rs[i] == wr[0] && string(rs[i:i+len(wr)]) == w {
				out = append(out, [2]int{i, i + len(wr)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	merged := out[:0]
	for _, m := range out {
		if n := len(merged); n > 0 && m[0] <= merged[n-1][1] {
			merged[n-1][1] = max(merged[n-1][1], m[1])
			continue
		}
		merged = append(merged, m)
	}
	return merged
}

// Snippet cuts about width runes of text around the first match of q and wraps every match
// in open and close; "…" marks a cut. Without a match it is the start of text. escape, when
// not nil, escapes the text between the marks (html.EscapeString for HTML).
func (q Query) Snippet(text string, width int, open, close string, escape func(string) string) string {
	if escape == nil {
		escape = func(s string) string { return s }
	}
	text = strings.Join(strings.Fields(text), " ") // one line
	rs := []rune(text)
	marks := q.Marks(text)
	start := 0
	if len(marks) > 0 {
		start = max(0, marks[0][0]-width/3)
	}
	end := min(len(rs), start+width)
	if end-start < width {
		start = max(0, end-width)
	}
	var b strings.Builder
	if start > 0 {
		b.WriteString("…")
	}
	pos := start
	for _, m := range marks {
		if m[1] <= start || m[0] >= end {
			continue
		}
		s, e := max(m[0], start), min(m[1], end)
		b.WriteString(escape(string(rs[pos:s])))
		b.WriteString(open)
		b.WriteString(escape(string(rs[s:e])))
		b.WriteString(close)
		pos = e
	}
	b.WriteString(escape(string(rs[pos:end])))
	if end < len(rs) {
		b.WriteString("…")
	}
	return b.String()
}

// HTMLSnippet is Snippet for HTML: the text escaped, matches in <mark>.
func (q Query) HTMLSnippet(text string, width int) string {
	return q.Snippet(text, width, "<mark>", "</mark>", html.EscapeString)
}

// EscapeLike escapes a word for a LIKE pattern with ESCAPE '\'.
func EscapeLike(w string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(w)
}
