package sheet

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// Writer streams rows into a new workbook for a spec, so large exports stay out of memory.
// Close it when done.
type Writer struct {
	f         *excelize.File
	sw        *excelize.StreamWriter
	spec      Spec
	notes     []string
	next      int // the next row number
	textStyle int
	flushed   bool
}

// Style colours.
const (
	headerFill    = "DDEBF7"
	requiredColor = "C00000"
)

// NewWriter starts a workbook with the spec's data sheet, its header row written.
func NewWriter(spec Spec) (*Writer, error) {
	f := excelize.NewFile()
	w := &Writer{f: f, spec: spec, next: 2}
	if err := w.start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("sheet: new workbook: %w", err)
	}
	return w, nil
}

func (w *Writer) start() error {
	f, name := w.f, w.spec.Sheet
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return err
	}
	if _, err := f.NewSheet(NotesSheet); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	if err := f.SetDocProps(&excelize.DocProperties{Creator: "Yingji", Title: name}); err != nil {
		return err
	}
	border := []excelize.Border{{Type: "left", Color: "9BC2E6", Style: 1}, {Type: "right", Color: "9BC2E6", Style: 1},
		{Type: "top", Color: "9BC2E6", Style: 1}, {Type: "bottom", Color: "9BC2E6", Style: 1}}
	header := func(color string) (int, error) {
		return f.NewStyle(&excelize.Style{
			Font:      &excelize.Font{Bold: true, Color: color},
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{headerFill}},
			Border:    border,
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"},
		})
	}
	plainHeader, err := header("000000")
	if err != nil {
		return err
	}
	requiredHeader, err := header(requiredColor)
	if err != nil {
		return err
	}
	if w.textStyle, err = f.NewStyle(&excelize.Style{NumFmt: 49}); err != nil { // "@": text
		return err
	}
	// Drop-downs and input prompts go on the worksheet before the stream writer takes it over.
	for i, c := range w.spec.Columns {
		if err := w.validation(i, c); err != nil {
			return err
		}
	}
	if w.sw, err = f.NewStreamWriter(name); err != nil {
		return err
	}
	if err := w.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return err
	}
	// excelize puts each changed column first, so going backwards leaves them in order, as
	// Excel wants.
	for i := len(w.spec.Columns) - 1; i >= 0; i-- {
		c := w.spec.Columns[i]
		if err := w.sw.SetColWidth(i+1, i+1, c.width()); err != nil {
			return err
		}
		if c.Text {
			if err := w.sw.SetColStyle(i+1, i+1, w.textStyle); err != nil {
				return err
			}
		}
	}
	cells := make([]any, len(w.spec.Columns))
	for i, c := range w.spec.Columns {
		st := plainHeader
		if c.Required {
			st = requiredHeader
		}
		cells[i] = excelize.Cell{StyleID: st, Value: c.Title}
	}
	return w.sw.SetRow("A1", cells, excelize.RowOpts{Height: 22})
}

// validation adds the column's drop-down and its input prompt (the note, shown when a cell of
// the column is selected).
func (w *Writer) validation(i int, c Column) error {
	if len(c.Options) == 0 && c.Note == "" {
		return nil
	}
	col, err := excelize.ColumnNumberToName(i + 1)
	if err != nil {
		return err
	}
	dv := excelize.NewDataValidation(true)
	dv.SetSqref(fmt.Sprintf("%s2:%s%d", col, col, excelize.TotalRows))
	if c.Note != "" {
		dv.SetInput(truncate(c.Title, 32), truncate(c.Note, 255))
	}
	if len(c.Options) > 0 {
		if err := dv.SetDropList(c.Options); err != nil {
			return fmt.Errorf("column %s: %w", c.Title, err)
		}
		dv.SetError(excelize.DataValidationErrorStyleStop, truncate(c.Title, 32), "请从下拉列表中选择")
	}
	return w.f.AddDataValidation(w.spec.Sheet, dv)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Note adds a general note to the 说明 sheet (e.g. that an export was cut short).
func (w *Writer) Note(s string) { w.notes = append(w.notes, s) }

// Rows is the number of data rows written.
func (w *Writer) Rows() int { return w.next - 2 }

// Add writes one data row, a value per column: a string, an integer, a float64, a *float64
// (nil for empty), a bool (written 是 or 否) or nil.
func (w *Writer) Add(values ...any) error {
	if len(values) != len(w.spec.Columns) {
		return fmt.Errorf("sheet: row has %d values for %d columns", len(values), len(w.spec.Columns))
	}
	cells := make([]any, len(values))
	for i, v := range values {
		switch x := v.(type) {
		case nil:
		case bool:
			cells[i] = boolText(x)
		case *float64:
			if x != nil {
				cells[i] = *x
			}
		case string:
			if x != "" {
				cells[i] = x
			}
		default:
			cells[i] = x
		}
		if w.spec.Columns[i].Text && cells[i] != nil {
			cells[i] = excelize.Cell{StyleID: w.textStyle, Value: fmt.Sprint(cells[i])}
		}
	}
	cell, _ := excelize.CoordinatesToCellName(1, w.next)
	if err := w.sw.SetRow(cell, cells); err != nil {
		return fmt.Errorf("sheet: row %d: %w", w.next, err)
	}
	w.next++
	return nil
}

func boolText(b bool) string {
	if b {
		return Yes
	}
	return No
}

// WriteTo finishes the workbook (the 说明 sheet) and writes it to out. Call it once.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	if !w.flushed {
		if err := w.sw.Flush(); err != nil {
			return 0, fmt.Errorf("sheet: flush: %w", err)
		}
		if err := w.writeNotes(); err != nil {
			return 0, fmt.Errorf("sheet: notes: %w", err)
		}
		w.flushed = true
	}
	n, err := w.f.WriteTo(out)
	if err != nil {
		return n, fmt.Errorf("sheet: write: %w", err)
	}
	return n, nil
}

