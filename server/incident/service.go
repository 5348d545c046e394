package incident

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Objects of the incident module's audit entries.
const (
	ObjectIncident       = "incident"
	ObjectResponseAction = "response_action"
	ObjectMessage        = "incident_message"
)

// ok records a write that succeeded (audit.OK).
func (s *Service) ok(ctx context.Context, a *yingji.Actor, action, objType, id string, detail any) {
	audit.OK(ctx, s.Audit, a, action, objType, id, detail)
}

// deny records a refusal of action on the object and returns err: a permission or scope
// refusal, or one of the object's state (audit.Refused); other errors pass unrecorded.
func (s *Service) deny(ctx context.Context, a *yingji.Actor, action, objType, id string, err error) error {
	return audit.Refused(ctx, s.Audit, a, action, objType, id, err)
}

// ReadScope is the filter of the incidents an actor may read: his subtree (enterprise roles:
// their enterprise) and the incidents he is a member of.
func ReadScope(a *yingji.Actor) Filter {
	f := Filter{MemberID: a.UserID}
	if a.Role.ScopeKind() == yingji.ScopeEnterprise {
		f.EnterpriseID = a.EnterpriseID
		if f.EnterpriseID == "" {
			f.EnterpriseID = "\x00"
		}
	} else if a.Role.ScopeKind() == yingji.ScopeOrg {
		f.OrgPrefix = a.OrgPath
	}
	return f
}

// InScope reports whether the incident lies in the actor's data scope (not counting
// membership): his subtree, or his enterprise for enterprise roles.
func InScope(a *yingji.Actor, x Incident) bool {
	switch a.Role.ScopeKind() {
	case yingji.ScopeEnterprise:
		return a.EnterpriseID != "" && x.EnterpriseID == a.EnterpriseID
	case yingji.ScopeTeam:
		return false
	}
	return a.InSubtree(x.OrgPath)
}

// CanRead reports whether the actor may read the incident: in scope or a member.
func (s *Service) CanRead(ctx context.Context, q sqldb.Querier, a *yingji.Actor, x Incident) (bool, error) {
	if !a.Can(yingji.PermIncidentRead) {
		return false, nil
	}
	if InScope(a, x) {
		return true, nil
	}
	return s.IsMember(ctx, q, x.ID, a.UserID)
}

// Read returns an incident the actor may read.
func (s *Service) Read(ctx context.Context, a *yingji.Actor, id string) (Incident, error) {
	x, err := s.Get(ctx, s.DB, id)
	if err != nil {
		return x, err
	}
	ok, err := s.CanRead(ctx, s.DB, a, x)
	if err != nil {
		return x, err
	}
	if !ok {
		return Incident{}, s.deny(ctx, a, "incident.read", ObjectIncident, id, yingji.Forbidden("事件"))
	}
	return x, nil
}

// List lists the incidents the actor may read.
func (s *Service) List(ctx context.Context, a *yingji.Actor, f Filter, p yingji.ListParams) (yingji.Page[Incident], error) {
	if err := a.Require(yingji.PermIncidentRead); err != nil {
		return yingji.Page[Incident]{}, err
	}
	sc := ReadScope(a)
	f.OrgPrefix, f.EnterpriseID, f.MemberID, f.All = sc.OrgPrefix, sc.EnterpriseID, sc.MemberID, false
	if f.Status != "" && !slices.Contains(Statuses, f.Status) {
		return yingji.Page[Incident]{}, yingji.Invalid("incident.bad_filter", "status", "状态只能是 reported（已接报）、responding（响应中）或 terminated（已终止）")
	}
	for _, t := range []struct{ name, v string }{{"from", f.From}, {"to", f.To}} {
		if t.v != "" {
			tm, err := time.Parse(time.RFC3339, t.v)
			if err != nil {
				return yingji.Page[Incident]{}, yingji.Invalid("incident.bad_filter", t.name, "时间应为 RFC 3339 格式，如 2026-11-28T08:00:00+08:00")
			}
			if t.name == "from" {
				f.From = FormatTime(tm)
			} else {
				f.To = FormatTime(tm)
			}
		}
	}
	return s.ListIn(ctx, s.DB, f, p)
}

var casRe = regexp.MustCompile(`^\d{2,7}-\d{2}-\d$`)

