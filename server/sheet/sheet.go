// Package sheet writes and reads the Excel workbooks of imports and exports, on excelize. A
// written workbook has a data sheet with a frozen, styled header of Chinese column titles,
// drop-downs where a column takes fixed values, and a "说明" sheet explaining every column. An
// uploaded workbook is read by header title, not by position, and bad values are reported per
// cell with the row number Excel shows.
package sheet

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/yingji/yingji/server/yingji"
)

// ContentType is the media type of an .xlsx file.
const ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// NotesSheet is the name of the sheet explaining the columns.
const NotesSheet = "说明"

// Yes and No are how booleans are written, and the values of their drop-downs.
const (
	Yes = "是"
	No  = "否"
)

// YesNo are the values of a boolean column's drop-down.
var YesNo = []string{Yes, No}

// Column is one column of a data sheet. Its Title is the key rows are read by.
type Column struct {
	Title    string
	Required bool     // the header must be present; the 说明 sheet marks it 必填
	Width    float64  // in characters; 0 picks one from the title
	Text     bool     // formatted as text, so codes and phone numbers keep their digits
	Options  []string // values of a drop-down
	Note     string   // how to fill it in
	Example  string
}

// Spec describes the data sheet of a workbook.
type Spec struct {
	Sheet   string   // name of the data sheet, e.g. "企业"
	Notes   []string // general notes at the top of the 说明 sheet
	Columns []Column
}

// Column returns the column with that title.
func (s Spec) Column(title string) (Column, bool) {
	for _, c := range s.Columns {
		if c.Title == title {
			return c, true
		}
	}
	return Column{}, false
}

// Titles returns the column titles in order.
func (s Spec) Titles() []string {
	out := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		out[i] = c.Title
	}
	return out
}

func (c Column) width() float64 {
	if c.Width > 0 {
		return c.Width
	}
	w := 0.0
	for _, r := range c.Title {
		if r < utf8.RuneSelf {
			w++
		} else {
			w += 2
		}
	}
	return max(w+4, 10)
}

// CellError is one bad cell of an uploaded sheet. Row is the row number Excel shows.
type CellError struct {
	Row     int    `json:"row"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

// RowErrors is the data of an import.invalid_rows error.
type RowErrors struct {
	Errors []CellError `json:"errors"`
}

// MaxReportedErrors bounds the cell errors an import answers with.
const MaxReportedErrors = 1000

// Invalid returns the error of an import with bad rows: nothing was stored. The message names
// the rows (the first few, then how many); Data lists each bad cell.
func Invalid(errs []CellError) *yingji.Error {
	var rows []string
	seen := map[int]bool{}
	for _, e := range errs {
		if !seen[e.Row] {
			seen[e.Row] = true
			rows = append(rows, fmt.Sprint(e.Row))
		}
	}
	list := strings.Join(rows, "、")
	if len(rows) > 10 {
		list = strings.Join(rows[:10], "、") + fmt.Sprintf(" 等 %d", len(rows))
	}
	if len(errs) > MaxReportedErrors {
		errs = errs[:MaxReportedErrors]
	}
	return yingji.Errorf(yingji.EINVALID, "import.invalid_rows", "第 %s 行有误，未导入任何数据", list).
		WithData(RowErrors{Errors: errs})
}
