// Package hazard holds hidden dangers (隐患): the first collection field phones write. This
// file declares its synced fields and their merge rules; the prevention module builds the
// rectification workflow on it.
package hazard

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"time"

	"github.com/yingji/yingji/server/mediasvc"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Statuses of a hazard, in order of progress. A submitted rectification sent back returns to
// rectifying.
var Machine = &syncproto.StateMachine{
	States:  []string{"reported", "assigned", "rectifying", "submitted", "accepted"},
	Initial: "reported",
	Transitions: map[string][]string{
		"reported":   {"assigned", "rectifying"},
		"assigned":   {"rectifying"},
		"rectifying": {"submitted"},
		"submitted":  {"accepted", "rectifying"},
	},
}

// Levels of a hazard: 一般隐患 and 重大隐患.
var Levels = []string{"general", "major"}

var spec = &syncproto.CollectionSpec{
	Name: "hazards",
	Fields: []syncproto.FieldSpec{
		{Name: "title", Type: syncproto.TypeString, Rule: syncproto.LWW, Required: true},
		{Name: "description", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "enterprise_id", Type: syncproto.TypeString, Rule: syncproto.LWW, Required: true},
		{Name: "level", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "status", Type: syncproto.TypeString, Rule: syncproto.State, Machine: Machine},
		{Name: "photos", Type: syncproto.TypeArray, Rule: syncproto.Set},
		{Name: "reported_by", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "reported_at", Type: syncproto.TypeTime, Rule: syncproto.Immutable},
		{Name: "deadline", Type: syncproto.TypeTime, Rule: syncproto.LWW},
		{Name: "rectifier_id", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "location", Type: syncproto.TypeObject, Rule: syncproto.LWW},
	},
}

// Collection is the hazards collection.
type Collection struct {
	syncsvc.Table
	Now func() time.Time
}

// NewCollection returns the hazards collection.
func NewCollection() *Collection {
	c := &Collection{Now: time.Now}
	c.Table = syncsvc.Table{Name: "hazards", Stamped: true, Deferred: true, // its code reads hazards by SQL only through Table
		Columns: []string{"title", "description", "enterprise_id", "level", "status", "photos", "reported_by", "reported_at", "deadline", "rectifier_id", "location"},
		JSON:    map[string]bool{"photos": true, "location": true},
		Extra: func(ctx context.Context, q sqldb.Querier, f syncsvc.Fields) (map[string]any, error) {
			path, err := enterprisePath(ctx, q, syncsvc.Str(f, "enterprise_id"))
			return map[string]any{"org_path": path}, err
		}}
	return c
}

func (c *Collection) Spec() *syncproto.CollectionSpec { return spec }

// Save writes the hazard and, in the same transaction, the media references of its photos, so
// that who may see a photo follows who may see the hazard at once.
func (c *Collection) Save(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields, created, deleted bool) error {
	if err := c.Table.Save(ctx, q, id, f, created, deleted); err != nil {
		return err
	}
	refs := mediasvc.Refs{Collection: spec.Name, RecordID: id}
	if !deleted {
		if err := json.Unmarshal(f["photos"], &refs.SHA256s); err != nil {
			refs.SHA256s = nil
		}
		if created && len(refs.SHA256s) == 0 {
			return nil // a new hazard without photos: no reference to set or clear
		}
		refs.EnterpriseID = syncsvc.Str(f, "enterprise_id")
		path, err := enterprisePath(ctx, q, refs.EnterpriseID)
		if err != nil {
			return err
		}
		refs.OrgPath = path
	}
	return mediasvc.SetRefs(ctx, q, refs)
}

func enterprisePath(ctx context.Context, q sqldb.Querier, id string) (string, error) {
	return syncsvc.Cached(ctx, "enterprise_path:"+id, func() (string, error) {
		var path string
		err := q.QueryRow(ctx, `SELECT org_path FROM enterprises WHERE id = $1`, id).Scan(&path)
		if errors.Is(err, yingji.ErrNotFound) {
			return "", syncsvc.Rejected(syncproto.CodeInvalid, "所属企业不存在")
		}
		return path, err
	})
}

func (c *Collection) Place(ctx context.Context, q sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	id := syncsvc.Str(f, "enterprise_id")
	path, err := enterprisePath(ctx, q, id)
	return syncsvc.Place{OrgPath: path, EnterpriseID: id}, err
}

var writers = []yingji.Role{yingji.RoleCityAdmin, yingji.RoleDistrictAdmin, yingji.RoleTownshipAdmin, yingji.RoleDutyOfficer,
	yingji.RoleGridWorker, yingji.RoleSafetyOfficer, yingji.RoleEnterprisePrincipal}

// Authorize lets the roles that report and rectify hazards write those of enterprises in
// their scope; moving a hazard needs both enterprises in scope.
func (c *Collection) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	if !slices.Contains(writers, a.Role) {
		return syncsvc.Rejected(syncproto.CodeForbidden, "您的角色不能上报或修改隐患")
	}
	check := func(id string) error {
		if id == "" {
			return nil
		}
		path, err := enterprisePath(ctx, q, id)
		if err != nil {
			return err
		}
		if !a.CanReadEnterprise(id, path) {
			return syncsvc.Rejected(syncproto.CodeForbidden, "该企业不在您的管辖范围内，不能上报或修改其隐患")
		}
		return nil
	}
	if cur != nil {
		if err := check(syncsvc.Str(cur, "enterprise_id")); err != nil {
			return err
		}
	}
	if _, ok := m.Fields["enterprise_id"]; ok {
		var id string
		json.Unmarshal(m.Fields["enterprise_id"], &id)
		if err := check(id); err != nil {
			return err
		}
	}
	return authorizeSteps(a, m, cur)
}