// Validate checks an incident's fields; it returns a coded error naming the bad field.
func Validate(x *Incident) error {
	bad := func(field, msg string) error { return yingji.Invalid("incident.invalid", field, "%s", msg) }
	x.Title = strings.TrimSpace(x.Title)
	if x.Title == "" || len([]rune(x.Title)) > 200 {
		return bad("title", "事件标题不能为空，且不超过 200 个字")
	}
	if !plan.EventClass(x.Class).Valid() {
		return bad("class", "事件类别只能是 natural（自然灾害）、accident（事故灾难）、health（公共卫生事件）或 social（社会安全事件）")
	}
	if len([]rune(x.SubType)) > 100 {
		return bad("sub_type", "事件类型不超过 100 个字")
	}
	if x.Grade != "" && !slices.Contains(plan.Grades, x.Grade) {
		return bad("grade", "事件分级只能是 特别重大、重大、较大、一般，或留空（未定级）")
	}
	if !slices.Contains(Statuses, x.Status) {
		return bad("status", "事件状态无效")
	}
	if x.ResponseLevel < 0 || x.ResponseLevel > 4 {
		return bad("response_level", "响应级别只能是 0（未响应）或 1–4（一级至四级）")
	}
	if (x.Lat == nil) != (x.Lng == nil) || (x.Lat != nil && (*x.Lat < -90 || *x.Lat > 90 || *x.Lng < -180 || *x.Lng > 180)) {
		return bad("lat", "位置应同时给出纬度 lat（-90–90）和经度 lng（-180–180），WGS84")
	}
	if x.Area != "" {
		var g struct {
			Type string `json:"type"`
		}
		if json.Unmarshal([]byte(x.Area), &g) != nil || g.Type == "" {
			return bad("area", "影响范围应为 GeoJSON 几何对象")
		}
	}
	if len([]rune(x.Address)) > 300 {
		return bad("address", "地址不超过 300 个字")
	}
	for _, t := range []struct{ name, v string }{{"occurred_at", x.OccurredAt}, {"reported_at", x.ReportedAt}} {
		if _, err := time.Parse(time.RFC3339, t.v); err != nil {
			return bad(t.name, "时间“"+t.name+"”应为 RFC 3339 格式，如 2026-11-28T08:00:00+08:00")
		}
	}
	if !slices.Contains(Sources, x.Source) {
		return bad("source", "来源只能是 phone（电话接报）、alert（预警转事件）、field（现场上报）或 portal（门户录入）")
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"dead", x.Dead}, {"injured", x.Injured}, {"missing", x.Missing}, {"trapped", x.Trapped}, {"affected", x.Affected}} {
		if n.v < 0 || n.v > 100_000_000 {
			return bad(n.name, "人数不能为负数")
		}
	}
	if x.EconomicLoss < 0 {
		return bad("economic_loss", "经济损失（万元）不能为负数")
	}
	if len(x.Materials) > 50 {
		return bad("materials", "涉及危化品最多 50 种")
	}
	for i := range x.Materials {
		m := &x.Materials[i]
		m.Name, m.CAS = strings.TrimSpace(m.Name), strings.TrimSpace(m.CAS)
		if m.Name == "" && m.CAS == "" {
			return bad("materials", "危化品应有名称或 CAS 号")
		}
		if m.CAS != "" && !casRe.MatchString(m.CAS) {
			return bad("materials", "CAS 号格式应如 7782-50-5")
		}
		if m.Amount < 0 {
			return bad("materials", "危化品数量不能为负数")
		}
	}
	if len([]rune(x.Description)) > 10000 {
		return bad("description", "事件描述不超过 10000 个字")
	}
	if len(x.ReporterPhone) > 40 || len([]rune(x.ReporterName)) > 50 {
		return bad("reporter_phone", "报告人姓名或电话过长")
	}
	return nil
}

