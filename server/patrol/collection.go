package patrol

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/yingji/yingji/server/mediasvc"
	"github.com/yingji/yingji/server/risk/qrtoken"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Flags of an implausible patrol (弄虚作假).
const (
	FlagFar     = "far_from_point"
	FlagTooFast = "too_fast"
	// FlagForgedQR: the scanned code is not one the server signed for this risk point.
	FlagForgedQR = "qr_forged"
	// FlagStaleQR: the code was revoked by a later re-issue (an old label still on the wall).
	FlagStaleQR = "qr_stale"
)

var spec = &syncproto.CollectionSpec{
	Name:       "patrols",
	AppendOnly: true,
	Fields: []syncproto.FieldSpec{
		{Name: "risk_point_id", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "checklist_id", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "qr_token", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "started_at", Type: syncproto.TypeTime, Rule: syncproto.Immutable, Required: true},
		{Name: "finished_at", Type: syncproto.TypeTime, Rule: syncproto.Immutable, Required: true},
		{Name: "location", Type: syncproto.TypeObject, Rule: syncproto.Immutable},
		{Name: "items", Type: syncproto.TypeArray, Rule: syncproto.Immutable, Required: true},
		{Name: "enterprise_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "patrolled_by", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "received_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "distance_m", Type: syncproto.TypeNumber, Rule: syncproto.ServerOwned},
		{Name: "flags", Type: syncproto.TypeArray, Rule: syncproto.ServerOwned},
	},
}

// Item is one measure checked on a patrol.
type Item struct {
	MeasureID  string   `json:"measure_id"`
	Controlled bool     `json:"controlled"`
	Note       string   `json:"note"`
	Photos     []string `json:"photos"`
}

// Location is a WGS84 position.
type Location struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// Measure is a control measure of a risk point.
type Measure struct {
	ID             string `json:"id"`
	Kind           string `json:"kind"`
	Text           string `json:"text"`
	HazardTemplate *struct {
		Title string `json:"title"`
		Level string `json:"level"`
	} `json:"hazard_template"`
}

// RiskPoint is what patrols need of a risk point (table risk_points).
type RiskPoint struct {
	ID, EnterpriseID, OrgPath, Code, Name string
	Location                              *Location
	Measures                              []Measure
	QRVersion                             int
}

// LoadRiskPoint reads a risk point; yingji.ErrNotFound when absent.
func LoadRiskPoint(ctx context.Context, q sqldb.Querier, id string) (*RiskPoint, error) {
	return syncsvc.Cached(ctx, "risk_point:"+id, func() (*RiskPoint, error) {
		rp := &RiskPoint{ID: id}
		var loc, ms string
		err := q.QueryRow(ctx, `SELECT enterprise_id, org_path, code, name, location, measures, qr_version FROM risk_points WHERE id = $1`, id).
			Scan(&rp.EnterpriseID, &rp.OrgPath, &rp.Code, &rp.Name, &loc, &ms, &rp.QRVersion)
		if err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(loc), &rp.Location)
		json.Unmarshal([]byte(ms), &rp.Measures)
		return rp, nil
	})
}

// Collection is the patrols collection.
type Collection struct {
	syncsvc.Table
	Sync *syncsvc.Service
	Now  func() time.Time
	// FarMeters: a patrol farther from its risk point is flagged (default 500).
	FarMeters float64
	// MinPerItem: a patrol faster than this per checked measure is flagged (default 5 s).
	MinPerItem time.Duration
	// Penalty is the credit score lost per flag (default 5).
	Penalty int
	// QRKey returns the public key risk point QR codes are signed with (nil: codes unchecked).
	QRKey func() ed25519.PublicKey
}

