package sheet

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/xuri/excelize/v2"

	"github.com/yingji/yingji/server/yingji"
)

// Limits bound what Read accepts.
type Limits struct {
	MaxRows     int   // data rows; 0 for no limit
	MaxUnzipped int64 // total size of the unzipped parts; 0 for DefaultMaxUnzipped
}

// DefaultMaxUnzipped bounds the unzipped size of an upload, against zip bombs.
const DefaultMaxUnzipped = 256 << 20

// Row is one data row of an uploaded sheet, its cells keyed by column title. Errors found in
// its cells collect on it.
type Row struct {
	Num    int // the row number Excel shows
	values map[string]string
	order  map[string]int // column title → position in the spec
	errs   []CellError
}

// Text returns the trimmed text of the row's cell in the titled column ("" when absent).
func (r *Row) Text(title string) string { return r.values[title] }

// Blank reports whether the titled cell is empty.
func (r *Row) Blank(title string) bool { return r.values[title] == "" }

// Fail records an error in the titled column ("" for the row as a whole).
func (r *Row) Fail(column, format string, args ...any) {
	r.errs = append(r.errs, CellError{Row: r.Num, Column: column, Message: fmt.Sprintf(format, args...)})
}

// Failed reports whether an error was recorded for the row.
func (r *Row) Failed() bool { return len(r.errs) > 0 }

// Errors returns the errors recorded for the row, in the order of the spec's columns.
func (r *Row) Errors() []CellError {
	out := slices.Clone(r.errs)
	slices.SortStableFunc(out, func(a, b CellError) int { return r.pos(a.Column) - r.pos(b.Column) })
	return out
}

func (r *Row) pos(title string) int {
	if i, ok := r.order[title]; ok {
		return i
	}
	return len(r.order)
}

// Bool reads a 是/否 cell; an empty cell is false. Y/N, true/false and 1/0 are accepted too.
func (r *Row) Bool(title string) bool {
	switch strings.ToLower(r.Text(title)) {
	case "", No, "n", "no", "false", "0", "×":
		return false
	case Yes, "y", "yes", "true", "1", "√":
		return true
	}
	r.Fail(title, "应填“是”或“否”，而不是“%s”", r.Text(title))
	return false
}

// Float reads a number; an empty cell is nil.
func (r *Row) Float(title string) *float64 {
	s := r.Text(title)
	if s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		r.Fail(title, "应为数字，而不是“%s”", s)
		return nil
	}
	return &v
}

// Int reads a whole number; an empty cell is 0.
func (r *Row) Int(title string) int {
	s := r.Text(title)
	if s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v != math.Trunc(v) || math.Abs(v) > 1e9 {
		r.Fail(title, "应为整数，而不是“%s”", s)
		return 0
	}
	return int(v)
}

// Errors returns the errors of all rows, in row order.
func Errors(rows []*Row) []CellError {
	var out []CellError
	for _, r := range rows {
		out = append(out, r.Errors()...)
	}
	return out
}

// BadFile is the error of an upload that is not a readable .xlsx workbook.
func BadFile() *yingji.Error {
	return yingji.Errorf(yingji.EINVALID, "import.bad_file",
		"文件不是有效的 Excel 工作簿，请上传 .xlsx 格式（Excel 2007 及以上，未加密）的文件；可先下载导入模板")
}

