package demo

import (
	"fmt"
	"time"

	"github.com/yingji/yingji/server/yingji"
)

// ---- hidden dangers and their rectification loop ----

// hazardPlan is one hazard's life: reported (by a patrol or by a person), then the steps up to
// its final status, each taken by who may take it, as the portal and the phones push them.
type hazardPlan struct {
	id          string // set for a hazard a patrol raised
	ent         int
	title, desc string
	major       bool
	reportedAt  time.Time
	by          string // reporter's username
	fromPatrol  bool
	final       string // reported, assigned, rectifying, submitted, accepted
	sendBack    bool   // sent back once before it was accepted
	// deadline: days after the assignment; overdue instead puts it this many days before the end.
	deadlineDays int
	overdueDays  int
}

// The hazards people reported, as designed: every status of the loop, some overdue, one for
// safety01 to rectify (assigned to him, past its deadline).
func (s *sim) planHazards() {
	plans := []hazardPlan{
		{ent: 0, title: "储罐区防火堤雨排阀未关闭", desc: "2号罐组防火堤雨排阀处于开启状态，泄漏时物料可能流出堤外。", reportedAt: s.day(26).Add(10*time.Hour + 20*time.Minute), by: "grid01", final: "accepted", deadlineDays: 3},
		{ent: 0, title: "1号储罐可燃气体检测报警器超期未校验", desc: "报警器校验标签显示上次校验已超过一年。", major: true, reportedAt: s.day(20).Add(9*time.Hour + 5*time.Minute), by: "safety01", final: "accepted", sendBack: true, deadlineDays: 10},
		{ent: 0, title: "装卸区静电接地线断裂", desc: "3号装车位静电接地夹线缆断裂，无法有效接地。", reportedAt: s.day(6).Add(15*time.Hour + 40*time.Minute), by: "grid01", final: "assigned", overdueDays: 1},
		{ent: 0, title: "危化品仓库氧化剂与易燃物未分区存放", desc: "仓库东侧货架上氧化剂与易燃液体相邻存放，未按禁忌物料隔离。", reportedAt: s.day(4).Add(9*time.Hour + 50*time.Minute), by: "township01", final: "rectifying", deadlineDays: 7},
		{ent: 0, title: "消防泵房备用泵无法启动", desc: "周试运行时备用消防泵启动失败。", reportedAt: s.day(3).Add(14*time.Hour + 10*time.Minute), by: "safety01", final: "submitted", deadlineDays: 5},
		{ent: 0, title: "罐区巡检道路照明损坏", desc: "罐区北侧巡检道路 3 盏路灯不亮，夜间巡检视线不良。", reportedAt: s.day(1).Add(20*time.Hour + 30*time.Minute), by: "grid01", final: "reported"},
		{ent: 12, title: "合成氨储罐区洗眼器损坏", desc: "储罐区东侧洗眼器出水阀损坏。", reportedAt: s.day(15).Add(10*time.Hour + 15*time.Minute), by: "safety02", final: "accepted", deadlineDays: 4},
		{ent: 12, title: "氨压缩机房通风设施故障", desc: "压缩机房轴流风机停转，室内氨气味明显。", major: true, reportedAt: s.day(8).Add(8*time.Hour + 45*time.Minute), by: "township02", final: "rectifying", overdueDays: 2},
		{ent: 1, title: "液氯钢瓶未设防倾倒链", desc: "液氯钢瓶库内 4 只钢瓶直立存放未固定。", reportedAt: s.day(1).Add(11*time.Hour + 5*time.Minute), by: "township01", final: "reported"},
		{ent: 1, title: "电解工段巡检通道堵塞", desc: "电解槽东侧巡检通道堆放检修物料。", reportedAt: s.day(10).Add(14*time.Hour + 25*time.Minute), by: "township01", final: "assigned", overdueDays: 3},
		{ent: 3, title: "充装台灭火器压力不足", desc: "充装台旁 2 具干粉灭火器压力表指针在红区。", reportedAt: s.day(2).Add(16*time.Hour + 10*time.Minute), by: "grid01", final: "reported"},
		{ent: 9, title: "商场消防通道被占用", desc: "商场北侧消防通道被临时摊位占用。", reportedAt: s.day(9).Add(19*time.Hour + 30*time.Minute), by: "district01", final: "rectifying", deadlineDays: 11},
		{ent: 10, title: "粉磨车间除尘设施未运行", desc: "粉磨车间生产时布袋除尘器未开启，车间粉尘浓度高。", reportedAt: s.day(12).Add(10*time.Hour + 40*time.Minute), by: "township02", final: "assigned", deadlineDays: 15},
		{ent: 17, title: "尾矿库排洪设施堵塞", desc: "尾矿库排洪井进水口被杂物堵塞，汛前须清理。", major: true, reportedAt: s.day(5).Add(9*time.Hour + 30*time.Minute), by: "admin", final: "assigned", deadlineDays: 12},
	}
	for _, p := range plans {
		s.hazardLoop(p)
	}
}