// NewCollection returns the patrols collection; sync records the hazards a patrol raises.
func NewCollection(sync *syncsvc.Service) *Collection {
	c := &Collection{Sync: sync, Now: time.Now, FarMeters: 500, MinPerItem: 5 * time.Second, Penalty: 5}
	c.Table = syncsvc.Table{Name: "patrols",
		Columns: []string{"risk_point_id", "checklist_id", "qr_token", "started_at", "finished_at", "location", "items",
			"enterprise_id", "patrolled_by", "received_at", "distance_m", "flags"},
		JSON: map[string]bool{"location": true, "items": true, "distance_m": true, "flags": true},
		Extra: func(ctx context.Context, q sqldb.Querier, f syncsvc.Fields) (map[string]any, error) {
			rp, err := c.point(ctx, q, syncsvc.Str(f, "risk_point_id"))
			if err != nil {
				return nil, err
			}
			fin, _ := time.Parse(time.RFC3339, syncsvc.Str(f, "finished_at"))
			return map[string]any{"org_path": rp.OrgPath, "finished_utc": fin.UTC(), "created_at": c.Now().UTC()}, nil
		}}
	return c
}

func (c *Collection) Spec() *syncproto.CollectionSpec { return spec }

func (c *Collection) point(ctx context.Context, q sqldb.Querier, id string) (*RiskPoint, error) {
	rp, err := LoadRiskPoint(ctx, q, id)
	if errors.Is(err, yingji.ErrNotFound) {
		return nil, syncsvc.Rejected(syncproto.CodeInvalid, "风险点不存在")
	}
	return rp, err
}

func (c *Collection) Place(ctx context.Context, q sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	rp, err := c.point(ctx, q, syncsvc.Str(f, "risk_point_id"))
	if err != nil {
		return syncsvc.Place{}, err
	}
	return syncsvc.Place{OrgPath: rp.OrgPath, EnterpriseID: rp.EnterpriseID}, nil
}

var writers = []yingji.Role{yingji.RoleCityAdmin, yingji.RoleDistrictAdmin, yingji.RoleTownshipAdmin, yingji.RoleDutyOfficer,
	yingji.RoleGridWorker, yingji.RoleSafetyOfficer, yingji.RoleEnterprisePrincipal}

// Authorize lets patrolling roles record patrols of risk points in their scope.
func (c *Collection) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	if !slices.Contains(writers, a.Role) {
		return syncsvc.Rejected(syncproto.CodeForbidden, "您的角色不能记录巡查")
	}
	var f syncsvc.Fields = m.Fields
	if cur != nil {
		f = cur
	}
	rp, err := c.point(ctx, q, syncsvc.Str(f, "risk_point_id"))
	if err != nil {
		return err
	}
	if !a.CanReadEnterprise(rp.EnterpriseID, rp.OrgPath) {
		return syncsvc.Rejected(syncproto.CodeForbidden, "该风险点不在您的管辖范围内，不能记录巡查")
	}
	return nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Prepare validates a new patrol and fills its server-owned fields: who, when received, the