// place fills the incident's unit and path: the enterprise's when it names one, else the
// given unit, else the actor's own.
func place(ctx context.Context, q sqldb.Querier, a *yingji.Actor, x *Incident) error {
	if x.EnterpriseID != "" {
		var path string
		err := q.QueryRow(ctx, `SELECT org_path FROM enterprises WHERE id = $1`, x.EnterpriseID).Scan(&path)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Invalid("incident.invalid", "enterprise_id", "所属企业不存在")
		} else if err != nil {
			return err
		}
		x.OrgPath = path
		ids := strings.Split(strings.Trim(path, "/"), "/")
		x.OrgUnitID = ids[len(ids)-1]
		return nil
	}
	if x.OrgUnitID == "" {
		x.OrgUnitID = a.OrgUnitID
	}
	if x.OrgUnitID == "" {
		ids := strings.Split(strings.Trim(a.OrgPath, "/"), "/")
		x.OrgUnitID = ids[len(ids)-1]
	}
	err := q.QueryRow(ctx, `SELECT path FROM org_units WHERE id = $1`, x.OrgUnitID).Scan(&x.OrgPath)
	if errors.Is(err, yingji.ErrNotFound) {
		return yingji.Invalid("incident.invalid", "org_unit_id", "所属单位不存在")
	}
	return err
}

// mayReport reports whether the actor may report an incident placed at x: an org role in his
// subtree, an enterprise role for his enterprise, a rescue member anywhere in his team's
// unit's subtree.
func mayReport(a *yingji.Actor, x Incident) bool {
	if !a.Can(yingji.PermIncidentReport) {
		return false
	}
	if a.Role.ScopeKind() == yingji.ScopeEnterprise {
		return a.EnterpriseID != "" && x.EnterpriseID == a.EnterpriseID
	}
	return a.InSubtree(x.OrgPath)
}

// prepareNew fills the server's fields of a new incident reported by a at "at" (received
// then) and validates it.
func (s *Service) prepareNew(ctx context.Context, q sqldb.Querier, a *yingji.Actor, x *Incident, at, received time.Time) error {
	if x.ID == "" {
		x.ID = yingji.NewID()
	} else if !yingji.ValidID(x.ID) {
		return yingji.Invalid("incident.invalid", "id", "事件编号应为 UUID")
	}
	x.Code, x.Status, x.ResponseLevel, x.PlanID, x.TerminatedAt = "", StatusReported, 0, "", ""
	x.CreatedBy = a.UserID
	x.ReceivedAt = FormatTime(received)
	if x.ReportedAt == "" {
		x.ReportedAt = FormatTime(at)
	} else if t, err := time.Parse(time.RFC3339, x.ReportedAt); err == nil {
		if t.After(received) {
			t = received
		}
		x.ReportedAt = FormatTime(t)
	}
	if x.OccurredAt == "" {
		x.OccurredAt = x.ReportedAt
	} else if t, err := time.Parse(time.RFC3339, x.OccurredAt); err == nil {
		if t.After(received) {
			t = received
		}
		x.OccurredAt = FormatTime(t)
	}
	if x.Source == "" {
		x.Source = SourcePortal
	}
	if x.ReporterID == "" && x.ReporterName == "" {
		x.ReporterID = a.UserID
		x.ReporterName = a.Name
	}
	if x.Materials == nil {
		x.Materials = []Material{}
	}
	if err := Validate(x); err != nil {
		return err
	}
	if err := place(ctx, q, a, x); err != nil {
		return err
	}
	if !mayReport(a, *x) {
		return yingji.Errorf(yingji.EFORBIDDEN, "incident.out_of_scope", "不能上报管辖范围以外的事件")
	}
	return s.linkMaterials(ctx, q, x.Materials)
}

// linkMaterials links each hazardous material with a CAS number to the knowledge base's MSDS
// entry of that number (化学品安全技术说明书), when there is one.
func (s *Service) linkMaterials(ctx context.Context, q sqldb.Querier, ms []Material) error {
	for i := range ms {
		if ms[i].CAS == "" {
			continue
		}
		id, err := MSDSByCAS(ctx, q, ms[i].CAS)
		if err != nil {
			return err
		}
		ms[i].KnowledgeID = id
	}
	return nil
}

// MSDSByCAS finds the knowledge base's MSDS entry of a CAS number ("" when none).
func MSDSByCAS(ctx context.Context, q sqldb.Querier, cas string) (string, error) {
	var id string
	err := q.QueryRow(ctx, `SELECT id FROM knowledge WHERE kind = 'msds' AND cas = $1 ORDER BY id LIMIT 1`, cas).Scan(&id)
	if errors.Is(err, yingji.ErrNotFound) {
		return "", nil
	}
	return id, err
}