// finalByAge is how far a hazard a patrol raised got: old ones are closed, recent ones still
// open. Enterprises without demo staff stop at rectifying (only their own staff may submit).
func finalByAge(age time.Duration, enterpriseID string, s *sim) string {
	staffed := s.staff(enterpriseID) != nil
	switch {
	case age > 10*24*time.Hour && staffed:
		return "accepted"
	case age > 10*24*time.Hour:
		return "rectifying"
	case age > 5*24*time.Hour && staffed:
		return "submitted"
	case age > 3*24*time.Hour:
		return "rectifying"
	case age > 36*time.Hour:
		return "assigned"
	}
	return "reported"
}

// staff is the enterprise's own safety officer (who rectifies and submits), nil when the demo
// has none.
func (s *sim) staff(enterpriseID string) *yingji.Actor {
	for _, name := range []string{"safety01", "safety02"} {
		if a := s.users[name]; a.EnterpriseID == enterpriseID {
			return a
		}
	}
	return nil
}

// acceptor takes acceptance: the supervisor, or for a major hazard a district (or city)
// administrator.
func (s *sim) acceptor(enterpriseID string, major bool) *yingji.Actor {
	sup := s.town[enterpriseID]
	if !major || sup.Role.AdminRank() >= yingji.RoleDistrictAdmin.AdminRank() {
		return sup
	}
	if sup.Username == "township01" {
		return s.users["district01"]
	}
	return s.users["admin"]
}

var stepOrder = []string{"reported", "assigned", "rectifying", "submitted", "accepted"}

func rank(status string) int {
	for i, x := range stepOrder {
		if x == status {
			return i
		}
	}
	return -1
}

func device(a *yingji.Actor) string {
	if a.Role.AdminRank() > 0 {
		return "web-" + a.Username
	}
	return "demo-phone-" + a.Username
}

// office is a time within office hours at or after t (the next morning after 18:00).
func office(t time.Time) time.Time {
	l := t.In(Zone)
	switch {
	case l.Hour() >= 18:
		return time.Date(l.Year(), l.Month(), l.Day()+1, 8, 30+l.Minute()%30, 0, 0, Zone)
	case l.Hour() < 8:
		return time.Date(l.Year(), l.Month(), l.Day(), 8, 30+l.Minute()%30, 0, 0, Zone)
	}
	return t
}

