package patrol

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// PatrolRecord is a patrol record as the portal lists it (巡查记录).
type PatrolRecord struct {
	ID             string       `json:"id"`
	EnterpriseID   string       `json:"enterprise_id"`
	EnterpriseName string       `json:"enterprise_name"`
	OrgPath        string       `json:"org_path"`
	RiskPointID    string       `json:"risk_point_id"`
	RiskPointCode  string       `json:"risk_point_code"`
	RiskPointName  string       `json:"risk_point_name"`
	RiskLevel      string       `json:"risk_level"`
	ChecklistID    string       `json:"checklist_id"`
	ChecklistName  string       `json:"checklist_name"`
	StartedAt      string       `json:"started_at"`  // the phone's time, RFC 3339 with its offset
	FinishedAt     string       `json:"finished_at"` // the phone's time
	ReceivedAt     string       `json:"received_at"` // when the server received it
	PatrolledBy    string       `json:"patrolled_by"`
	PatrollerName  string       `json:"patroller_name"`
	Location       *Location    `json:"location"`
	DistanceM      *float64     `json:"distance_m"` // from the risk point; null without both positions
	Flags          []PatrolFlag `json:"flags"`
	ItemCount      int          `json:"item_count"`
	Uncontrolled   int          `json:"uncontrolled"` // measures found not controlled
	PhotoCount     int          `json:"photo_count"`
}

// PatrolFlag is a sign of an implausible patrol (弄虚作假) with its reason in Chinese.
type PatrolFlag struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// PatrolItem is one measure's result on a patrol, with the measure as the risk point now
// describes it (kind and text are empty when the measure was removed since).
type PatrolItem struct {
	MeasureID  string   `json:"measure_id"`
	Kind       string   `json:"kind"`
	Text       string   `json:"text"`
	Controlled bool     `json:"controlled"`
	Note       string   `json:"note"`
	Photos     []string `json:"photos"`    // SHA-256 of the photos (media endpoints)
	HazardID   string   `json:"hazard_id"` // the hazard the item raised, if any
}

// PatrolDetail is a patrol with each measure's result.
type PatrolDetail struct {
	PatrolRecord
	Items []PatrolItem `json:"items"`
}

// ListFilter selects patrols; From and To bound the finishing time ([From, To)).
type ListFilter struct {
	EnterpriseID, RiskPointID, ChecklistID string
	From, To                               *time.Time
	Flagged                                *bool // true: only flagged patrols; false: only clean ones
}

// FlagReason explains a flag in Chinese; distance is the patrol's distance from its point.
func FlagReason(code string, distance *float64) string {
	switch code {
	case FlagFar:
		if distance != nil {
			return fmt.Sprintf("巡查位置距风险点 %d 米，超出允许范围", int64(math.Round(*distance)))
		}
		return "巡查位置距风险点过远"
	case FlagTooFast:
		return "巡查用时过短，不足以逐项检查"
	case FlagForgedQR:
		return "扫描的二维码不是平台为该风险点签发的（疑似伪造）"
	case FlagStaleQR:
		return "扫描的二维码已因重新生成而作废（旧标签）"
	}
	return "异常：" + code
}

const recordCols = `p.id, p.enterprise_id, COALESCE(e.name, ''), p.org_path, p.risk_point_id, COALESCE(r.code, ''), COALESCE(r.name, ''),
	COALESCE(r.level, ''), p.checklist_id, COALESCE(c.name, ''), p.started_at, p.finished_at, p.received_at, p.patrolled_by,
	COALESCE(u.name, ''), p.location, p.distance_m, p.flags, p.items`

const recordFrom = ` FROM patrols p LEFT JOIN enterprises e ON e.id = p.enterprise_id LEFT JOIN risk_points r ON r.id = p.risk_point_id
	LEFT JOIN checklists c ON c.id = p.checklist_id LEFT JOIN users u ON u.id = p.patrolled_by`

