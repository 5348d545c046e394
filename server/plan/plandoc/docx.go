package plandoc

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"

	"github.com/yingji/yingji/server/plan"
)

// DocxContentType is the media type of a .docx file.
const DocxContentType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

const contentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>`

const rootRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
</Relationships>`

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// run is one text run in a CJK font; size in half-points.
func run(text string, size int, bold bool) string {
	var b strings.Builder
	b.WriteString(`<w:r><w:rPr><w:rFonts w:ascii="SimSun" w:hAnsi="SimSun" w:eastAsia="宋体"/>`)
	if bold {
		b.WriteString(`<w:b/>`)
	}
	b.WriteString(`<w:sz w:val="` + strconv.Itoa(size) + `"/><w:szCs w:val="` + strconv.Itoa(size) + `"/></w:rPr>`)
	b.WriteString(`<w:t xml:space="preserve">` + esc(text) + `</w:t></w:r>`)
	return b.String()
}

func paragraph(text string, size int, bold, center bool) string {
	ppr := `<w:pPr><w:spacing w:after="120"/>`
	if center {
		ppr += `<w:jc w:val="center"/>`
	}
	ppr += `</w:pPr>`
	return `<w:p>` + ppr + run(text, size, bold) + `</w:p>`
}

func cell(text string, bold bool) string {
	return `<w:tc><w:tcPr><w:tcW w:w="0" w:type="auto"/></w:tcPr>` + paragraph(text, 21, bold, false) + `</w:tc>`
}

// Docx renders the version as a Word document.
func Docx(p plan.Plan) ([]byte, error) { return DocxBlocks(Blocks(p)) }

// DocxBlocks renders blocks as a Word document (other reports print through it too).
func DocxBlocks(blocks []Block) ([]byte, error) {
	var body strings.Builder
	for i, bl := range blocks {
		switch {
		case bl.Heading == 1:
			body.WriteString(paragraph(bl.Text, 36, true, i == 0))
		case bl.Heading == 2:
			body.WriteString(paragraph(bl.Text, 28, true, false))
		case bl.Header != nil:
			body.WriteString(`<w:tbl><w:tblPr><w:tblW w:w="5000" w:type="pct"/><w:tblBorders>`)
			for _, side := range []string{"top", "left", "bottom", "right", "insideH", "insideV"} {
				body.WriteString(`<w:` + side + ` w:val="single" w:sz="4" w:space="0" w:color="000000"/>`)
			}
			body.WriteString(`</w:tblBorders></w:tblPr><w:tblGrid>`)
			for range bl.Header {
				body.WriteString(`<w:gridCol/>`)
			}
			body.WriteString(`</w:tblGrid><w:tr>`)
			for _, h := range bl.Header {
				body.WriteString(cell(h, true))
			}
			body.WriteString(`</w:tr>`)
			for _, r := range bl.Rows {
				body.WriteString(`<w:tr>`)
				for _, v := range r {
					body.WriteString(cell(v, false))
				}
				body.WriteString(`</w:tr>`)
			}
			body.WriteString(`</w:tbl>`)
			body.WriteString(paragraph("", 21, false, false))
		default:
			body.WriteString(paragraph(bl.Text, 24, false, false))
		}
	}
	doc := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` + body.String() +
		`<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="851" w:footer="992" w:gutter="0"/></w:sectPr></w:body></w:document>`
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, f := range []struct{ name, data string }{{"[Content_Types].xml", contentTypes}, {"_rels/.rels", rootRels}, {"word/document.xml", doc}} {
		w, err := z.Create(f.name)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(f.data)); err != nil {
			return nil, err
		}
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
