package syncproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// GoldenCase is one merge case of the shared golden files (syncproto/testdata/golden/*.json,
// each an array of cases). The server and the SDK run the same files:
//
//	cases, err := syncproto.LoadGolden("../syncproto/testdata/golden")
//	for _, c := range cases { t.Run(c.Name, func(t *testing.T) { if err := c.Check(); err != nil { t.Error(err) } }) }
//
// and a side that merges by other means (SQL, another language) compares its own answer with
// c.Want the same way Check does: Code exactly, Merged exactly, State with RecordState.Equal.
type GoldenCase struct {
	// File is the file the case came from (base name), for messages; not in the JSON.
	File     string         `json:"-"`
	Name     string         `json:"name"`
	Spec     CollectionSpec `json:"spec"`
	State    RecordState    `json:"state"`
	Mutation Mutation       `json:"mutation"`
	Want     GoldenWant     `json:"want"`
}

// GoldenWant is a case's expected answer. On a rejection State is the unchanged input state and
// Merged is false.
type GoldenWant struct {
	State  RecordState `json:"state"`
	Merged bool        `json:"merged"`
	Code   string      `json:"code"` // "" when accepted, else the rejection code
}

// LoadGolden reads every *.json file in dir, in name order, each an array of cases. Unknown
// keys, an invalid collection spec, a case without a name and a name used twice in a file are
// errors, and so is a directory without cases (most likely a wrong path).
func LoadGolden(dir string) ([]GoldenCase, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var all []GoldenCase
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		d := json.NewDecoder(bytes.NewReader(data))
		d.DisallowUnknownFields()
		var cases []GoldenCase
		if err := d.Decode(&cases); err != nil {
			return nil, fmt.Errorf("syncproto: golden %s: %w", path, err)
		}
		names := map[string]bool{}
		for i := range cases {
			c := &cases[i]
			c.File = filepath.Base(path)
			if c.Name == "" {
				return nil, fmt.Errorf("syncproto: golden %s: case %d has no name", path, i)
			}
			if names[c.Name] {
				return nil, fmt.Errorf("syncproto: golden %s: case %q appears twice", path, c.Name)
			}
			names[c.Name] = true
			if err := c.Spec.Validate(); err != nil {
				return nil, fmt.Errorf("syncproto: golden %s: case %q: %w", path, c.Name, err)
			}
		}
		all = append(all, cases...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("syncproto: no golden cases in %s", dir)
	}
	return all, nil
}

// Run merges the case with this package's Merge and returns the answer in the form of Want.
func (c GoldenCase) Run() GoldenWant {
	next, merged, rej := Merge(&c.Spec, c.State, c.Mutation)
	if rej != nil {
		return GoldenWant{State: c.State.Clone(), Code: rej.Code}
	}
	return GoldenWant{State: next, Merged: merged}
}

// Check runs the case and reports how the answer differs from Want. It also checks that Merge
// left its input unchanged and gives the same answer twice.
func (c GoldenCase) Check() error {
	before := c.State.Clone()
	beforeMut := cloneMutation(c.Mutation)
	got := c.Run()
	var errs []error
	if !c.State.Equal(before) || !sameMutation(c.Mutation, beforeMut) {
		errs = append(errs, errors.New("Merge changed its input"))
	}
	if again := c.Run(); again.Code != got.Code || again.Merged != got.Merged || !again.State.Equal(got.State) {
		errs = append(errs, errors.New("Merge is not deterministic"))
	}
	if got.Code != c.Want.Code {
		errs = append(errs, fmt.Errorf("code = %q, want %q", got.Code, c.Want.Code))
	}
	if got.Merged != c.Want.Merged {
		errs = append(errs, fmt.Errorf("merged = %v, want %v", got.Merged, c.Want.Merged))
	}
	if !got.State.Equal(c.Want.State) {
		errs = append(errs, fmt.Errorf("state =\n\t%s\nwant\n\t%s", show(got.State), show(c.Want.State)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %s: %w", c.File, c.Name, err)
	}
	return nil
}

func cloneMutation(m Mutation) Mutation {
	n := m
	n.Fields, n.Base = cloneRaw(m.Fields), cloneRaw(m.Base)
	return n
}

func cloneRaw(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	n := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		n[k] = bytes.Clone(v)
	}
	return n
}

// sameMutation reports whether a and b are byte for byte the same.
func sameMutation(a, b Mutation) bool {
	return a.MutationID == b.MutationID && a.Collection == b.Collection && a.ID == b.ID &&
		a.Op == b.Op && a.BaseSeq == b.BaseSeq && a.HLC == b.HLC &&
		sameRaw(a.Fields, b.Fields) && sameRaw(a.Base, b.Base)
}

func sameRaw(a, b map[string]json.RawMessage) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

func show(s RecordState) string {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%+v", s)
	}
	return string(b)
}