// hazardLoop schedules the report (unless a patrol raised it) and the steps of a hazard.
func (s *sim) hazardLoop(p hazardPlan) {
	e := s.ents[p.ent]
	if p.id == "" {
		p.id = s.uuid()
	}
	level := "general"
	if p.major {
		level = "major"
	}
	reporter := s.users[p.by]
	if !p.fromPatrol {
		fields := map[string]any{"title": p.title, "description": p.desc, "enterprise_id": e.ID, "level": level,
			"reported_at": rfc(p.reportedAt), "photos": []string{}}
		if e.Lat != nil && e.Lng != nil {
			fields["location"] = map[string]float64{"lat": *e.Lat, "lng": *e.Lng}
		}
		s.at(p.reportedAt.Add(time.Duration(1+s.rnd.IntN(4))*time.Minute), "report "+p.title, func() error {
			return s.push(reporter, device(reporter), mutation{coll: "hazards", id: p.id, op: "create", fields: fields})
		})
	}
	sup := s.town[e.ID]
	worker := s.staff(e.ID)
	if worker == nil {
		worker = sup
	}
	type planned struct {
		at                       time.Time
		a                        *yingji.Actor
		name, status, kind, note string
		fields, base             map[string]any
	}
	var steps []planned
	step := func(at time.Time, a *yingji.Actor, name, status, kind, note string, fields map[string]any, base map[string]any) {
		steps = append(steps, planned{at, a, name, status, kind, note, fields, base})
	}
	defer func() {
		// The loop must be where it was designed to be at the end, whatever the hour of the
		// start: steps that would fall after it are drawn closer to the report.
		if n := len(steps); n > 0 {
			last, limit := steps[n-1].at, s.end.Add(-15*time.Minute)
			origin := p.reportedAt.Add(30 * time.Minute)
			if p.fromPatrol {
				origin = p.reportedAt.Add(25 * time.Hour) // after the patrol synced
			}
			if last.After(limit) && limit.After(origin) {
				f := float64(limit.Sub(origin)) / float64(last.Sub(origin))
				for i := range steps {
					steps[i].at = origin.Add(time.Duration(float64(steps[i].at.Sub(origin)) * f)).Truncate(time.Second)
				}
			}
		}
		for _, st := range steps {
			st := st
			if !st.at.Before(s.end.Add(-5*time.Minute)) || !st.at.After(p.reportedAt) {
				continue
			}
			s.at(st.at, st.name+" "+p.title, func() error {
				f := map[string]any{"status": st.status}
				for k, v := range st.fields {
					f[k] = v
				}
				if f["photos"] == "photo" { // the after-photo is taken when the step is
					sha, err := s.photo(st.a, p.id)
					if err != nil {
						return err
					}
					f["photos"] = []string{sha}
				}
				act := map[string]any{"hazard_id": p.id, "kind": st.kind, "text": st.note, "assignee": "", "at": rfc(s.now)}
				if r, ok := st.fields["rectifier_id"].(string); ok {
					act["assignee"] = r
				}
				return s.push(st.a, device(st.a), mutation{coll: "hazards", id: p.id, op: "update", fields: f, base: st.base},
					mutation{coll: "hazard_actions", id: s.uuid(), op: "create", fields: act})
			})
		}
	}()
	final := rank(p.final)
	// A patrol's hazard exists once its patrol synced (the next morning at worst).
	t := office(p.reportedAt.Add(time.Duration(2+s.rnd.IntN(20)) * time.Hour))
	if p.fromPatrol {
		t = office(p.reportedAt.Add(time.Duration(26+s.rnd.IntN(20)) * time.Hour))
	}
	if final >= rank("assigned") {
		deadline := office(t.AddDate(0, 0, max(p.deadlineDays, 3))).Add(9 * time.Hour).Truncate(time.Hour)
		if p.overdueDays > 0 {
			deadline = s.day(p.overdueDays).Add(18 * time.Hour)
		}
		note := fmt.Sprintf("请于%s前完成整改", deadline.In(Zone).Format("1月2日"))
		step(t, sup, "assign", "assigned", "assign", note, map[string]any{"deadline": rfc(deadline), "rectifier_id": worker.UserID}, nil)
	}
	if final >= rank("rectifying") {
		t = office(t.Add(time.Duration(3+s.rnd.IntN(20)) * time.Hour))
		step(t, worker, "rectify", "rectifying", "rectify", "已安排人员整改", nil, nil)
	}
	if final >= rank("submitted") {
		t = office(t.Add(time.Duration(20+s.rnd.IntN(40)) * time.Hour))
		step(t, worker, "submit", "submitted", "submit", "已整改完毕，请验收", map[string]any{"photos": "photo"}, map[string]any{"photos": []string{}})
		acc := s.acceptor(e.ID, p.major)
		if p.sendBack {
			t = office(t.Add(time.Duration(18+s.rnd.IntN(10)) * time.Hour))
			step(t, acc, "send back", "rectifying", "reject", "校验报告缺少检测机构盖章，请补充后重新提交", nil, nil)
			t = office(t.Add(time.Duration(24+s.rnd.IntN(24)) * time.Hour))
			// the set of photos keeps the first one; the new one is added
			step(t, worker, "submit", "submitted", "submit", "已补充校验报告", map[string]any{"photos": "photo"}, nil)
		}
		if final >= rank("accepted") {
			t = office(t.Add(time.Duration(4+s.rnd.IntN(24)) * time.Hour))
			step(t, acc, "accept", "accepted", "accept", "经现场复核，整改到位", nil, nil)
		}
	}
}
