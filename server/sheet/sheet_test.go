package sheet_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/yingji/yingji/server/sheet"
	"github.com/yingji/yingji/server/yingji"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var testSpec = sheet.Spec{
	Sheet: "企业",
	Notes: []string{"坐标使用 WGS84。"},
	Columns: []sheet.Column{
		{Title: "企业名称", Required: true, Width: 30, Note: "不超过 200 个字", Example: "临港石化储运有限公司"},
		{Title: "统一社会信用代码", Required: true, Text: true, Note: "18 位", Example: "91339901MA2100000X"},
		{Title: "纬度", Note: "WGS84", Example: "30.2231"},
		{Title: "排序"},
		{Title: "涉及危险化学品", Options: sheet.YesNo, Example: "是"},
	},
}

// build writes a workbook of testSpec with rows.
func build(t *testing.T, rows ...[]any) []byte {
	t.Helper()
	w, err := sheet.NewWriter(testSpec)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, r := range rows {
		if err := w.Add(r...); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// raw builds a workbook by hand: one sheet with these cells, row by row from A1.
func raw(t *testing.T, name string, rows ...[]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if name != "Sheet1" {
		if err := f.SetSheetName("Sheet1", name); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range rows {
		if r == nil {
			continue
		}
		if err := f.SetSheetRow(name, fmt.Sprintf("A%d", i+1), &r); err != nil {
			t.Fatal(err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// describe renders a workbook as text for the golden file.
func describe(t *testing.T, data []byte) string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "sheets: %s\n", strings.Join(f.GetSheetList(), ", "))
	for _, name := range f.GetSheetList() {
		fmt.Fprintf(&b, "\n== %s\n", name)
		panes, _ := f.GetPanes(name)
		fmt.Fprintf(&b, "freeze: %v ysplit=%d topleft=%s\n", panes.Freeze, panes.YSplit, panes.TopLeftCell)
		dvs, _ := f.GetDataValidations(name)
		for _, dv := range dvs {
			prompt := ""
			if dv.Prompt != nil {
				prompt = *dv.Prompt
			}
			fmt.Fprintf(&b, "validation %s: type=%q list=%s prompt=%q\n", dv.Sqref, dv.Type, dv.Formula1, prompt)
		}
		rows, _ := f.GetRows(name)
		for i, r := range rows {
			if i == 0 {
				for j := range r {
					col, _ := excelize.ColumnNumberToName(j + 1)
					w, _ := f.GetColWidth(name, col)
					fmt.Fprintf(&b, "width %s: %g\n", col, w)
				}
			}
			fmt.Fprintf(&b, "%d: %s\n", i+1, strings.Join(r, " | "))
		}
	}
	return b.String()
}

func TestWriterGolden(t *testing.T) {
	lat := 30.2231
	got := describe(t, build(t,
		[]any{"临港石化储运有限公司", "91339901MA2100000X", &lat, 3, true},
		[]any{"滨江商贸综合体", "91339901MA2101370Y", (*float64)(nil), nil, false},
	))
	path := filepath.Join("testdata", "workbook.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("workbook differs from %s (run go test -update if intended):\n%s", path, got)
	}
}

func TestWriter(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f, err := excelize.OpenReader(bytes.NewReader(build(t, []any{"甲", "0123", nil, 1, true})))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if got := f.GetSheetList(); len(got) != 2 || got[0] != "企业" || got[1] != sheet.NotesSheet {
			t.Errorf("sheets = %v", got)
		}
		// A text column keeps its leading zero.
		if v, _ := f.GetCellValue("企业", "B2"); v != "0123" {
			t.Errorf("B2 = %q, want 0123", v)
		}
		if v, _ := f.GetCellValue("企业", "E2"); v != "是" {
			t.Errorf("E2 = %q, want 是", v)
		}
	})
	t.Run("ErrWrongCount", func(t *testing.T) {
		w, err := sheet.NewWriter(testSpec)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := w.Add("only one"); err == nil {
			t.Error("Add with too few values succeeded")
		}
	})
}

func code(err error) string { return yingji.ErrorCode(err) }

func TestRead(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		lat := 30.5
		rows, err := sheet.Read(bytes.NewReader(build(t,
			[]any{"甲公司", "91339901MA2100000X", &lat, 2, true},
			[]any{" 乙公司 ", "x", nil, nil, false},
		)), testSpec, sheet.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Num != 2 || rows[1].Num != 3 {
			t.Fatalf("rows = %+v", rows)
		}
		r := rows[0]
		if r.Text("企业名称") != "甲公司" || r.Text("统一社会信用代码") != "91339901MA2100000X" || *r.Float("纬度") != 30.5 ||
			r.Int("排序") != 2 || !r.Bool("涉及危险化学品") {
			t.Errorf("row 2 read wrong: %+v", r)
		}
		if rows[1].Text("企业名称") != "乙公司" || rows[1].Float("纬度") != nil || rows[1].Bool("涉及危险化学品") {
			t.Errorf("row 3 read wrong: %+v", rows[1])
		}
		if rows[0].Failed() || rows[1].Failed() {
			t.Errorf("unexpected errors: %v", sheet.Errors(rows))
		}
	})
	t.Run("OKByTitle", func(t *testing.T) {
		// Reordered columns, marked titles, an unknown column, a blank row, no optional columns;
		// a renamed sheet is still found.
		data := raw(t, "Sheet1",
			nil,
			[]any{"备注", "*统一社会信用代码", "企业名称（必填）", " 涉及危险化学品 "},
			[]any{"x", "A1", "甲", "否"},
			nil,
			[]any{"", "", "", ""},
			[]any{"y", 12345, "乙", "是"},
		)
		rows, err := sheet.Read(bytes.NewReader(data), testSpec, sheet.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Num != 3 || rows[1].Num != 6 {
			t.Fatalf("rows = %d, nums %v", len(rows), rows)
		}
		if rows[0].Text("统一社会信用代码") != "A1" || rows[0].Text("企业名称") != "甲" || rows[0].Text("纬度") != "" {
			t.Errorf("row 3 = %+v", rows[0])
		}
		if rows[1].Text("统一社会信用代码") != "12345" || !rows[1].Bool("涉及危险化学品") {
			t.Errorf("row 6 = %+v", rows[1])
		}
	})
	t.Run("ErrCells", func(t *testing.T) {
		data := raw(t, "企业", []any{"企业名称", "统一社会信用代码", "纬度", "排序", "涉及危险化学品"},
			[]any{"甲", "c", "北纬30", "1.5", "也许"})
		rows, err := sheet.Read(bytes.NewReader(data), testSpec, sheet.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		r := rows[0]
		r.Float("纬度")
		r.Int("排序")
		r.Bool("涉及危险化学品")
		errs := r.Errors()
		if len(errs) != 3 || errs[0].Column != "纬度" || errs[1].Column != "排序" || errs[2].Column != "涉及危险化学品" || errs[0].Row != 2 {
			t.Fatalf("errors = %+v", errs)
		}
		e := sheet.Invalid(sheet.Errors(rows))
		if e.Code != "import.invalid_rows" || e.Message != "第 2 行有误，未导入任何数据" {
			t.Errorf("Invalid = %v", e)
		}
	})
	t.Run("ErrBadFile", func(t *testing.T) {
		for name, data := range map[string][]byte{
			"text":  []byte("企业名称,统一社会信用代码\n甲,乙\n"),
			"empty": nil,
			"zip":   {'P', 'K', 3, 4, 0, 0},
		} {
			_, err := sheet.Read(bytes.NewReader(data), testSpec, sheet.Limits{})
			if code(err) != "import.bad_file" || yingji.ErrorKind(err) != yingji.EINVALID {
				t.Errorf("%s: err = %v, want import.bad_file", name, err)
			}
		}
	})
	t.Run("ErrMissingColumn", func(t *testing.T) {
		data := raw(t, "企业", []any{"企业名称", "纬度"}, []any{"甲", "30"})
		_, err := sheet.Read(bytes.NewReader(data), testSpec, sheet.Limits{})
		var e *yingji.Error
		if !errors.As(err, &e) || e.Code != "import.bad_header" || !strings.Contains(e.Message, "统一社会信用代码") {
			t.Errorf("err = %v, want import.bad_header naming the missing column", err)
		}
	})
	t.Run("ErrDuplicateColumn", func(t *testing.T) {
		data := raw(t, "企业", []any{"企业名称", "统一社会信用代码", "企业名称"}, []any{"甲", "c", "乙"})
		if _, err := sheet.Read(bytes.NewReader(data), testSpec, sheet.Limits{}); code(err) != "import.bad_header" {
			t.Errorf("err = %v, want import.bad_header", err)
		}
	})
	t.Run("ErrEmpty", func(t *testing.T) {
		if _, err := sheet.Read(bytes.NewReader(build(t)), testSpec, sheet.Limits{}); code(err) != "import.empty" {
			t.Errorf("err = %v, want import.empty", err)
		}
	})
	t.Run("ErrTooManyRows", func(t *testing.T) {
		data := build(t, []any{"a", "b", nil, nil, nil}, []any{"c", "d", nil, nil, nil}, []any{"e", "f", nil, nil, nil})
		if _, err := sheet.Read(bytes.NewReader(data), testSpec, sheet.Limits{MaxRows: 2}); code(err) != "import.too_many_rows" {
			t.Errorf("err = %v, want import.too_many_rows", err)
		}
	})
	t.Run("ErrUnzippedTooLarge", func(t *testing.T) {
		data := build(t, []any{strings.Repeat("很长", 20000), "b", nil, nil, nil})
		_, err := sheet.Read(bytes.NewReader(data), testSpec, sheet.Limits{MaxUnzipped: 64 << 10})
		if yingji.ErrorKind(err) != yingji.ETOOLARGE {
			t.Errorf("err = %v, want too large", err)
		}
	})
}

func TestInvalidMessage(t *testing.T) {
	var errs []sheet.CellError
	for i := 2; i <= 14; i++ {
		errs = append(errs, sheet.CellError{Row: i, Column: "a", Message: "x"}, sheet.CellError{Row: i, Column: "b", Message: "y"})
	}
	e := sheet.Invalid(errs)
	if want := "第 2、3、4、5、6、7、8、9、10、11 等 13 行有误，未导入任何数据"; e.Message != want {
		t.Errorf("message = %q, want %q", e.Message, want)
	}
	if d := e.Data.(sheet.RowErrors); len(d.Errors) != 26 {
		t.Errorf("data has %d errors, want 26", len(d.Errors))
	}
}