// Close releases the workbook's temporary files.
func (w *Writer) Close() error { return w.f.Close() }

// noteHeader are the titles of the column table of the 说明 sheet.
var noteHeader = []string{"列名", "是否必填", "填写说明", "可选值", "示例"}

// writeNotes fills the 说明 sheet: the general notes, then one row per column.
func (w *Writer) writeNotes() error {
	f := w.f
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 12}})
	if err != nil {
		return err
	}
	head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{headerFill}}})
	if err != nil {
		return err
	}
	wrap, err := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return err
	}
	red, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Color: requiredColor}, Alignment: &excelize.Alignment{Vertical: "top"}})
	if err != nil {
		return err
	}
	set := func(row int, values ...any) error {
		cell, _ := excelize.CoordinatesToCellName(1, row)
		return f.SetSheetRow(NotesSheet, cell, &values)
	}
	row := 1
	if err := set(row, fmt.Sprintf("“%s”工作表填写说明", w.spec.Sheet)); err != nil {
		return err
	}
	if err := f.SetCellStyle(NotesSheet, "A1", "A1", bold); err != nil {
		return err
	}
	row++
	general := append([]string{
		fmt.Sprintf("在“%s”工作表中填写，第 1 行为表头，请勿修改列名；从第 2 行起每行一条记录，空行会被忽略。", w.spec.Sheet),
		"列的顺序可以调整，系统按列名识别；红色列名为必填列。",
		"导入时先校验全部行：任何一行有误则不导入任何数据，并列出每个出错的行和列；改正后重新上传即可。",
	}, w.spec.Notes...)
	general = append(general, w.notes...)
	for i, n := range general {
		if err := set(row, fmt.Sprintf("%d. %s", i+1, n)); err != nil {
			return err
		}
		row++
	}
	row++
	if err := set(row, toAny(noteHeader)...); err != nil {
		return err
	}
	last, _ := excelize.ColumnNumberToName(len(noteHeader))
	if err := f.SetCellStyle(NotesSheet, fmt.Sprintf("A%d", row), fmt.Sprintf("%s%d", last, row), head); err != nil {
		return err
	}
	row++
	for _, c := range w.spec.Columns {
		req := ""
		if c.Required {
			req = "必填"
		}
		opts := ""
		for i, o := range c.Options {
			if i > 0 {
				opts += "、"
			}
			opts += o
		}
		if err := set(row, c.Title, req, c.Note, opts, c.Example); err != nil {
			return err
		}
		if err := f.SetCellStyle(NotesSheet, fmt.Sprintf("A%d", row), fmt.Sprintf("%s%d", last, row), wrap); err != nil {
			return err
		}
		if c.Required {
			if err := f.SetCellStyle(NotesSheet, fmt.Sprintf("B%d", row), fmt.Sprintf("B%d", row), red); err != nil {
				return err
			}
		}
		row++
	}
	for i, width := range []float64{24, 10, 60, 30, 28} {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(NotesSheet, col, col, width); err != nil {
			return err
		}
	}
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
