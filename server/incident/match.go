package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Commander is a person filling a command role of a plan's organisation, with the user
// account found for him (by phone, else by name; "" when none).
type Commander struct {
	Group      string `json:"group"` // hq or onsite
	Role       string `json:"role"`  // 总指挥, 副总指挥, 现场指挥 ...
	Department string `json:"department"`
	Name       string `json:"name"`
	Title      string `json:"title"`
	Phone      string `json:"phone"`
	UserID     string `json:"user_id"`
}

// Expert is an expert of the resources (kind expert) whose field matches the incident.
type Expert struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Subtype  string `json:"subtype"`
	Phone    string `json:"phone"`
	Contact  string `json:"contact"`
}

// PlanMatch is one applicable published plan and what it prescribes for the incident.
type PlanMatch struct {
	PlanID     string      `json:"plan_id"`    // the plan across versions
	VersionID  string      `json:"version_id"` // the published version matched
	Title      string      `json:"title"`
	Kind       string      `json:"kind"`
	Level      string      `json:"level"` // city, district, township, enterprise
	Result     plan.Result `json:"result"`
	Commanders []Commander `json:"commanders"`
	Leader     *Commander  `json:"leader"` // the 总指挥 who approves, when the plan names one
}

// Match is the outcome of matching an incident against the plans.
type Match struct {
	IncidentID  string      `json:"incident_id"`
	Plans       []PlanMatch `json:"plans"`       // the applicable plans, the recommended first
	PlanID      string      `json:"plan_id"`     // recommended plan ("" when none matched)
	Level       int         `json:"level"`       // its level (0 none)
	Explanation string      `json:"explanation"` // one Chinese sentence
	Experts     []Expert    `json:"experts"`
}

// coversGrade reports whether one of the plan's event types lists the incident's grade (or
// any grade).
func coversGrade(p plan.Plan, x Incident) bool {
	if x.Grade == "" || len(p.Content.Events) == 0 {
		return true
	}
	for _, e := range p.Content.Events {
		if e.Class == plan.EventClass(x.Class) && (len(e.Grades) == 0 || slices.Contains(e.Grades, x.Grade)) {
			return true
		}
	}
	return false
}

// publishedPlans reads the published plans on the incident's unit chain (the units above
// and at the incident) and of its enterprise.
func publishedPlans(ctx context.Context, q sqldb.Querier, x Incident) ([]plan.Plan, error) {
	rows, err := q.Query(ctx, `SELECT id, plan_id, title, kind, level, org_path, enterprise_id, content FROM plans
		WHERE status = 'published' AND (enterprise_id = '' OR enterprise_id = $1) ORDER BY plan_id`, x.EnterpriseID)
	ps, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (plan.Plan, error) {
		var p plan.Plan
		var content string
		if err := r.Scan(&p.ID, &p.PlanID, &p.Title, &p.Kind, &p.Level, &p.OrgPath, &p.EnterpriseID, &content); err != nil {
			return p, err
		}
		return p, json.Unmarshal([]byte(content), &p.Content)
	})
	if err != nil {
		return nil, err
	}
	out := ps[:0]
	for _, p := range ps {
		if p.EnterpriseID != "" || strings.HasPrefix(x.OrgPath, p.OrgPath) {
			out = append(out, p)
		}
	}
	return out, nil
}

