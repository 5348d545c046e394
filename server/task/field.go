package task

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/yingji/yingji/server/mediasvc"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Check-ins (队伍报到) and scene feedback (现场反馈): append-only records a member of the
// incident makes on his phone, usually offline. Their time "at" is when the person made them
// (the action time, from the phone's clock, bounded like every step by syncsvc.Step); the
// receipt time is kept beside it.

var checkinSpec = &syncproto.CollectionSpec{
	Name:       "checkins",
	AppendOnly: true,
	Fields: []syncproto.FieldSpec{
		{Name: "incident_id", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "location", Type: syncproto.TypeObject, Rule: syncproto.Immutable},
		{Name: "note", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "team_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "user_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "received_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
	},
}

var feedbackSpec = &syncproto.CollectionSpec{
	Name:       "feedback",
	AppendOnly: true,
	Fields: []syncproto.FieldSpec{
		{Name: "incident_id", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "task_id", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "text", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "photos", Type: syncproto.TypeArray, Rule: syncproto.Immutable},
		{Name: "videos", Type: syncproto.TypeArray, Rule: syncproto.Immutable},
		{Name: "location", Type: syncproto.TypeObject, Rule: syncproto.Immutable},
		{Name: "team_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "user_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "received_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
	},
}

// fieldRecords is what check-ins and feedback share.
type fieldRecords struct {
	syncsvc.Table
	spec *syncproto.CollectionSpec
	Now  func() time.Time
}

// Checkins is the check-ins collection.
type Checkins struct{ fieldRecords }

// Feedback is the scene feedback collection.
type Feedback struct{ fieldRecords }

func newFieldRecords(spec *syncproto.CollectionSpec, cols []string, json map[string]bool) fieldRecords {
	return fieldRecords{spec: spec, Now: time.Now, Table: syncsvc.Table{Name: spec.Name, Columns: cols, JSON: json,
		Extra: func(ctx context.Context, q sqldb.Querier, f syncsvc.Fields) (map[string]any, error) {
			inc, err := LoadIncident(ctx, q, syncsvc.Str(f, "incident_id"))
			if err != nil {
				return nil, err
			}
			return map[string]any{"org_path": inc.OrgPath, "created_at": time.Now().UTC()}, nil
		}}}
}

// NewCheckins returns the check-ins collection.
func NewCheckins() *Checkins {
	return &Checkins{newFieldRecords(checkinSpec, []string{"incident_id", "location", "note", "team_id", "user_id", "at", "received_at"},
		map[string]bool{"location": true})}
}

// NewFeedback returns the feedback collection.
func NewFeedback() *Feedback {
	return &Feedback{newFieldRecords(feedbackSpec, []string{"incident_id", "task_id", "text", "photos", "videos", "location", "team_id",
		"user_id", "at", "received_at"}, map[string]bool{"photos": true, "videos": true, "location": true})}
}

func (c *fieldRecords) Spec() *syncproto.CollectionSpec { return c.spec }

func (c *fieldRecords) Place(ctx context.Context, q sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	inc, err := LoadIncident(ctx, q, syncsvc.Str(f, "incident_id"))
	if err != nil {
		return syncsvc.Place{}, err
	}
	return place(inc, ""), nil
}

// Authorize lets the incident's members and commanders report from the scene while the
// response runs.
func (c *fieldRecords) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	inc, err := LoadIncident(ctx, q, syncsvc.Str(m.Fields, "incident_id"))
	if err != nil {
		return err
	}
	if Commander(a, inc) {
		return nil
	}
	ok, err := Member(ctx, q, inc.ID, a.UserID)
	if err != nil {
		return err
	}
	if !ok {
		if c.spec.Name == "checkins" {
			return syncsvc.Rejected(syncproto.CodeForbidden, "您不是该突发事件的处置人员，不能报到")
		}
		return syncsvc.Rejected(syncproto.CodeForbidden, "您不是该突发事件的处置人员，不能提交现场反馈")
	}
	return nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Prepare validates a new record and fills who made it, his team and when.
func (c *fieldRecords) Prepare(ctx context.Context, q sqldb.Querier, a *yingji.Actor, f syncsvc.Fields, created bool) error {
	bad := func(msg string) error { return syncsvc.Rejected(syncproto.CodeBadValue, msg) }
	if _, ok := f["location"]; !ok {
		f["location"] = json.RawMessage("null")
	}
	if string(f["location"]) != "null" {
		var l Location
		if err := json.Unmarshal(f["location"], &l); err != nil || !l.Valid() {
			return bad("位置应为 {lat, lng}（WGS84）")
		}
	}
	if c.spec.Name == "checkins" {
		if _, ok := f["note"]; !ok {
			f["note"] = syncsvc.JSON("")
		}
		if len([]rune(syncsvc.Str(f, "note"))) > 500 {
			return bad("报到备注不超过 500 个字")
		}
	} else {
		for _, k := range []string{"task_id", "text"} {
			if _, ok := f[k]; !ok {
				f[k] = syncsvc.JSON("")
			}
		}
		for _, k := range []string{"photos", "videos"} {
			if _, ok := f[k]; !ok || string(f[k]) == "null" {
				f[k] = json.RawMessage("[]")
			}
		}
		photos, videos := hashes(f, "photos"), hashes(f, "videos")
		text := strings.TrimSpace(syncsvc.Str(f, "text"))
		switch {
		case text == "" && len(photos) == 0 && len(videos) == 0:
			return syncsvc.Rejected(syncproto.CodeMissingField, "现场反馈须有文字、照片或视频")
		case len([]rune(text)) > 5000:
			return bad("反馈文字不超过 5000 个字")
		case len(photos) > 50 || len(videos) > 10:
			return bad("每条反馈最多 50 张照片、10 段视频")
		}
		for _, h := range append(photos, videos...) {
			if !sha256Hex.MatchString(h) {
				return bad("照片和视频应以其 SHA-256 十六进制摘要引用")
			}
		}
		if t := syncsvc.Str(f, "task_id"); t != "" {
			var inc string
			err := q.QueryRow(ctx, `SELECT incident_id FROM tasks WHERE id = $1`, t).Scan(&inc)
			if errors.Is(err, yingji.ErrNotFound) || (err == nil && inc != syncsvc.Str(f, "incident_id")) {
				return bad("所反馈的任务不存在或不属于该突发事件")
			} else if err != nil {
				return err
			}
		}
	}
	// Nothing at the scene happens before the incident was reported.
	if inc, err := LoadIncident(ctx, q, syncsvc.Str(f, "incident_id")); err == nil {
		syncsvc.StepOf(ctx).NotBefore(inc.ReportedAt)
	}
	at, received := syncsvc.StepTimes(ctx, c.Now())
	f["user_id"] = syncsvc.JSON(a.UserID)
	f["team_id"] = syncsvc.JSON(a.TeamID)
	f["at"] = syncsvc.JSON(fmtTime(at))
	f["received_at"] = syncsvc.JSON(fmtTime(received))
	return nil
}

func hashes(f syncsvc.Fields, name string) []string {
	var out []string
	json.Unmarshal(f[name], &out)
	return out
}

// Save writes feedback with the media references of its photos and videos, so the media
// service lets the incident's readers fetch them.
func (c *Feedback) Save(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields, created, deleted bool) error {
	if err := c.Table.Save(ctx, q, id, f, created, deleted); err != nil {
		return err
	}
	media := append(hashes(f, "photos"), hashes(f, "videos")...)
	if created && len(media) == 0 {
		return nil // new and without media: no references to replace (a round trip saved per item)
	}
	inc, err := LoadIncident(ctx, q, syncsvc.Str(f, "incident_id"))
	if err != nil {
		return err
	}
	return mediasvc.SetRefs(ctx, q, mediasvc.Refs{Collection: feedbackSpec.Name, RecordID: id, OrgPath: inc.OrgPath, IncidentID: inc.ID,
		SHA256s: media})
}
