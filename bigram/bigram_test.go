package bigram_test

import (
	"reflect"
	"testing"

	"github.com/yingji/yingji/bigram"
)

func TestTerms(t *testing.T) {
	got := bigram.Terms("", "液氯储罐")
	want := map[string]int{"液": 1, "氯": 1, "储": 1, "罐": 1, "液氯": 1, "氯储": 1, "储罐": 1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Terms = %v, want %v", got, want)
	}
	got = bigram.Terms("液氯", "CAS：7782-50-5，ＵＮ1017")
	for term, w := range map[string]int{"液氯": bigram.TitleWeight, "7782": 1, "50": 1, "5": 1, "un": 1, "1017": 1, "un1017": 1} {
		if got[term] != w {
			t.Errorf("Terms[%q] = %d, want %d (all: %v)", term, got[term], w, got)
		}
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		q     string
		words []string
		terms []string
	}{
		{"液氯", []string{"液氯"}, []string{"液氯"}},
		{"氯", []string{"氯"}, []string{"氯"}},
		{"液氯储罐", []string{"液氯储罐"}, []string{"储罐", "氯储", "液氯"}},
		{" 液氯　泄漏 ", []string{"液氯", "泄漏"}, []string{"泄漏", "液氯"}},
		{"7782-50-5", []string{"7782-50-5"}, []string{"5", "50", "7782"}},
		{"ＵＮ1017", []string{"un1017"}, []string{"1017", "un", "un1017"}},
		{"，。 ", nil, nil},
		{"液氯，泄漏。", []string{"液氯", "泄漏"}, []string{"泄漏", "液氯"}},
		{"GB/T 29639-2020", []string{"gb/t", "29639-2020"}, []string{"2020", "29639", "gb", "t"}},
	}
	for _, c := range cases {
		q := bigram.Parse(c.q)
		if !reflect.DeepEqual(q.Words, c.words) || !reflect.DeepEqual(q.Terms, c.terms) {
			t.Errorf("Parse(%q) = %q %q, want %q %q", c.q, q.Words, q.Terms, c.words, c.terms)
		}
	}
	if !bigram.Parse("，").Empty() {
		t.Error("punctuation only should be empty")
	}
}

// Every term a query needs is a term of a text that contains the query: the index never
// misses a true hit.
func TestQueryTermsAreIndexed(t *testing.T) {
	text := "发生液氯储罐泄漏时，立即启动现场处置方案（UN1017，CAS 7782-50-5）。"
	idx := bigram.Terms("", text)
	for _, q := range []string{"液氯", "氯", "液氯储罐泄漏", "现场处置", "un1017", "7782-50-5", "1017", "CAS"} {
		p := bigram.Parse(q)
		for _, term := range p.Terms {
			if idx[term] == 0 {
				t.Errorf("query %q needs %q, which the text's index lacks", q, term)
			}
		}
		if !p.Match(text) {
			t.Errorf("query %q should match", q)
		}
	}
	if bigram.Parse("液氨").Match(text) {
		t.Error("液氨 should not match")
	}
}

func TestSnippet(t *testing.T) {
	q := bigram.Parse("液氯")
	text := "第一章 总则。本预案适用于液氯储罐泄漏处置，液氯泄漏后立即疏散。"
	got := q.Snippet(text, 20, "【", "】", nil)
	want := "…本预案适用于【液氯】储罐泄漏处置，【液氯】泄漏后…"
	if got != want {
		t.Fatalf("Snippet = %q, want %q", got, want)
	}
	if got := q.HTMLSnippet("<b>液氯</b>", 40); got != "&lt;b&gt;<mark>液氯</mark>&lt;/b&gt;" {
		t.Fatalf("HTMLSnippet = %q", got)
	}
	if got := bigram.Parse("ＣＡＳ").Snippet("cas号", 10, "[", "]", nil); got != "[cas]号" {
		t.Fatalf("folded snippet = %q", got)
	}
	if got := q.Count(text); got != 2 {
		t.Fatalf("Count = %d", got)
	}
}

// TestPhraseByPositions: a long CJK word is found through the positions of its bigrams
// exactly when it is a substring of the folded text.
func TestPhraseByPositions(t *testing.T) {
	title, body := "液氯储罐泄漏处置", "佩戴正压式空气呼吸器。正压　空气、呼吸器；储罐泄漏"
	pos := bigram.Positions(title, body)
	if got := pos["液氯"]; !reflect.DeepEqual(got, []int{0}) {
		t.Fatalf("Positions[液氯] = %v", got)
	}
	if got := pos["储罐"]; len(got) != 2 || got[1] != 9+21 {
		t.Fatalf("Positions[储罐] = %v, want [2 30]", got)
	}
	for _, c := range []struct {
		word string
		want bool
	}{
		{"正压式空气呼吸器", true}, {"储罐泄漏", true}, {"液氯储罐泄漏处置", true}, {"氯储罐", true},
		{"正压空气", false}, {"空气呼吸器储", false}, {"泄漏液氯", false}, {"处置佩戴", false},
	} {
		bis := bigram.Phrase(c.word)
		lists := make([][]int, len(bis))
		for i, b := range bis {
			lists[i] = pos[b]
		}
		if got := bigram.Consecutive(lists); got != c.want {
			t.Errorf("Consecutive(%q) = %v, want %v", c.word, got, c.want)
		}
		if got := bigram.Parse(c.word).Match(title + "\n" + body); got != c.want {
			t.Errorf("Match(%q) = %v: the test's expectation is wrong", c.word, got)
		}
	}
	if bigram.Phrase("液氯") != nil || bigram.Phrase("h2s泄漏") != nil {
		t.Error("Phrase of a short or mixed word is not nil")
	}
}

func TestSelfEvident(t *testing.T) {
	for w, want := range map[string]bool{"氯": true, "液氯": true, "1000": true, "un1017": true,
		"液氯储罐": false, "ya-01234": false, "h2s泄漏": false, "1.5": false} {
		if got := bigram.SelfEvident(w); got != want {
			t.Errorf("SelfEvident(%q) = %v, want %v", w, got, want)
		}
	}
}
