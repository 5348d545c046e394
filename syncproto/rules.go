package syncproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Rule says how concurrent changes to a field are merged.
type Rule string

const (
	// LWW: last writer wins by HLC stamp (the default). A write older than the field's last
	// write loses, and the answer is "merged". Equal wall times are ordered by counter, then by
	// node.
	LWW Rule = "lww"
	// State: a status state machine. A transition must be allowed from the current state (a
	// record without the field is in the machine's Initial state). A device that moves to a
	// state the record has already passed on the same path (it advanced concurrently) is
	// superseded: the more advanced state stays and the answer is "merged". Any other
	// transition is rejected with CodeBadTransition.
	State Rule = "state"
	// Set: an add-wins set of strings (photo hashes, tags), kept sorted and without duplicates.
	// The device sends its new value and, in Mutation.Base, the value it started from:
	// elements it added (value − base) are added, elements it removed (base − value) are
	// removed, and everything else stays as the server has it, so concurrent adds and
	// removals of other elements by others survive. Without a base nothing is removed.
	Set Rule = "set"
	// Immutable: written at create, never changed: a later write of another value (or of a
	// field the create left out) is rejected; writing the same value again is accepted.
	Immutable Rule = "immutable"
	// ServerOwned: only the server writes it; a client write is rejected.
	ServerOwned Rule = "server"
)

// Field types for validation.
const (
	TypeString = "string"
	TypeNumber = "number"
	TypeBool   = "bool"
	TypeObject = "object"
	TypeArray  = "array" // of strings for Set fields
	TypeTime   = "time"  // RFC 3339 string
)

// FieldSpec declares one field of a collection.
type FieldSpec struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Rule Rule   `json:"rule"`
	// Required fields must be given, and not null, on create and may not be set to null.
	Required bool          `json:"required,omitempty"`
	Machine  *StateMachine `json:"machine,omitempty"` // for State
}

// StateMachine lists states in order of progress and the allowed transitions.
type StateMachine struct {
	States      []string            `json:"states"`
	Transitions map[string][]string `json:"transitions"`
	// Initial is the state of a new record: a create may give it or a state one allowed
	// transition from it, and a create that leaves the field out gets it.
	Initial string `json:"initial"`
}

// Rank is the state's position in States, -1 when unknown.
func (m *StateMachine) Rank(s string) int { return slices.Index(m.States, s) }

// Allowed reports whether from → to is a transition (staying is always allowed).
func (m *StateMachine) Allowed(from, to string) bool {
	return from == to || slices.Contains(m.Transitions[from], to)
}