// MatchPlans matches the incident's class, type, grade and figures against the published
// plans that apply to it and recommends one: the highest level any prescribes, then the plan
// of the unit nearest the incident, then a special plan before a comprehensive one.
func (s *Service) MatchPlans(ctx context.Context, q sqldb.Querier, x Incident) (Match, error) {
	m := Match{IncidentID: x.ID, Plans: []PlanMatch{}, Experts: []Expert{}}
	ps, err := publishedPlans(ctx, q, x)
	if err != nil {
		return m, err
	}
	f := x.Figures()
	for _, p := range ps {
		r := plan.Match(p, f)
		if !coversGrade(p, x) {
			r = plan.Result{Reasons: []plan.Reason{}, Manual: []string{}, Explanation: "该预案不适用于" + x.Grade + "事件"}
		}
		if r.Explanation == "该预案不适用于此类事件" || strings.HasPrefix(r.Explanation, "该预案不适用于") {
			continue
		}
		pm := PlanMatch{PlanID: p.PlanID, VersionID: p.ID, Title: p.Title, Kind: string(p.Kind), Level: string(p.Level), Result: r}
		if pm.Commanders, err = commanders(ctx, q, p); err != nil {
			return m, err
		}
		for i := range pm.Commanders {
			if c := pm.Commanders[i]; c.Group == GroupHQ && c.Role == "总指挥" {
				pm.Leader = &pm.Commanders[i]
				break
			}
		}
		m.Plans = append(m.Plans, pm)
	}
	depth := func(pm PlanMatch) int {
		for _, p := range ps {
			if p.ID == pm.VersionID {
				if p.EnterpriseID != "" {
					return 100
				}
				return strings.Count(p.OrgPath, "/")
			}
		}
		return 0
	}
	rank := func(pm PlanMatch) int {
		if !pm.Result.Matched {
			return 9
		}
		return pm.Result.Level
	}
	sort.SliceStable(m.Plans, func(i, j int) bool {
		a, b := m.Plans[i], m.Plans[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		if depth(a) != depth(b) {
			return depth(a) > depth(b)
		}
		if (a.Kind == "special") != (b.Kind == "special") {
			return a.Kind == "special"
		}
		return a.PlanID < b.PlanID
	})
	switch {
	case len(m.Plans) == 0:
		m.Explanation = "没有适用于该事件类别和分级的已发布预案"
	case !m.Plans[0].Result.Matched:
		m.Explanation = fmt.Sprintf("有 %d 个适用预案，但事件的量化信息未达到任何一级响应的启动条件，须人工研判", len(m.Plans))
	default:
		top := m.Plans[0]
		m.PlanID, m.Level = top.PlanID, top.Result.Level
		m.Explanation = fmt.Sprintf("建议启动《%s》%s响应：%s", top.Title, plan.LevelName(top.Result.Level), top.Result.Explanation)
	}
	m.Experts, err = experts(ctx, q, x)
	return m, err
}

// commanders lists the people of the plan's headquarters and on-site roles with their
// accounts.
func commanders(ctx context.Context, q sqldb.Querier, p plan.Plan) ([]Commander, error) {
	out := []Commander{}
	for _, r := range p.Content.Organization {
		g := ""
		switch r.Group {
		case plan.GroupHeadquarters:
			g = GroupHQ
		case plan.GroupOnSite:
			g = GroupOnSite
		default:
			continue
		}
		for _, person := range r.People {
			c := Commander{Group: g, Role: r.Name, Department: r.Department, Name: person.Name, Title: person.Title, Phone: person.Phone}
			id, err := userFor(ctx, q, person)
			if err != nil {
				return nil, err
			}
			c.UserID = id
			out = append(out, c)
		}
	}
	return out, nil
}

// userFor finds the enabled account of a plan's person: by phone, else by a unique name.
func userFor(ctx context.Context, q sqldb.Querier, p plan.Person) (string, error) {
	if p.Phone != "" {
		ids, err := strs(ctx, q, `SELECT id FROM users WHERE phone = $1 AND disabled = $2 ORDER BY username LIMIT 1`, p.Phone, false)
		if err != nil || len(ids) > 0 {
			return first(ids), err
		}
	}
	if p.Name == "" {
		return "", nil
	}
	ids, err := strs(ctx, q, `SELECT id FROM users WHERE name = $1 AND disabled = $2 ORDER BY username LIMIT 2`, p.Name, false)
	if err != nil || len(ids) != 1 {
		return "", err
	}
	return ids[0], nil
}

func first(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// experts lists up to 20 experts whose fields name the incident's type or class.
func experts(ctx context.Context, q sqldb.Querier, x Incident) ([]Expert, error) {
	terms := []string{}
	if x.SubType != "" {
		terms = append(terms, x.SubType)
	}
	if n := plan.EventClass(x.Class).Name(); n != "" {
		terms = append(terms, n)
	}
	if len(terms) == 0 {
		return []Expert{}, nil
	}
	var w sqldb.Where
	w.Add("kind = 'expert'")
	var or []string
	var args []any
	for _, t := range terms {
		l := sqldb.Like(t)
		or = append(or, `(category LIKE ? ESCAPE '\' OR subtype LIKE ? ESCAPE '\' OR accident_types LIKE ? ESCAPE '\')`)
		args = append(args, l, l, l)
	}
	w.Add("("+strings.Join(or, " OR ")+")", args...)
	rows, err := q.Query(ctx, `SELECT id, name, category, subtype, phone, contact FROM resources`+w.SQL()+` ORDER BY name, id LIMIT 20`, w.Args...)
	return sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Expert, error) {
		var e Expert
		return e, r.Scan(&e.ID, &e.Name, &e.Category, &e.Subtype, &e.Phone, &e.Contact)
	})
}

// MatchFor matches an incident the actor may read.
func (s *Service) MatchFor(ctx context.Context, a *yingji.Actor, id string) (Match, error) {
	x, err := s.Read(ctx, a, id)
	if err != nil {
		return Match{}, err
	}
	return s.MatchPlans(ctx, s.DB, x)
}

// errNoPlan is the error of a plan that is not published or does not apply.
var errNoPlan = errors.New("no plan")
