package sheet_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode"

	"github.com/xuri/excelize/v2"

	"github.com/yingji/yingji/server/sheet"
	"github.com/yingji/yingji/server/yingji"
)

// FuzzRead fuzzes the Excel import reader. An input starting with "PK" is a whole upload;
// any other input is the XML of the data sheet inside an otherwise valid workbook, so the
// fuzzer reaches the cell parsing instead of stopping at the zip checksum. Whatever arrives,
// Read must not panic and must answer either rows (numbered upwards, trimmed, no more than
// the limit) or a coded error the user can act on (invalid file or too large), never an
// internal one.
//
//	go test -run '^$' -fuzz '^FuzzRead$' -fuzztime 10m -fuzzminimizetime 5s -parallel 1 ./server/sheet/
//
// Result, 2026-12-07 14:03 UTC: 10 minutes, 1 worker (-fuzzminimizetime 5s: one workbook takes
// about 10 ms to read, and minimizing kilobyte inputs otherwise takes the whole run), 7,500
// execs, 120 new interesting inputs, no failure. The machine was shared by 8 engineers (load
// average above 20 on 2 cores), so the count is low; run it longer on a quiet machine.
func FuzzRead(f *testing.F) {
	w, err := sheet.NewWriter(testSpec) // the template users fill in, with its 说明 sheet
	if err != nil {
		f.Fatal(err)
	}
	lat := 30.5
	w.Add("甲公司", "91339901MA2100000X", &lat, 2, true)
	w.Add(" 乙公司 ", "x", nil, nil, false)
	var tpl bytes.Buffer
	if _, err := w.WriteTo(&tpl); err != nil {
		f.Fatal(err)
	}
	w.Close()
	f.Add(tpl.Bytes())
	base := workbook(f, nil)
	f.Add(base)
	f.Add(sheetXML(f, base))
	for _, s := range []string{
		`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
			`<row r="1"><c r="A1" t="inlineStr"><is><t>企业名称</t></is></c><c r="B1" t="inlineStr"><is><t>统一社会信用代码</t></is></c></row>` +
			`<row r="3"><c r="B3" t="s"><v>0</v></c><c r="A3"><v>1e308</v></c><c r="XFD3" t="b"><v>1</v></c></row>` +
			`<row r="1048576"><c r="A1048576" t="str"><v> x </v></c></row></sheetData></worksheet>`,
		`<worksheet><sheetData><row r="0"><c r="A0"/></row><row r="-1"/></sheetData></worksheet>`,
		`<worksheet><sheetData><row><c r="ZZZZ1"><v>1</v></c></row></sheetData></worksheet>`,
		"", "PK\x03\x04",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := data
		if !bytes.HasPrefix(data, []byte("PK")) {
			in = withSheetXML(base, data)
		}
		lim := sheet.Limits{MaxRows: 50, MaxUnzipped: 4 << 20}
		rows, err := sheet.Read(bytes.NewReader(in), testSpec, lim)
		if err != nil {
			var ye *yingji.Error
			if !errors.As(err, &ye) || (ye.Kind != yingji.EINVALID && ye.Kind != yingji.ETOOLARGE) || ye.Message == "" {
				t.Fatalf("not a coded user error: %v", err)
			}
			return
		}
		if len(rows) == 0 || len(rows) > lim.MaxRows {
			t.Fatalf("%d rows", len(rows))
		}
		prev := 1
		for _, r := range rows {
			if r.Num <= prev {
				t.Fatalf("row numbers out of order: %d after %d", r.Num, prev)
			}
			prev = r.Num
			for _, c := range testSpec.Columns {
				v := r.Text(c.Title)
				if strings.TrimFunc(v, unicode.IsSpace) != v {
					t.Fatalf("cell %q not trimmed", v)
				}
				r.Float(c.Title)
				r.Int(c.Title)
				r.Bool(c.Title)
			}
			for _, e := range r.Errors() {
				if e.Row != r.Num || e.Message == "" {
					t.Fatalf("bad cell error %+v", e)
				}
			}
		}
	})
}

// workbook is a one-sheet workbook named 企业 whose first row is testSpec's header.
func workbook(tb testing.TB, rows [][]any) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", "企业"); err != nil {
		tb.Fatal(err)
	}
	var head []any
	for _, c := range testSpec.Columns {
		head = append(head, c.Title)
	}
	for i, r := range append([][]any{head, {"甲", "x", "1.5", "2", "是"}}, rows...) {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("企业", cell, &r); err != nil {
			tb.Fatal(err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

const dataSheetPart = "xl/worksheets/sheet1.xml"

// sheetXML returns the data sheet's XML of a workbook.
func sheetXML(tb testing.TB, book []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(book), int64(len(book)))
	if err != nil {
		tb.Fatal(err)
	}
	rc, err := zr.Open(dataSheetPart)
	if err != nil {
		tb.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// withSheetXML returns book with its data sheet's XML replaced.
func withSheetXML(book, xml []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(book), int64(len(book)))
	if err != nil {
		panic(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		w, err := zw.Create(f.Name)
		if err != nil {
			panic(err)
		}
		if f.Name == dataSheetPart {
			w.Write(xml)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			panic(err)
		}
		io.Copy(w, rc)
		rc.Close()
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return out.Bytes()
}