func scanRecord(row sqldb.Rows) (PatrolDetail, error) {
	var d PatrolDetail
	var loc, dist, flags, items string
	err := row.Scan(&d.ID, &d.EnterpriseID, &d.EnterpriseName, &d.OrgPath, &d.RiskPointID, &d.RiskPointCode, &d.RiskPointName,
		&d.RiskLevel, &d.ChecklistID, &d.ChecklistName, &d.StartedAt, &d.FinishedAt, &d.ReceivedAt, &d.PatrolledBy,
		&d.PatrollerName, &loc, &dist, &flags, &items)
	if err != nil {
		return d, err
	}
	json.Unmarshal([]byte(loc), &d.Location)
	json.Unmarshal([]byte(dist), &d.DistanceM)
	var codes []string
	json.Unmarshal([]byte(flags), &codes)
	d.Flags = make([]PatrolFlag, len(codes))
	for i, c := range codes {
		d.Flags[i] = PatrolFlag{Code: c, Reason: FlagReason(c, d.DistanceM)}
	}
	var its []Item
	json.Unmarshal([]byte(items), &its)
	d.Items = make([]PatrolItem, len(its))
	for i, it := range its {
		if it.Photos == nil {
			it.Photos = []string{}
		}
		d.Items[i] = PatrolItem{MeasureID: it.MeasureID, Controlled: it.Controlled, Note: it.Note, Photos: it.Photos}
		if !it.Controlled {
			d.Uncontrolled++
		}
		d.PhotoCount += len(it.Photos)
	}
	d.ItemCount = len(its)
	return d, nil
}

// List returns a page of the patrols in the actor's scope, latest finished first.
func List(ctx context.Context, db sqldb.Querier, a *yingji.Actor, f ListFilter, p yingji.ListParams) (yingji.Page[PatrolRecord], error) {
	page := yingji.Page[PatrolRecord]{Items: []PatrolRecord{}}
	if err := a.Require(yingji.PermRiskRead); err != nil {
		return page, err
	}
	var w sqldb.Where
	sc := a.ReadScope()
	if sc.EnterpriseID != "" || sc.OrgPrefix == "" {
		w.Add("p.enterprise_id = ?", sc.EnterpriseID)
	} else {
		w.Prefix("p.org_path", sc.OrgPrefix)
	}
	if f.EnterpriseID != "" {
		w.Add("p.enterprise_id = ?", f.EnterpriseID)
	}
	if f.RiskPointID != "" {
		w.Add("p.risk_point_id = ?", f.RiskPointID)
	}
	if f.ChecklistID != "" {
		w.Add("p.checklist_id = ?", f.ChecklistID)
	}
	if f.From != nil {
		w.Add("p.finished_utc >= ?", f.From.UTC())
	}
	if f.To != nil {
		w.Add("p.finished_utc < ?", f.To.UTC())
	}
	if f.Flagged != nil {
		if *f.Flagged {
			w.Add("p.flags <> ?", "[]")
		} else {
			w.Add("p.flags = ?", "[]")
		}
	}
	order, err := p.OrderBy(map[string]string{"finished_at": "p.finished_utc", "received_at": "p.created_at"},
		"p.finished_utc DESC, p.id DESC")
	if err != nil {
		return page, err
	}
	if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM patrols p"+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, err
	}
	rows, err := db.Query(ctx, "SELECT "+recordCols+recordFrom+w.SQL()+" ORDER BY "+order+
		" LIMIT "+w.Next(p.PageSize)+" OFFSET "+w.Next(p.Offset()), w.Args...)
	items, err := sqldb.CollectRows(rows, err, scanRecord)
	if err != nil {
		return page, err
	}
	for _, d := range items {
		page.Items = append(page.Items, d.PatrolRecord)
	}
	return page, nil
}

// Get returns a patrol in the actor's scope with each measure's result.
func Get(ctx context.Context, db sqldb.Querier, a *yingji.Actor, id string) (PatrolDetail, error) {
	if err := a.Require(yingji.PermRiskRead); err != nil {
		return PatrolDetail{}, err
	}
	rows, err := db.Query(ctx, "SELECT "+recordCols+recordFrom+" WHERE p.id = $1", id)
	items, err := sqldb.CollectRows(rows, err, scanRecord)
	if err != nil {
		return PatrolDetail{}, err
	}
	if len(items) == 0 {
		return PatrolDetail{}, yingji.Errorf(yingji.ENOTFOUND, "patrol.not_found", "巡查记录不存在")
	}
	d := items[0]
	if !a.CanReadEnterprise(d.EnterpriseID, d.OrgPath) {
		return PatrolDetail{}, yingji.Forbidden("巡查记录")
	}
	var ms []Measure
	var raw string
	if err := db.QueryRow(ctx, `SELECT measures FROM risk_points WHERE id = $1`, d.RiskPointID).Scan(&raw); err == nil {
		json.Unmarshal([]byte(raw), &ms)
	}
	for i := range d.Items {
		it := &d.Items[i]
		for _, m := range ms {
			if m.ID == it.MeasureID {
				it.Kind, it.Text = m.Kind, m.Text
			}
		}
		if !it.Controlled {
			var n int
			hid := HazardID(d.ID, it.MeasureID)
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM hazards WHERE id = $1`, hid).Scan(&n); err != nil {
				return PatrolDetail{}, err
			}
			if n > 0 {
				it.HazardID = hid
			}
		}
	}
	return d, nil
}