// authorizeSteps checks the role of each workflow step the change takes. A major level,
// before or in the change, counts.
func authorizeSteps(a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	if m.Op == syncproto.OpDelete {
		return nil
	}
	_, moves := m.Fields["status"]
	if cur != nil && !moves {
		return nil
	}
	level := syncsvc.Str(cur, "level")
	if l := syncsvc.Str(m.Fields, "level"); l == "major" {
		level = l
	}
	for _, step := range Transition(cur, syncsvc.Str(m.Fields, "status")) {
		if err := MayTake(a.Role, step, level); err != nil {
			return err
		}
	}
	return nil
}

// CheckChange checks that the hazard after the change holds what its step needs (see
// Requires). A change of a reported hazard was made no earlier than its report: its action
// time (syncsvc.Step, kept on the timeline) is raised to reported_at.
func (c *Collection) CheckChange(ctx context.Context, _ sqldb.Querier, _ *yingji.Actor, prev, next syncsvc.Fields) error {
	if st := syncsvc.StepOf(ctx); st != nil && prev != nil {
		if t, err := time.Parse(time.RFC3339, syncsvc.Str(prev, "reported_at")); err == nil {
			st.NotBefore(t)
		}
	}
	for _, step := range Transition(prev, syncsvc.Str(next, "status")) {
		if err := Requires(step, next); err != nil {
			return err
		}
	}
	return nil
}

// reportedAt is when a new hazard was reported: the time the device sent in reported_at, else
// the time of the mutation (syncsvc.Step); bounded either way (not after the server received
// it, not more than syncsvc.MaxOffline before). Outside a push it is now, unless given.
func reportedAt(ctx context.Context, f syncsvc.Fields, now time.Time) (string, error) {
	st := syncsvc.StepOf(ctx)
	given := syncsvc.Str(f, "reported_at")
	if given != "" {
		t, err := time.Parse(time.RFC3339, given)
		if err != nil {
			return "", syncsvc.Rejected(syncproto.CodeBadValue, "时间“reported_at”应为 RFC 3339 格式，如 2026-11-28T08:00:00+08:00")
		}
		if st == nil {
			return given, nil
		}
		st.Set(t)
	}
	if st == nil {
		return now.UTC().Format(time.RFC3339), nil
	}
	return st.At.Format(time.RFC3339), nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Prepare fills defaults of a new hazard and validates the record.
func (c *Collection) Prepare(ctx context.Context, q sqldb.Querier, a *yingji.Actor, f syncsvc.Fields, created bool) error {
	if created {
		f["reported_by"] = syncsvc.JSON(a.UserID)
		def := map[string]any{"status": Machine.Initial, "level": "general", "description": "", "photos": []string{},
			"deadline": "", "rectifier_id": "", "location": nil}
		for k, v := range def {
			if _, ok := f[k]; !ok {
				f[k] = syncsvc.JSON(v)
			}
		}
		at, err := reportedAt(ctx, f, c.Now())
		if err != nil {
			return err
		}
		f["reported_at"] = syncsvc.JSON(at)
	}
	bad := func(msg string) error { return syncsvc.Rejected(syncproto.CodeBadValue, msg) }
	if t := syncsvc.Str(f, "title"); t == "" || len([]rune(t)) > 200 {
		return bad("隐患标题不能为空，且不超过 200 个字")
	}
	if len([]rune(syncsvc.Str(f, "description"))) > 5000 {
		return bad("隐患描述不超过 5000 个字")
	}
	if !slices.Contains(Levels, syncsvc.Str(f, "level")) {
		return bad("隐患等级只能是 general（一般隐患）或 major（重大隐患）")
	}
	for _, name := range []string{"reported_at", "deadline"} {
		if v := syncsvc.Str(f, name); v != "" {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				return bad("时间“" + name + "”应为 RFC 3339 格式，如 2026-11-28T08:00:00+08:00")
			}
		}
	}
	var photos []string
	json.Unmarshal(f["photos"], &photos)
	for _, p := range photos {
		if !sha256Hex.MatchString(p) {
			return bad("照片应以其 SHA-256 十六进制摘要引用")
		}
	}
	if loc := f["location"]; len(loc) > 0 && string(loc) != "null" {
		var l struct {
			Lat *float64 `json:"lat"`
			Lng *float64 `json:"lng"`
		}
		if json.Unmarshal(loc, &l) != nil || l.Lat == nil || l.Lng == nil || *l.Lat < -90 || *l.Lat > 90 || *l.Lng < -180 || *l.Lng > 180 {
			return bad("位置应为 {\"lat\": 纬度, \"lng\": 经度}（WGS84）")
		}
	}
	_, err := enterprisePath(ctx, q, syncsvc.Str(f, "enterprise_id"))
	return err
}