// Read opens an uploaded workbook and returns its data rows, read by header title: the data
// sheet is the one named spec.Sheet, else the first sheet other than 说明; its header is its
// first non-empty row. Columns may come in any order; unknown ones are ignored, required ones
// must be there. Empty rows are skipped.
func Read(r io.Reader, spec Spec, lim Limits) ([]*Row, error) {
	unzip := lim.MaxUnzipped
	if unzip <= 0 {
		unzip = DefaultMaxUnzipped
	}
	f, err := excelize.OpenReader(r, excelize.Options{RawCellValue: true, UnzipSizeLimit: unzip,
		UnzipXMLSizeLimit: min(unzip, excelize.StreamChunkSize)})
	if err != nil {
		if strings.Contains(err.Error(), "unzip size exceeds") {
			return nil, yingji.Errorf(yingji.ETOOLARGE, "import.too_large", "文件解压后超过上限 %d MiB，请分批导入", unzip>>20)
		}
		return nil, wrapBad(err)
	}
	defer f.Close()
	name := dataSheet(f, spec.Sheet)
	if name == "" {
		return nil, BadFile()
	}
	it, err := f.Rows(name)
	if err != nil {
		return nil, wrapBad(err)
	}
	defer it.Close()
	order := make(map[string]int, len(spec.Columns))
	for i, c := range spec.Columns {
		order[c.Title] = i
	}
	var index map[string]int
	var rows []*Row
	for num := 1; it.Next(); num++ {
		cells, err := it.Columns()
		if err != nil {
			return nil, wrapBad(err)
		}
		if blank(cells) {
			continue
		}
		if index == nil {
			if index, err = header(cells, spec); err != nil {
				return nil, err
			}
			continue
		}
		if lim.MaxRows > 0 && len(rows) >= lim.MaxRows {
			return nil, yingji.Errorf(yingji.EINVALID, "import.too_many_rows", "一次最多导入 %d 行数据，请分批导入", lim.MaxRows).
				WithData(map[string]any{"max_rows": lim.MaxRows})
		}
		row := &Row{Num: num, values: make(map[string]string, len(index)), order: order}
		for title, i := range index {
			if i < len(cells) {
				row.values[title] = clean(cells[i])
			}
		}
		rows = append(rows, row)
	}
	if err := it.Error(); err != nil {
		return nil, wrapBad(err)
	}
	if index == nil || len(rows) == 0 {
		return nil, yingji.Errorf(yingji.EINVALID, "import.empty", "“%s”工作表中没有数据行：第 1 行为表头，请从第 2 行起填写", name)
	}
	return rows, nil
}

func wrapBad(err error) *yingji.Error {
	e := BadFile()
	e.Err = err
	return e
}

// dataSheet picks the sheet to read.
func dataSheet(f *excelize.File, want string) string {
	list := f.GetSheetList()
	for _, s := range list {
		if s == want {
			return s
		}
	}
	for _, s := range list {
		if s != NotesSheet {
			return s
		}
	}
	return ""
}

// header maps the spec's titles to cell positions.
func header(cells []string, spec Spec) (map[string]int, error) {
	byNorm := make(map[string]string, len(spec.Columns))
	for _, c := range spec.Columns {
		byNorm[normTitle(c.Title)] = c.Title
	}
	index := map[string]int{}
	for i, cell := range cells {
		title, ok := byNorm[normTitle(cell)]
		if !ok {
			continue
		}
		if _, dup := index[title]; dup {
			return nil, yingji.Errorf(yingji.EINVALID, "import.bad_header", "表头中“%s”列出现了两次，请删除多余的一列", title).
				WithData(map[string]any{"column": title})
		}
		index[title] = i
	}
	var missing []string
	for _, c := range spec.Columns {
		if _, ok := index[c.Title]; c.Required && !ok {
			missing = append(missing, c.Title)
		}
	}
	if len(missing) > 0 {
		return nil, yingji.Errorf(yingji.EINVALID, "import.bad_header", "表头缺少必填列：%s；请使用下载的导入模板，不要修改第 1 行的列名",
			strings.Join(missing, "、")).WithData(map[string]any{"missing": missing})
	}
	return index, nil
}

// normTitle ignores spaces, required-marks and a "（必填）" suffix in a header cell.
func normTitle(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	s = strings.Trim(s, "*＊")
	for _, suf := range []string{"（必填）", "(必填)"} {
		s = strings.TrimSuffix(s, suf)
	}
	return s
}

func clean(s string) string { return strings.TrimFunc(s, unicode.IsSpace) }

func blank(cells []string) bool {
	for _, c := range cells {
		if clean(c) != "" {
			return false
		}
	}
	return true
}