// Reachable reports whether to can be reached from from by one or more allowed transitions.
func (m *StateMachine) Reachable(from, to string) bool {
	seen := map[string]bool{from: true}
	queue := []string{from}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, n := range m.Transitions[s] {
			if n == to {
				return true
			}
			if !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	return false
}

// CollectionSpec declares a synced collection.
type CollectionSpec struct {
	Name   string      `json:"name"`
	Fields []FieldSpec `json:"fields"`
	// AppendOnly collections take creates only: their records never change or conflict.
	AppendOnly bool `json:"append_only,omitempty"`
	// ReadOnly collections are written by the server only (devices read them).
	ReadOnly bool `json:"read_only,omitempty"`
	// Deletable says devices may delete records.
	Deletable bool `json:"deletable,omitempty"`
}

// Field returns the spec of a field.
func (c *CollectionSpec) Field(name string) (FieldSpec, bool) {
	for _, f := range c.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return FieldSpec{}, false
}

// Validate checks that the declaration makes sense: a name, unique field names, known rules
// and types, a state machine on every State field (whose initial state and transitions name
// declared states) and an array type on every Set field. Servers check every collection they
// register with it.
func (c *CollectionSpec) Validate() error {
	if c.Name == "" {
		return errors.New("syncproto: collection without a name")
	}
	seen := map[string]bool{}
	for _, f := range c.Fields {
		if f.Name == "" {
			return fmt.Errorf("syncproto: %s: field without a name", c.Name)
		}
		if seen[f.Name] {
			return fmt.Errorf("syncproto: %s.%s declared twice", c.Name, f.Name)
		}
		seen[f.Name] = true
		switch f.Type {
		case TypeString, TypeNumber, TypeBool, TypeObject, TypeArray, TypeTime:
		default:
			return fmt.Errorf("syncproto: %s.%s: unknown type %q", c.Name, f.Name, f.Type)
		}
		switch f.Rule {
		case "", LWW, Immutable, ServerOwned:
		case Set:
			if f.Type != TypeArray {
				return fmt.Errorf("syncproto: %s.%s: a set field has type %q", c.Name, f.Name, TypeArray)
			}
		case State:
			m := f.Machine
			if m == nil || len(m.States) == 0 {
				return fmt.Errorf("syncproto: %s.%s: a state field needs a machine", c.Name, f.Name)
			}
			if f.Type != TypeString {
				return fmt.Errorf("syncproto: %s.%s: a state field has type %q", c.Name, f.Name, TypeString)
			}
			if m.Initial != "" && m.Rank(m.Initial) < 0 {
				return fmt.Errorf("syncproto: %s.%s: unknown initial state %q", c.Name, f.Name, m.Initial)
			}
			for from, tos := range m.Transitions {
				if m.Rank(from) < 0 {
					return fmt.Errorf("syncproto: %s.%s: transition from unknown state %q", c.Name, f.Name, from)
				}
				for _, to := range tos {
					if m.Rank(to) < 0 {
						return fmt.Errorf("syncproto: %s.%s: transition to unknown state %q", c.Name, f.Name, to)
					}
				}
			}
		default:
			return fmt.Errorf("syncproto: %s.%s: unknown rule %q", c.Name, f.Name, f.Rule)
		}
	}
	return nil
}

// RecordState is a record as merge sees it: field values, the stamp of each field's last write,
// and a tombstone with its stamp.
type RecordState struct {
	Exists    bool                       `json:"exists"`
	Fields    map[string]json.RawMessage `json:"fields"`
	Stamps    map[string]string          `json:"stamps"`
	Deleted   bool                       `json:"deleted,omitempty"`
	DeletedAt string                     `json:"deleted_at,omitempty"` // HLC of the delete
}

// Clone returns a deep copy of s (maps and values), never nil maps.
func (s RecordState) Clone() RecordState {
	n := RecordState{Exists: s.Exists, Deleted: s.Deleted, DeletedAt: s.DeletedAt,
		Fields: make(map[string]json.RawMessage, len(s.Fields)), Stamps: make(map[string]string, len(s.Stamps))}
	for k, v := range s.Fields {
		n.Fields[k] = bytes.Clone(v)
	}
	for k, v := range s.Stamps {
		n.Stamps[k] = v
	}
	return n
}

// Equal reports whether s and o are the same record state: flags and stamps exactly, field
// values as JSON values (EqualJSON), a nil map equal to an empty one.
func (s RecordState) Equal(o RecordState) bool {
	if s.Exists != o.Exists || s.Deleted != o.Deleted || s.DeletedAt != o.DeletedAt ||
		len(s.Fields) != len(o.Fields) || len(s.Stamps) != len(o.Stamps) {
		return false
	}
	for k, v := range s.Stamps {
		if w, ok := o.Stamps[k]; !ok || w != v {
			return false
		}
	}
	for k, v := range s.Fields {
		if w, ok := o.Fields[k]; !ok || !EqualJSON(v, w) {
			return false
		}
	}
	return true
}

// Rejection codes, stable across versions.
const (
	CodeUnknownField     = "sync.unknown_field"
	CodeBadValue         = "sync.bad_value"
	CodeServerOwned      = "sync.server_owned_field"
	CodeImmutable        = "sync.immutable_field"
	CodeMissingField     = "sync.missing_field"
	CodeBadTransition    = "sync.bad_transition"
	CodeReadOnly         = "sync.read_only"
	CodeAppendOnly       = "sync.append_only"
	CodeExists           = "sync.already_exists"
	CodeNotFound         = "sync.not_found"
	CodeDeleted          = "sync.record_deleted"
	CodeDeleteConflict   = "sync.delete_conflict"
	CodeBadOp            = "sync.bad_op"
	CodeBadHLC           = "sync.bad_hlc"
	CodeNotDeletable     = "sync.not_deletable"
	CodeUnknownColl      = "sync.unknown_collection"
	CodeForbidden        = "sync.forbidden"
	CodeMutationIDReused = "sync.mutation_id_reused"
	CodeInvalid          = "sync.invalid"
)

// Rejection is a refused mutation: a stable code and a Chinese message.
type Rejection struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (r *Rejection) Error() string { return r.Code + ": " + r.Message }

func reject(code, format string, args ...any) *Rejection {
	return &Rejection{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Merge applies mutation m to the current state cur under the collection's rules and returns
// the next state and whether every field took as sent (applied) or the rules kept or combined
// something (merged). Both sides run it: the server to decide, the device to show its pending
// changes on top of the server's state.
//
// Merge is a pure function: it never mutates cur or m, its result shares no memory with them,
// and the same inputs give the same answer (fields are checked in name order, so the first
// bad field reported is always the same). A rejection returns cur itself as next: nothing of
// the change is in. A field's stamp is the HLC of the write that set its value; m.HLC must be
// a canonical stamp (see ParseHLC). On the server, pass it through Clock.Stamp first.
//
// Order of checks: the stamp, read-only collections, then per operation — create: tombstone,
// existing record (a replayed create merges like an update, except on append-only
// collections), required fields, each field; update: tombstone, existence, append-only, each
// field; delete: append-only, deletable, tombstone (deleting again is a no-op), existence,
// later edits.
func Merge(spec *CollectionSpec, cur RecordState, m Mutation) (next RecordState, merged bool, rej *Rejection) {
	if spec == nil {
		return cur, false, reject(CodeUnknownColl, "未知的数据类型“%s”", m.Collection)
	}
	stamp, err := ParseHLC(m.HLC)
	if err != nil {
		return cur, false, reject(CodeBadHLC, "修改的时间戳无效")
	}
	if spec.ReadOnly {
		return cur, false, reject(CodeReadOnly, "“%s”在移动端只读，不能修改", spec.Name)
	}
	switch m.Op {
	case OpCreate:
		if cur.Deleted {
			return cur, false, reject(CodeDeleted, "该记录已被删除")
		}
		if cur.Exists {
			if spec.AppendOnly {
				return cur, false, reject(CodeExists, "记录已存在")
			}
			// A replayed create of the same record merges like an update would: stale
			// fields lose, and immutable fields must match.
			return mergeUpdate(spec, cur, m, stamp)
		}
		return mergeCreate(spec, cur, m)
	case OpUpdate:
		if cur.Deleted {
			return cur, false, reject(CodeDeleted, "该记录已被删除，修改未保存")
		}
		if !cur.Exists {
			return cur, false, reject(CodeNotFound, "记录不存在")
		}
		if spec.AppendOnly {
			return cur, false, reject(CodeAppendOnly, "“%s”只能新增，不能修改", spec.Name)
		}
		return mergeUpdate(spec, cur, m, stamp)
	case OpDelete:
		if spec.AppendOnly {
			return cur, false, reject(CodeAppendOnly, "“%s”只能新增，不能删除", spec.Name)
		}
		if !spec.Deletable {
			return cur, false, reject(CodeNotDeletable, "“%s”不能删除", spec.Name)
		}
		if cur.Deleted {
			return cur.Clone(), false, nil // deleting again changes nothing
		}
		if !cur.Exists {
			return cur, false, reject(CodeNotFound, "记录不存在")
		}
		// A delete never silently beats a later edit: if any field was written after the
		// delete's stamp, the delete is refused and the user decides again.
		for _, name := range sortedKeys(cur.Stamps) {
			if s, err := ParseHLC(cur.Stamps[name]); err == nil && s.Compare(stamp) > 0 {
				return cur, false, reject(CodeDeleteConflict, "该记录在您删除之后被他人修改，未删除；请查看最新内容后再决定")
			}
		}
		next = cur.Clone()
		next.Deleted, next.DeletedAt = true, m.HLC
		return next, false, nil
	}
	return cur, false, reject(CodeBadOp, "未知的操作“%s”", m.Op)
}

func mergeCreate(spec *CollectionSpec, cur RecordState, m Mutation) (RecordState, bool, *Rejection) {
	for _, f := range spec.Fields {
		if !f.Required || f.Rule == ServerOwned {
			continue
		}
		if v, ok := m.Fields[f.Name]; !ok || isNull(v) {
			return cur, false, reject(CodeMissingField, "缺少必填字段“%s”", f.Name)
		}
	}
	names := sortedKeys(m.Fields)
	specs := make([]FieldSpec, len(names))
	for i, name := range names {
		v := m.Fields[name]
		f, rej := writable(spec, name, v)
		if rej != nil {
			return cur, false, rej
		}
		if rej := checkBase(f, m.Base[name]); rej != nil {
			return cur, false, rej
		}
		if f.Rule == State && f.Machine.Initial != "" {
			s := stringValue(v)
			if !f.Machine.Allowed(f.Machine.Initial, s) {
				return cur, false, reject(CodeBadTransition, "新记录的状态不能是“%s”", s)
			}
		}
		specs[i] = f
	}
	next := cur.Clone()
	next.Exists = true
	for i, name := range names {
		v := m.Fields[name]
		if specs[i].Rule == Set {
			next.Fields[name] = setValue(v)
		} else {
			next.Fields[name] = canonical(v)
		}
		next.Stamps[name] = m.HLC
	}
	// A state field left out starts in the machine's initial state.
	for _, f := range spec.Fields {
		if _, given := m.Fields[f.Name]; !given && f.Rule == State && f.Machine != nil && f.Machine.Initial != "" {
			next.Fields[f.Name] = mustMarshal(f.Machine.Initial)
			next.Stamps[f.Name] = m.HLC
		}
	}
	return next, false, nil
}

func mergeUpdate(spec *CollectionSpec, cur RecordState, m Mutation, stamp HLC) (RecordState, bool, *Rejection) {
	names := sortedKeys(m.Fields)
	// Check every field first: a rejection keeps nothing of the change.
	specs := make([]FieldSpec, len(names))
	for i, name := range names {
		v := m.Fields[name]
		f, rej := writable(spec, name, v)
		if rej != nil {
			return cur, false, rej
		}
		if rej := checkBase(f, m.Base[name]); rej != nil {
			return cur, false, rej
		}
		old, had := cur.Fields[name]
		switch f.Rule {
		case Immutable:
			if !had || !EqualJSON(old, v) {
				return cur, false, reject(CodeImmutable, "字段“%s”创建后不能修改", name)
			}
		case State:
			from, to := currentState(f.Machine, old, had), stringValue(v)
			if from != to && from != "" && !f.Machine.Allowed(from, to) && !superseded(f.Machine, from, to) {
				return cur, false, reject(CodeBadTransition, "状态不能从“%s”变为“%s”", from, to)
			}
		}
		specs[i] = f
	}
	next := cur.Clone()
	merged := false
	for i, name := range names {
		f, v := specs[i], m.Fields[name]
		old, had := cur.Fields[name]
		switch f.Rule {
		case Immutable:
			// Same value as stored: nothing to do.
		case State:
			mc := f.Machine
			from, to := currentState(mc, old, had), stringValue(v)
			switch {
			case from == to && had && stringValue(old) == to:
			case from == to || from == "" || mc.Allowed(from, to):
				next.Fields[name] = canonical(v)
				next.Stamps[name] = maxStamp(cur.Stamps[name], m.HLC)
			default: // superseded: the record has moved past the device's state; keep it.
				merged = true
			}
		case Set:
			out := mergeSet(old, v, m.Base[name])
			if !EqualJSON(out, setValue(v)) {
				merged = true
			}
			next.Fields[name] = out
			next.Stamps[name] = maxStamp(cur.Stamps[name], m.HLC)
		default: // LWW
			prev := cur.Stamps[name]
			if prev == "" || later(stamp, prev) {
				next.Fields[name], next.Stamps[name] = canonical(v), m.HLC
			} else if !EqualJSON(old, v) {
				merged = true
			}
		}
	}
	return next, merged, nil
}

// currentState is the record's state: the stored one, or the initial state when the field is
// missing or not a string.
func currentState(m *StateMachine, old json.RawMessage, had bool) string {
	if s := stringValue(old); had && s != "" {
		return s
	}
	return m.Initial
}

// superseded reports whether a device's move to "to" is behind the record's state "from" on
// the same path: "to" ranks lower and the record can reach "from" from it.
func superseded(m *StateMachine, from, to string) bool {
	return m.Rank(to) >= 0 && m.Rank(to) < m.Rank(from) && m.Reachable(to, from)
}

// writable checks that a client may write the field and that its value has the right type.
func writable(spec *CollectionSpec, name string, v json.RawMessage) (FieldSpec, *Rejection) {
	f, ok := spec.Field(name)
	if !ok {
		return f, reject(CodeUnknownField, "未知字段“%s”", name)
	}
	if f.Rule == ServerOwned {
		return f, reject(CodeServerOwned, "字段“%s”由服务器维护，不能修改", name)
	}
	if f.Required && isNull(v) {
		return f, reject(CodeMissingField, "必填字段“%s”不能为空", name)
	}
	if err := checkType(f, v); err != "" {
		return f, reject(CodeBadValue, "字段“%s”%s", name, err)
	}
	if f.Rule == State {
		s := stringValue(v)
		if f.Machine == nil || f.Machine.Rank(s) < 0 {
			return f, reject(CodeBadValue, "字段“%s”的状态“%s”未定义", name, s)
		}
	}
	return f, nil
}

// checkBase checks the base a device sent for a set field: absent, null or an array of strings.
func checkBase(f FieldSpec, base json.RawMessage) *Rejection {
	if base == nil || f.Rule != Set || isNull(base) {
		return nil
	}
	if err := checkType(FieldSpec{Type: TypeArray, Rule: Set}, base); err != "" {
		return reject(CodeBadValue, "字段“%s”的原值%s", f.Name, err)
	}
	return nil
}

func checkType(f FieldSpec, v json.RawMessage) string {
	x, ok := decode(v)
	if !ok {
		if len(bytes.TrimSpace(v)) == 0 {
			return "不能为空"
		}
		return "不是合法的 JSON"
	}
	if x == nil {
		if f.Rule == State || f.Rule == Set {
			return "不能为 null"
		}
		return ""
	}
	typ := f.Type
	switch f.Rule {
	case State:
		typ = TypeString
	case Set:
		typ = TypeArray
	}
	ok = false
	switch typ {
	case TypeString:
		_, ok = x.(string)
	case TypeTime:
		if s, isStr := x.(string); isStr {
			_, err := time.Parse(time.RFC3339Nano, s)
			ok = err == nil
		}
	case TypeNumber:
		if n, isNum := x.(json.Number); isNum {
			if _, err := strconv.ParseFloat(n.String(), 64); err != nil {
				return "超出数值范围"
			}
			ok = true
		}
	case TypeBool:
		_, ok = x.(bool)
	case TypeObject:
		_, ok = x.(map[string]any)
	case TypeArray:
		arr, isArr := x.([]any)
		ok = isArr
		if f.Rule == Set {
			for _, e := range arr {
				if _, s := e.(string); !s {
					return "只能包含字符串"
				}
			}
		}
	default:
		ok = true
	}
	if !ok {
		return "的类型应为 " + typ
	}
	return ""
}

// mergeSet combines the server's set with the device's change: elements the device added
// (value − base) are added, elements it removed (base − value) are removed, everything else
// stays as the server has it. The result is sorted and without duplicates.
func mergeSet(server, value, base json.RawMessage) json.RawMessage {
	s, v, b := stringsOf(server), stringsOf(value), stringsOf(base)
	inBase := make(map[string]bool, len(b))
	for _, e := range b {
		inBase[e] = true
	}
	inValue := make(map[string]bool, len(v))
	for _, e := range v {
		inValue[e] = true
	}
	out := []string{}
	for _, e := range s {
		if !inBase[e] || inValue[e] { // not removed by the device
			out = append(out, e)
		}
	}
	for _, e := range v {
		if !inBase[e] { // added by the device
			out = append(out, e)
		}
	}
	return marshalSet(out)
}

// setValue is a set value sorted and without duplicates.
func setValue(v json.RawMessage) json.RawMessage { return marshalSet(stringsOf(v)) }

func marshalSet(s []string) json.RawMessage {
	s = slices.Clone(s)
	sort.Strings(s)
	s = slices.Compact(s)
	if s == nil {
		s = []string{}
	}
	return canonical(mustMarshal(s))
}

// stringsOf reads a JSON array's string elements (nothing for anything else).
func stringsOf(v json.RawMessage) []string {
	x, _ := decode(v)
	arr, _ := x.([]any)
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func stringValue(v json.RawMessage) string {
	x, _ := decode(v)
	s, _ := x.(string)
	return s
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

func later(a HLC, b string) bool {
	pb, err := ParseHLC(b)
	if err != nil {
		return true
	}
	return a.Compare(pb) > 0
}

// maxStamp is the later of two stamps (an unparseable a loses).
func maxStamp(a, b string) string {
	pb, err := ParseHLC(b)
	if a == "" || (err == nil && later(pb, a)) {
		return b
	}
	return a
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// decode reads one JSON value, keeping numbers as written (json.Number).
func decode(v json.RawMessage) (any, bool) {
	if x, _, ok := scalar(v); ok {
		return x, true
	}
	if !json.Valid(v) {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return nil, false
	}
	return x, true
}

func mustMarshal(x any) []byte {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(x); err != nil {
		panic(err) // only values decode produced get here
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// canonical re-encodes a JSON value compactly with object keys sorted and numbers as written,
// so equal values compare equal as bytes. It returns a copy of v when v is not valid JSON.
func canonical(v json.RawMessage) json.RawMessage {
	if _, lit, ok := scalar(v); ok {
		return append(json.RawMessage(nil), lit...)
	}
	x, ok := decode(v)
	if !ok {
		return bytes.Clone(v)
	}
	return mustMarshal(x)
}

// EqualJSON reports whether a and b hold the same JSON value: object keys in any order,
// insignificant space ignored, numbers compared by value (1 equals 1.0; integers exactly at
// any size). An empty value counts as null; invalid JSON equals only the same bytes.
func EqualJSON(a, b json.RawMessage) bool {
	if len(bytes.TrimSpace(a)) == 0 {
		a = json.RawMessage("null")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = json.RawMessage("null")
	}
	x, okx := decode(a)
	y, oky := decode(b)
	if !okx || !oky {
		return bytes.Equal(a, b)
	}
	return equalValue(x, y)
}

func equalValue(x, y any) bool {
	switch x := x.(type) {
	case nil:
		return y == nil
	case bool, string:
		return x == y
	case json.Number:
		n, ok := y.(json.Number)
		return ok && equalNumber(x.String(), n.String())
	case []any:
		ys, ok := y.([]any)
		if !ok || len(x) != len(ys) {
			return false
		}
		for i := range x {
			if !equalValue(x[i], ys[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		ym, ok := y.(map[string]any)
		if !ok || len(x) != len(ym) {
			return false
		}
		for k, v := range x {
			w, ok := ym[k]
			if !ok || !equalValue(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

func equalNumber(a, b string) bool {
	if a == b {
		return true
	}
	isInt := func(s string) bool { return !strings.ContainsAny(s, ".eE") }
	if isInt(a) && isInt(b) {
		x, okx := new(big.Int).SetString(a, 10)
		y, oky := new(big.Int).SetString(b, 10)
		return okx && oky && x.Cmp(y) == 0
	}
	x, errx := strconv.ParseFloat(a, 64)
	y, erry := strconv.ParseFloat(b, 64)
	return errx == nil && erry == nil && x == y
}
