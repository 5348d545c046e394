package sqldb

import (
	"strconv"
	"strings"
)

// Where builds a WHERE clause with numbered placeholders. Conditions use "?" for their
// arguments; Add numbers them in order.
type Where struct {
	conds []string
	Args  []any
}

// Add appends a condition; each "?" in cond takes the next argument.
func (w *Where) Add(cond string, args ...any) {
	var b strings.Builder
	i := 0
	for _, r := range cond {
		if r == '?' && i < len(args) {
			w.Args = append(w.Args, args[i])
			i++
			b.WriteString("$" + strconv.Itoa(len(w.Args)))
			continue
		}
		b.WriteRune(r)
	}
	w.conds = append(w.conds, b.String())
}

// Prefix adds "col starts with prefix" as a range both engines serve from a B-tree index
// (the column must sort bytewise: COLLATE "C" on PostgreSQL). An empty prefix adds nothing.
func (w *Where) Prefix(col, prefix string) {
	if prefix == "" {
		return
	}
	w.Add(col+" >= ? AND "+col+" < ?", prefix, PrefixEnd(prefix))
}

// Next returns the placeholder for one more argument (for LIMIT/OFFSET).
func (w *Where) Next(arg any) string {
	w.Args = append(w.Args, arg)
	return "$" + strconv.Itoa(len(w.Args))
}

// SQL returns " WHERE a AND b", or "" with no conditions.
func (w *Where) SQL() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// PrefixEnd returns the smallest string greater than every string that starts with prefix.
func PrefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\xff\xff\xff\xff"
}

// Like escapes s for a LIKE pattern that matches it anywhere ("%s%"), with "\" as escape.
func Like(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// Placeholders returns "$from, $from+1, ..." for n arguments.
func Placeholders(from, n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(ph, ", ")
}

// InChunks calls fn for each chunk of at most 500 ids with the arguments lead followed by the
// chunk's ids, and in, the placeholder list of the ids (for "col IN (" + in + ")").
func InChunks(ids []string, lead []any, fn func(args []any, in string) error) error {
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := append(make([]any, 0, len(lead)+len(chunk)), lead...)
		for _, id := range chunk {
			args = append(args, id)
		}
		if err := fn(args, Placeholders(len(lead)+1, len(chunk))); err != nil {
			return err
		}
	}
	return nil
}