// Create records a new incident reported in the portal.
func (s *Service) Create(ctx context.Context, a *yingji.Actor, x Incident) (Incident, error) {
	if err := a.Require(yingji.PermIncidentReport); err != nil {
		return x, s.deny(ctx, a, "incident.create", ObjectIncident, x.ID, err)
	}
	now := s.now()
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		if err := s.prepareNew(ctx, tx, a, &x, now, now); err != nil {
			return err
		}
		if err := s.Insert(ctx, tx, &x); err != nil {
			return err
		}
		return s.changed(ctx, tx, CollectionName, x.ID)
	})
	if err != nil {
		return Incident{}, s.deny(ctx, a, "incident.create", ObjectIncident, x.ID, err)
	}
	s.ok(ctx, a, "incident.create", ObjectIncident, x.ID, map[string]any{"code": x.Code, "title": x.Title, "class": x.Class, "grade": x.Grade, "exercise": x.Exercise})
	return x, nil
}

// Patch is a change of an incident's facts: the fields given change.
type Patch struct {
	Title         *string     `json:"title"`
	SubType       *string     `json:"sub_type"`
	Grade         *string     `json:"grade"`
	Lat           *float64    `json:"lat"`
	Lng           *float64    `json:"lng"`
	Area          *string     `json:"area"`
	Address       *string     `json:"address"`
	OccurredAt    *string     `json:"occurred_at"`
	ReporterName  *string     `json:"reporter_name"`
	ReporterPhone *string     `json:"reporter_phone"`
	Dead          *int        `json:"dead"`
	Injured       *int        `json:"injured"`
	Missing       *int        `json:"missing"`
	Trapped       *int        `json:"trapped"`
	Affected      *int        `json:"affected"`
	EconomicLoss  *float64    `json:"economic_loss"`
	Materials     *[]Material `json:"materials"`
	Exercise      *bool       `json:"exercise"`
	Description   *string     `json:"description"`
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// Update changes the facts of an incident in the actor's scope (figures as they become known).
func (s *Service) Update(ctx context.Context, a *yingji.Actor, id string, p Patch) (Incident, error) {
	var x Incident
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		var err error
		if x, err = s.Get(ctx, tx, id); err != nil {
			return err
		}
		if !a.Can(yingji.PermIncidentWrite) || !InScope(a, x) {
			return yingji.Errorf(yingji.EFORBIDDEN, "incident.out_of_scope", "无权修改该事件：不在您的管辖范围内")
		}
		if x.Status == StatusTerminated {
			return yingji.Errorf(yingji.ECONFLICT, "incident.terminated", "事件已终止，不能再修改")
		}
		setIf(&x.Title, p.Title)
		setIf(&x.SubType, p.SubType)
		setIf(&x.Grade, p.Grade)
		if p.Lat != nil || p.Lng != nil {
			x.Lat, x.Lng = p.Lat, p.Lng
		}
		setIf(&x.Area, p.Area)
		setIf(&x.Address, p.Address)
		setIf(&x.OccurredAt, p.OccurredAt)
		setIf(&x.ReporterName, p.ReporterName)
		setIf(&x.ReporterPhone, p.ReporterPhone)
		setIf(&x.Dead, p.Dead)
		setIf(&x.Injured, p.Injured)
		setIf(&x.Missing, p.Missing)
		setIf(&x.Trapped, p.Trapped)
		setIf(&x.Affected, p.Affected)
		setIf(&x.EconomicLoss, p.EconomicLoss)
		setIf(&x.Materials, p.Materials)
		setIf(&x.Exercise, p.Exercise)
		setIf(&x.Description, p.Description)
		if x.Materials == nil {
			x.Materials = []Material{}
		}
		if t, err := time.Parse(time.RFC3339, x.OccurredAt); err == nil {
			x.OccurredAt = FormatTime(t)
		}
		if err := Validate(&x); err != nil {
			return err
		}
		if err := s.linkMaterials(ctx, tx, x.Materials); err != nil {
			return err
		}
		if err := s.Save(ctx, tx, &x); err != nil {
			return err
		}
		return s.changed(ctx, tx, CollectionName, x.ID)
	})
	if err != nil {
		return Incident{}, s.deny(ctx, a, "incident.update", ObjectIncident, id, err)
	}
	s.ok(ctx, a, "incident.update", ObjectIncident, id, p)
	return x, nil
}

// CollectionName is the name of the synced collection of incidents.
const CollectionName = "incidents"