// distance from the risk point and the flags of an implausible patrol.
func (c *Collection) Prepare(ctx context.Context, q sqldb.Querier, a *yingji.Actor, f syncsvc.Fields, created bool) error {
	bad := func(msg string) error { return syncsvc.Rejected(syncproto.CodeBadValue, msg) }
	rp, err := c.point(ctx, q, syncsvc.Str(f, "risk_point_id"))
	if err != nil {
		return err
	}
	for k, v := range map[string]string{"checklist_id": "", "qr_token": ""} {
		if _, ok := f[k]; !ok {
			f[k] = syncsvc.JSON(v)
		}
	}
	if len(syncsvc.Str(f, "qr_token")) > 2000 {
		return bad("二维码内容过长")
	}
	if cl := syncsvc.Str(f, "checklist_id"); cl != "" {
		var ent string
		err := q.QueryRow(ctx, `SELECT enterprise_id FROM checklists WHERE id = $1`, cl).Scan(&ent)
		if errors.Is(err, yingji.ErrNotFound) || (err == nil && ent != rp.EnterpriseID) {
			return bad("巡查清单不存在或不属于该风险点的企业")
		} else if err != nil {
			return err
		}
	}
	start, err1 := time.Parse(time.RFC3339, syncsvc.Str(f, "started_at"))
	fin, err2 := time.Parse(time.RFC3339, syncsvc.Str(f, "finished_at"))
	if err1 != nil || err2 != nil {
		return bad("巡查开始、结束时间应为 RFC 3339 格式，如 2026-11-28T08:00:00+08:00")
	}
	if fin.Before(start) {
		return bad("巡查结束时间不能早于开始时间")
	}
	if st := syncsvc.StepOf(ctx); st != nil && created {
		// The patrol happened when the device says, bounded like every field step (see
		// syncsvc.Step): a clock ahead cannot finish it after the server received it, nor one
		// far behind more than syncsvc.MaxOffline before.
		if b := st.Set(fin); !b.Equal(fin) {
			start = start.Add(b.Sub(fin))
			fin = b
			f["started_at"] = syncsvc.JSON(start.UTC().Format(time.RFC3339))
			f["finished_at"] = syncsvc.JSON(fin.UTC().Format(time.RFC3339))
		}
	}
	var items []Item
	if err := json.Unmarshal(f["items"], &items); err != nil || len(items) == 0 {
		return bad("巡查记录须至少包含一项措施的检查结果：[{measure_id, controlled, note, photos}]")
	}
	seen := map[string]bool{}
	for i := range items {
		it := &items[i]
		if !slices.ContainsFunc(rp.Measures, func(m Measure) bool { return m.ID == it.MeasureID }) {
			return bad(fmt.Sprintf("措施“%s”不属于风险点“%s”", it.MeasureID, rp.Name))
		}
		if seen[it.MeasureID] {
			return bad("同一措施在一次巡查中只能记录一次")
		}
		seen[it.MeasureID] = true
		if len([]rune(it.Note)) > 2000 {
			return bad("检查说明不超过 2000 个字")
		}
		if it.Photos == nil {
			it.Photos = []string{}
		}
		for _, p := range it.Photos {
			if !sha256Hex.MatchString(p) {
				return bad("照片应以其 SHA-256 十六进制摘要引用")
			}
		}
	}
	f["items"] = syncsvc.JSON(items)
	var loc *Location
	if raw := f["location"]; len(raw) > 0 && string(raw) != "null" {
		var l struct{ Lat, Lng *float64 }
		if json.Unmarshal(raw, &l) != nil || l.Lat == nil || l.Lng == nil || *l.Lat < -90 || *l.Lat > 90 || *l.Lng < -180 || *l.Lng > 180 {
			return bad("位置应为 {\"lat\": 纬度, \"lng\": 经度}（WGS84）")
		}
		loc = &Location{*l.Lat, *l.Lng}
	}
	f["location"] = syncsvc.JSON(loc)
	if !created {
		return nil
	}
	f["enterprise_id"] = syncsvc.JSON(rp.EnterpriseID)
	f["patrolled_by"] = syncsvc.JSON(a.UserID)
	f["received_at"] = syncsvc.JSON(c.Now().UTC().Format(time.RFC3339))
	flags := []string{}
	var dist any
	if loc != nil && rp.Location != nil {
		d := math.Round(Haversine(*loc, *rp.Location))
		dist = d
		if d > c.FarMeters {
			flags = append(flags, FlagFar)
		}
	}
	if fin.Sub(start) < time.Duration(len(items))*c.MinPerItem {
		flags = append(flags, FlagTooFast)
	}
	if tok := syncsvc.Str(f, "qr_token"); tok != "" && c.QRKey != nil {
		// A patrol is evidence: a bad code is flagged for review, never a reason to lose it.
		switch _, err := qrtoken.Verify(c.QRKey(), tok, rp.ID, rp.QRVersion); {
		case err == nil:
		case errors.Is(err, qrtoken.ErrStale):
			flags = append(flags, FlagStaleQR)
		default:
			flags = append(flags, FlagForgedQR)
		}
	}
	f["distance_m"] = syncsvc.JSON(dist)
	f["flags"] = syncsvc.JSON(flags)
	return nil
}

