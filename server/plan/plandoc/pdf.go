package plandoc

import (
	"bytes"
	"os"
	"strconv"
	"strings"

	"codeberg.org/go-pdf/fpdf"

	"github.com/yingji/yingji/server/plan"
)

// fontPaths are TrueType fonts with Chinese glyphs that fpdf can embed (glyf outlines: the
// OpenType/CFF collections of fonts-noto-cjk cannot be), in order of preference.
var fontPaths = []string{
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
	"/usr/share/fonts/truetype/arphic/uming.ttc",
}

// Printer renders PDFs with the CJK font it found.
type Printer struct {
	font []byte
}

// NewPrinter loads the first CJK font found; without one CJK reports false.
func NewPrinter() *Printer {
	for _, p := range fontPaths {
		if b, err := os.ReadFile(p); err == nil && strings.HasSuffix(p, ".ttf") {
			return &Printer{font: b}
		}
	}
	return &Printer{}
}

// CJK reports whether a Chinese font is available.
func (pr *Printer) CJK() bool { return len(pr.font) > 0 }

// PDF renders the version on A4 pages.
func (pr *Printer) PDF(p plan.Plan) ([]byte, error) { return pr.PDFBlocks(p.Title, Blocks(p)) }

// PDFBlocks renders blocks on A4 pages under a title (other reports print through it too).
func (pr *Printer) PDFBlocks(title string, blocks []Block) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("cjk", "", pr.font)
	pdf.SetMargins(20, 20, 20)
	pdf.SetAutoPageBreak(true, 20)
	pdf.SetTitle(title, true)
	pdf.SetFooterFunc(func() {
		pdf.SetY(-15)
		pdf.SetFont("cjk", "", 9)
		pdf.CellFormat(0, 10, title+"  第 "+strconv.Itoa(pdf.PageNo())+" 页", "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	for i, b := range blocks {
		switch {
		case b.Heading == 1:
			pdf.SetFont("cjk", "", 18)
			align := "L"
			if i == 0 {
				align = "C"
			}
			pdf.MultiCell(0, 10, b.Text, "", align, false)
			pdf.Ln(2)
		case b.Heading == 2:
			pdf.Ln(2)
			pdf.SetFont("cjk", "", 14)
			pdf.MultiCell(0, 8, b.Text, "", "L", false)
		case b.Header != nil:
			pdf.SetFont("cjk", "", 10)
			for _, r := range b.Rows {
				var parts []string
				for j, v := range r {
					if v != "" && j < len(b.Header) {
						parts = append(parts, b.Header[j]+"："+v)
					}
				}
				pdf.MultiCell(0, 6, "· "+strings.Join(parts, "；"), "", "L", false)
			}
			pdf.Ln(1)
		default:
			pdf.SetFont("cjk", "", 11)
			pdf.MultiCell(0, 6.5, b.Text, "", "L", false)
		}
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
