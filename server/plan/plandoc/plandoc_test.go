package plandoc_test

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/plan/plandoc"
)

func samplePlan() plan.Plan {
	at := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	p := plan.Plan{ID: "v", PlanID: "0192b3c4-0000-7000-8000-000000000000", Version: 2, Status: plan.StatusPublished, Code: "LJ-01",
		Title: "临江市危险化学品事故专项应急预案", Kind: plan.KindSpecial, Level: plan.LevelCity, PublishedAt: &at, ReviewerName: "审核人",
		Content: plan.Content{Summary: "适用于液氯、液氨等危险化学品泄漏 & 火灾 <爆炸>",
			Organization: []plan.Role{{Group: plan.GroupHeadquarters, Name: "总指挥", Department: "市政府", People: []plan.Person{{Name: "张市长", Phone: "0571-88000001"}}}},
			Levels: []plan.ResponseLevel{{Level: 1, Match: "any", Conditions: []plan.Condition{{Metric: plan.MetricDeaths, Op: ">=", Value: 30}},
				Measures: []string{"启动市级应急指挥部"}}},
			Contacts: []plan.Contact{{Name: "值班室", Department: "市应急管理局", Phone: "0571-12350"}}}}
	p.Normalize()
	return p
}

func TestDocx(t *testing.T) {
	b, err := plandoc.Docx(samplePlan())
	if err != nil {
		t.Fatal(err)
	}
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	parts := map[string]string{}
	for _, f := range z.File {
		r, _ := f.Open()
		data, _ := io.ReadAll(r)
		r.Close()
		parts[f.Name] = string(data)
	}
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"} {
		if parts[name] == "" {
			t.Fatalf("missing part %s", name)
		}
		// Every part is well-formed XML.
		d := xml.NewDecoder(strings.NewReader(parts[name]))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	// The text a reader sees, in order.
	var text strings.Builder
	d := xml.NewDecoder(strings.NewReader(parts["word/document.xml"]))
	inT := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		switch v := tok.(type) {
		case xml.StartElement:
			inT = v.Name.Local == "t"
		case xml.EndElement:
			inT = false
		case xml.CharData:
			if inT {
				text.Write(v)
			}
		}
	}
	for _, want := range []string{"临江市危险化学品事故专项应急预案", "适用于液氯、液氨等危险化学品泄漏 & 火灾 <爆炸>", "一级响应",
		"死亡（含失踪）人数 ≥ 30人", "启动市级应急指挥部", "张市长 0571-88000001", "市应急管理局"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("document lacks %q", want)
		}
	}
}

func TestPDF(t *testing.T) {
	pr := plandoc.NewPrinter()
	if !pr.CJK() {
		if os.Getenv("CI") == "true" {
			t.Fatal("no CJK TrueType font (install fonts-droid-fallback)")
		}
		t.Skip("no CJK TrueType font (install fonts-droid-fallback)")
	}
	b, err := pr.PDF(samplePlan())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b, []byte("%%EOF")) || len(b) < 2000 {
		t.Fatalf("not a PDF: %d bytes", len(b))
	}
}