// Haversine is the great-circle distance in metres between two WGS84 points.
func Haversine(a, b Location) float64 {
	const r = 6371008.8 // mean earth radius
	rad := math.Pi / 180
	dLat, dLng := (b.Lat-a.Lat)*rad, (b.Lng-a.Lng)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}

// hazardNS names the hazards derived from patrol items.
var hazardNS = uuid.MustParse("6f1d3c1e-7a52-4c8e-9b0e-3f1a2d5c8e71")

// HazardID is the id of the hazard a patrol item raises: the same item always gives the same id.
func HazardID(patrolID, measureID string) string {
	return uuid.NewSHA1(hazardNS, []byte(patrolID+"/"+measureID)).String()
}

// Save writes the patrol, its media references, the hazards its uncontrolled measures raise
// and its flags' effect on the enterprise's credit, all in the push's transaction.
func (c *Collection) Save(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields, created, deleted bool) error {
	if !created || deleted {
		return syncsvc.Rejected(syncproto.CodeAppendOnly, "巡查记录只能新增，不能修改或删除")
	}
	if err := c.Table.Save(ctx, q, id, f, created, deleted); err != nil {
		return err
	}
	rp, err := c.point(ctx, q, syncsvc.Str(f, "risk_point_id"))
	if err != nil {
		return err
	}
	var items []Item
	json.Unmarshal(f["items"], &items)
	refs := mediasvc.Refs{Collection: spec.Name, RecordID: id, OrgPath: rp.OrgPath, EnterpriseID: rp.EnterpriseID}
	for _, it := range items {
		refs.SHA256s = append(refs.SHA256s, it.Photos...)
	}
	if err := mediasvc.SetRefs(ctx, q, refs); err != nil {
		return err
	}
	if err := c.raiseHazards(ctx, q, id, rp, f, items); err != nil {
		return err
	}
	var flags []string
	json.Unmarshal(f["flags"], &flags)
	return c.penalize(ctx, q, id, rp, f, flags)
}

func (c *Collection) raiseHazards(ctx context.Context, q sqldb.Querier, id string, rp *RiskPoint, f syncsvc.Fields, items []Item) error {
	var created []string
	now := c.Now().UTC()
	loc := string(f["location"])
	if loc == "" {
		loc = "null"
	}
	for _, it := range items {
		if it.Controlled {
			continue
		}
		i := slices.IndexFunc(rp.Measures, func(m Measure) bool { return m.ID == it.MeasureID })
		if i < 0 || rp.Measures[i].HazardTemplate == nil {
			continue
		}
		tpl := rp.Measures[i].HazardTemplate
		title := tpl.Title
		if title == "" {
			title = rp.Measures[i].Text
		}
		title = truncate(title, 200)
		level := "general"
		if tpl.Level == "major" {
			level = "major"
		}
		hid := HazardID(id, it.MeasureID)
		photos, _ := json.Marshal(it.Photos)
		n, err := q.Exec(ctx, `INSERT INTO hazards (id, enterprise_id, org_path, title, description, level, status, photos,
			reported_by, reported_at, deadline, rectifier_id, location, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'reported', $7, $8, $9, '', '', $10, $11, $11)
			ON CONFLICT (id) DO NOTHING`,
			hid, rp.EnterpriseID, rp.OrgPath, title, truncate(it.Note, 5000), level, string(photos),
			syncsvc.Str(f, "patrolled_by"), syncsvc.Str(f, "finished_at"), loc, now)
		if err != nil {
			return fmt.Errorf("patrol: raise hazard: %w", err)
		}
		if n == 0 {
			continue
		}
		created = append(created, hid)
		if err := mediasvc.SetRefs(ctx, q, mediasvc.Refs{Collection: "hazards", RecordID: hid, OrgPath: rp.OrgPath,
			EnterpriseID: rp.EnterpriseID, SHA256s: it.Photos}); err != nil {
			return err
		}
	}
	if len(created) == 0 || c.Sync == nil {
		return nil
	}
	return c.Sync.Changed(ctx, q, "hazards", created...)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
