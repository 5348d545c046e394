package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/assess"
	"github.com/yingji/yingji/server/dispatch"
	"github.com/yingji/yingji/server/inbox"
	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/route"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/task"
	"github.com/yingji/yingji/server/yingji"
)

// ---- the response side: one past incident with its whole chain, one still under way ----
//
// The chlorine leak at 临江氯碱 (the episode chainAgo ago on LJLJ-GW01/GT-201) raises an alert;
// the township's administrator turns it into an incident (预警转事件), the duty officer
// proposes the city's hazardous-chemicals plan at the level it matches, 林志远 (leader01)
// approves, two teams are ordered there, tasks go to the comprehensive team's member (rescue01)
// and to the park's team, who take them through their steps, check in near the scene and send
// feedback with photos; the group chats; the response is terminated and approved; the
// dispatch orders are closed, and the duty officer writes and finalizes the assessment (which
// anchors the timeline's hash chain). A typhoon warning at 临溪镇 a few hours before the end is
// still under way: level 4 approved, one team on the way, tasks given.
//
// Everything goes through the services (incident, dispatch, the tasks and field collections by
// sync pushes, chat, assessments, alerts) on the simulated clock, as the people did.

// chainAgo is when the chlorine leak began, before the end: inside the week of readings (the
// alert is raised by the readings), on the afternoon of the demo tests' end hour.
const chainAgo = 5*oneDay + 20*hour

// chainEpisode is the leak's readings and what the township did about the alert; the incident
// chain (incidentChain) follows it.
var chainEpisode = episode{"LJLJ-GW01/GT-201", chainAgo, 6 * minute, 70 * minute, 40 * minute, 8.6, []handling{
	{after: 4 * minute, user: "township01", status: alert.StatusAcknowledged},
	{after: 6 * minute, user: "township01", feedback: "液氯储罐区出口阀门法兰处有泄漏，已转为突发事件并报市应急指挥中心"},
	{after: 16 * minute, user: "township01", status: alert.StatusDisposing, measures: "启动事故氯吸收装置，疏散下风向人员，园区救援队赶赴现场"},
	{after: 5 * hour, user: "township01", status: alert.StatusClosed, reason: "泄漏点已堵漏，氯气浓度恢复正常，事件应急响应已终止"},
}}

// Titles of the two demo incidents (the tests find them by title).
const (
	ChainIncidentTitle  = "临江氯碱化工液氯储罐区氯气泄漏"
	ActiveIncidentTitle = "台风“海葵”影响临溪镇防汛"
)

// responders are the services of the response side on the simulated clock.
type responders struct {
	incidents *incident.Service
	dispatch  *dispatch.Service
	tasks     *task.Tasks
	checkins  *task.Checkins
	feedback  *task.Feedback
	assess    *assess.Service
	resources *resource.Service
	teams     map[string]string // team name → id (the resource id of a team)
	rnd       *rand.Rand        // the response side's device ids: independent of the rest
}

// openResponders builds the response services on the history's sync service.
func (s *sim) openResponders() error {
	h := s.h
	quiet := s.quiet
	r := &responders{teams: map[string]string{}, rnd: rand.New(rand.NewPCG(h.Seed, 0x5deece66d))}
	r.incidents = incident.New(h.DB, s.sync, s.audit, quiet)
	r.incidents.Now = s.clock
	// The response steps notify their people through the inbox as on the live server (the
	// leader the step awaits, the proposer the decision, the groups the response).
	inb := inbox.New(h.DB, s.sync, s.audit, quiet, nil)
	inb.Now = s.clock
	s.sync.Register(inb.Collection())
	r.incidents.Inbox = readingInbox{inb, s}
	s.sync.Register(r.incidents.Collection())
	s.sync.Register(r.incidents.ActionCollection())
	s.sync.Register(r.incidents.MessageCollection())
	s.sync.AddScopeSource(r.incidents.ScopeSource)
	r.resources = resource.NewService(h.Store, s.audit, quiet)
	r.resources.Now = s.clock
	if err := r.resources.Open(s.ctx); err != nil {
		return err
	}
	var router route.Router
	if g, err := route.DemoCity(); err == nil {
		router = g
	}
	r.dispatch = dispatch.New(h.DB, s.sync, s.audit, quiet, router, r.incidents, r.resources)
	r.dispatch.Now = s.clock
	for _, c := range r.dispatch.Collections() {
		s.sync.Register(c)
	}
	s.sync.Observe("dispatch_orders", r.dispatch.Observe)
	r.tasks, r.checkins, r.feedback = task.NewTasks(), task.NewCheckins(), task.NewFeedback()
	r.tasks.Now, r.checkins.Now, r.feedback.Now = s.clock, s.clock, s.clock
	s.sync.Register(r.tasks)
	s.sync.Register(r.checkins)
	s.sync.Register(r.feedback)
	r.assess = assess.New(h.DB, s.audit)
	r.assess.Now = s.clock
	teams, err := r.resources.List(s.ctx, yingji.System, resource.Filter{Kind: resource.KindTeam}, yingji.ListParams{PageSize: 100})
	if err != nil {
		return err
	}
	for _, t := range teams.Items {
		r.teams[t.Name] = t.ID
	}
	s.resp = r
	return nil
}

// readingInbox is the inbox of the history: a notification is written as on the live server
// (in the step's transaction, synced to the user's phones; the history has no job runner, so
// nothing goes out on outside channels), and its user reads it a few minutes later — the
// history is the past, nothing in it waits unread.
type readingInbox struct {
	*inbox.Service
	s *sim
}

func (r readingInbox) PutTx(ctx context.Context, q sqldb.Querier, it inbox.Item) (bool, error) {
	created, err := r.Service.PutTx(ctx, q, it)
	if err != nil || !created {
		return created, err
	}
	id := inbox.ID(it.Key)
	h := fnv.New32a()
	h.Write([]byte(it.Key))
	read := r.s.now.Add(time.Duration(2+h.Sum32()%20) * time.Minute)
	r.s.at(read, "notification read", func() error {
		a := &yingji.Actor{UserID: it.UserID, IP: "127.0.0.1"}
		for _, u := range r.s.users {
			if u.UserID == it.UserID {
				a = u
			}
		}
		_, err := r.Service.MarkRead(r.s.ctx, a, id)
		return err
	})
	return true, nil
}

// rid is a device-made id (UUID version 4 layout) from the response side's own generator.
func (r *responders) rid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.rnd.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// chainState is what the steps of one incident pass on to the later ones.
type chainState struct {
	incident string
	lat, lng float64
	orders   map[string]string // team name → order id
	tasks    []chainTask
	action   string // the pending response step
}

type chainTask struct {
	id     string
	status string
}

// step schedules one step of an incident's chain.
func (s *sim) step(at time.Time, what string, f func() error) {
	s.at(at.Truncate(time.Second), "incident "+what, f)
}

func (s *sim) teamID(name string) (string, error) {
	id, ok := s.resp.teams[name]
	if !ok {
		return "", fmt.Errorf("%w: team %s", errDesign, name)
	}
	return id, nil
}

// pushTask gives a task as the duty officer's portal does (a sync push of a new task).
func (s *sim) pushTask(by *yingji.Actor, c *chainState, fields map[string]any) error {
	id := s.resp.rid()
	fields["incident_id"] = c.incident
	fields["location"] = map[string]float64{"lat": c.lat, "lng": c.lng}
	if err := s.push(by, device(by), mutation{coll: "tasks", id: id, op: "create", fields: fields}); err != nil {
		return err
	}
	c.tasks = append(c.tasks, chainTask{id: id, status: task.StatusAssigned})
	return nil
}

// moveTask takes task i of the chain to status as a (his phone, or the portal for
// headquarters).
func (s *sim) moveTask(a *yingji.Actor, c *chainState, i int, status string) error {
	t := &c.tasks[i]
	err := s.push(a, device(a), mutation{coll: "tasks", id: t.id, op: "update", fields: map[string]any{"status": status},
		base: map[string]any{"status": t.status}})
	if err == nil {
		t.status = status
	}
	return err
}

// incidentChain schedules the past incident's chain after the alert its episode raised.
func (s *sim) incidentChain(events []rules.Event, deviceID, pointID string) error {
	ep := chainEpisode
	from := s.end.Add(-ep.ago).Truncate(time.Minute)
	raised, err := raisedAt(events, from, from.Add(ep.rise+ep.hold+ep.fall), deviceID, pointID, rules.KindThreshold)
	if err != nil {
		return err
	}
	u := s.users
	duty, town, leader, rescue := u["duty01"], u["township01"], u["leader01"], u["rescue01"]
	ent := s.ents[1] // 临江氯碱化工股份有限公司
	c := &chainState{orders: map[string]string{}}
	if ent.Lat != nil {
		c.lat, c.lng = *ent.Lat, *ent.Lng
	}
	r := func(d time.Duration) time.Time { return raised.Add(d) }
	const (
		teamCity = "临江市综合应急救援支队"
		teamPark = "临港园区危化品救援队"
	)

	// The township's administrator turns the alert into an incident.
	s.step(r(5*minute), "from alert", func() error {
		id, err := s.openAlertID(deviceID, pointID, string(rules.KindThreshold))
		if err != nil {
			return err
		}
		x, err := s.resp.incidents.FromAlert(s.ctx, town, id, incident.Incident{Title: ChainIncidentTitle,
			Class: string(plan.ClassAccident), SubType: "危险化学品事故", Grade: "一般", Injured: 2, Affected: 320, EconomicLoss: 36,
			Materials:     []incident.Material{{Name: "液氯", CAS: "7782-50-5", Amount: 1.6, Unit: "吨"}},
			ReporterPhone: "13957110003",
			Description: "液氯储罐区 2 号储罐出口阀门法兰垫片老化破损，约 1.6 吨液氯泄漏，氯气向东南方向扩散；" +
				"两名操作工吸入少量氯气，已送医观察。企业已启动现场处置方案。"})
		if err != nil {
			return err
		}
		c.incident = x.ID
		return nil
	})
	// The duty officer proposes the plan and level the match recommends; 林志远 approves.
	s.step(r(12*minute), "propose start", func() error {
		m, err := s.resp.incidents.MatchFor(s.ctx, duty, c.incident)
		if err != nil {
			return err
		}
		if m.PlanID == "" {
			return fmt.Errorf("%w: no plan matches the chlorine leak: %s", errDesign, m.Explanation)
		}
		act, err := s.resp.incidents.Propose(s.ctx, duty, c.incident, incident.Proposal{Kind: incident.ActionStart, PlanID: m.PlanID, Level: m.Level,
			Reason: "液氯泄漏量超过 1 吨，按预案匹配结果启动响应"})
		if err != nil {
			return err
		}
		if act.ApproverID != leader.UserID {
			return fmt.Errorf("%w: the start goes to %s, not leader01", errDesign, act.ApproverName)
		}
		c.action = act.ID
		return nil
	})
	s.step(r(19*minute), "approve start", func() error {
		_, err := s.resp.incidents.Decide(s.ctx, leader, c.action, incident.StateApproved, "同意启动响应，请园区救援队和市综合救援支队立即赶赴现场")
		return err
	})
	// Two teams ordered there.
	for i, name := range []string{teamPark, teamCity} {
		s.step(r(time.Duration(22+i*2)*minute), "dispatch", func() error {
			id, err := s.teamID(name)
			if err != nil {
				return err
			}
			o, err := s.resp.dispatch.CreateOrder(s.ctx, duty, c.incident, dispatch.OrderInput{Kind: dispatch.KindTeam, ResourceID: id,
				Note: "携带重型防化服和堵漏器材，到场后向现场指挥部报到"})
			if err != nil {
				return err
			}
			c.orders[name] = o.ID
			return nil
		})
	}
	// Tasks: to rescue01 (the comprehensive team's member) and to the park's team.
	s.step(r(27*minute), "tasks", func() error {
		parkID, err := s.teamID(teamPark)
		if err != nil {
			return err
		}
		due := incident.FormatTime(r(2 * hour))
		if err := s.pushTask(duty, c, map[string]any{"title": "关阀堵漏并启动氯吸收装置", "detail": "佩戴正压式空气呼吸器、穿全封闭防化服进入罐区，关闭 2 号储罐进出口阀门，用堵漏夹具处置法兰泄漏点",
			"team_id": parkID, "due_at": due}); err != nil {
			return err
		}
		return s.pushTask(duty, c, map[string]any{"title": "疏散下风向人员并设置警戒", "detail": "疏散泄漏点东南方向 500 米内人员，设置警戒线，协助医疗组转运受伤人员",
			"assignee_id": rescue.UserID, "due_at": due})
	})
	for i, st := range []struct {
		after  time.Duration
		task   int
		status string
		by     *yingji.Actor
	}{
		{29 * minute, 1, task.StatusAccepted, rescue},
		{30 * minute, 0, task.StatusAccepted, duty}, // the park team answered by radio; the duty officer records it
		{31 * minute, 1, task.StatusEnRoute, rescue},
		{38 * minute, 0, task.StatusOnScene, duty},
		{52 * minute, 1, task.StatusOnScene, rescue},
		{95 * minute, 0, task.StatusDone, duty},
		{150 * minute, 1, task.StatusDone, rescue},
	} {
		s.step(r(st.after), fmt.Sprintf("task step %d", i), func() error { return s.moveTask(st.by, c, st.task, st.status) })
	}
	// The orders: departed, arrived (the duty officer records what the teams report).
	for _, o := range []struct {
		after  time.Duration
		team   string
		status string
	}{
		{25 * minute, teamPark, dispatch.StatusDeparted}, {31 * minute, teamCity, dispatch.StatusDeparted},
		{37 * minute, teamPark, dispatch.StatusArrived}, {51 * minute, teamCity, dispatch.StatusArrived},
	} {
		s.step(r(o.after), "dispatch status", func() error {
			_, err := s.resp.dispatch.SetStatus(s.ctx, duty, c.orders[o.team], dispatch.StatusInput{Status: o.status})
			return err
		})
	}
	// rescue01 checks in near the scene and sends feedback with photos; the group chats.
	s.step(r(53*minute), "checkin", func() error {
		return s.push(rescue, device(rescue), mutation{coll: "checkins", id: s.resp.rid(), op: "create", fields: map[string]any{
			"incident_id": c.incident, "note": "综合救援支队 12 人 3 车到达厂区东门",
			"location": map[string]float64{"lat": c.lat - 0.0009, "lng": c.lng + 0.0011}}})
	})
	for i, fb := range []struct {
		after  time.Duration
		task   int
		text   string
		photos int
	}{
		{70 * minute, 1, "下风向 500 米内 186 名人员已疏散至园区应急避难场所，警戒线已设置", 2},
		{100 * minute, 0, "泄漏点已用堵漏夹具封堵，氯吸收装置运行正常，罐区氯气浓度下降", 1},
	} {
		s.step(r(fb.after), fmt.Sprintf("feedback %d", i), func() error {
			var photos []string
			for k := range fb.photos {
				p, err := s.photoNamed(rescue, fmt.Sprintf("chain-feedback-%d-%d", i, k), fmt.Sprintf("现场照片-%s-%d.jpg", s.now.In(Zone).Format("20060102-1504"), k+1))
				if err != nil {
					return err
				}
				photos = append(photos, p)
			}
			return s.push(rescue, device(rescue), mutation{coll: "feedback", id: s.resp.rid(), op: "create", fields: map[string]any{
				"incident_id": c.incident, "task_id": c.tasks[fb.task].id, "text": fb.text, "photos": photos,
				"location": map[string]float64{"lat": c.lat - 0.0006, "lng": c.lng + 0.0008}}})
		})
	}
	for i, m := range []struct {
		after time.Duration
		who   *yingji.Actor
		text  string
	}{
		{21 * minute, leader, "请各单位按预案分工履职，优先保障人员安全，每 30 分钟报告一次进展"},
		{40 * minute, duty, "园区危化品救援队已到场，正在组织关阀堵漏"},
		{72 * minute, rescue, "下风向人员疏散完毕，两名受伤人员已由 120 转运至市人民医院"},
		{105 * minute, town, "环境监测显示厂界氯气浓度已低于 1 mg/m³"},
	} {
		s.step(r(m.after), fmt.Sprintf("chat %d", i), func() error {
			_, err := s.resp.incidents.Post(s.ctx, m.who, incident.Message{IncidentID: c.incident, Kind: "text", Text: m.text})
			return err
		})
	}
	// Terminated: proposed by the duty officer, approved by 林志远; the teams return.
	s.step(r(160*minute), "propose terminate", func() error {
		act, err := s.resp.incidents.Propose(s.ctx, duty, c.incident, incident.Proposal{Kind: incident.ActionTerminate,
			Reason: "泄漏点已封堵，现场氯气浓度恢复正常，疏散人员已返回，险情已消除"})
		if err != nil {
			return err
		}
		c.action = act.ID
		return nil
	})
	s.step(r(170*minute), "approve terminate", func() error {
		_, err := s.resp.incidents.Decide(s.ctx, leader, c.action, incident.StateApproved, "同意终止响应，企业做好后续监测和善后工作")
		return err
	})
	for i, team := range []string{teamPark, teamCity} {
		s.step(r(time.Duration(180+10*i)*minute), "dispatch return", func() error {
			_, err := s.resp.dispatch.SetStatus(s.ctx, duty, c.orders[team], dispatch.StatusInput{Status: dispatch.StatusReturned})
			return err
		})
	}
	// The next day the duty officer writes the assessment and finalizes it.
	var report string
	s.step(r(oneDay), "assessment", func() error {
		x, err := s.resp.assess.Create(s.ctx, duty, c.incident)
		if err != nil {
			return err
		}
		report = x.ID
		content := x.Content
		content.Causes.Text = "直接原因：2 号液氯储罐出口阀门法兰垫片老化破损导致液氯泄漏。间接原因：企业设备管理制度落实不到位，垫片未按周期更换；巡检未发现法兰渗漏迹象。"
		content.Response.Strengths = "在线监测及时报警，预警转事件和响应启动迅速；园区救援队 20 分钟内到场，关阀堵漏处置得当。"
		content.Response.Weaknesses = "下风向人员疏散通知依靠电话逐个通知，覆盖偏慢；企业氯吸收装置启动晚于报警约 10 分钟。"
		content.Suggestions = "企业全面排查液氯储罐区法兰、阀门密封件并建立更换台账；园区完善下风向人员疏散广播系统；街道加强对企业设备管理的监督检查。"
		content.Losses.DirectWan = 36
		_, err = s.resp.assess.Update(s.ctx, duty, x.ID, assess.AssessmentPatch{Content: &content})
		return err
	})
	s.step(r(oneDay+2*hour), "assessment final", func() error {
		_, err := s.resp.assess.Finalize(s.ctx, duty, report)
		return err
	})
	return nil
}

// activeIncident schedules the incident still under way at the end: a typhoon warning at
// 临溪镇, level 4 approved, the comprehensive team on the way, tasks given.
func (s *sim) activeIncident() error {
	u := s.users
	duty, leader, rescue := u["duty01"], u["leader01"], u["rescue01"]
	lat, lng := 30.0110, 119.8350 // 临溪镇 below the reservoir
	c := &chainState{orders: map[string]string{}, lat: lat, lng: lng}
	t0 := s.end.Add(-150 * minute)
	r := func(d time.Duration) time.Time { return t0.Add(d) }
	const team = "临江市综合应急救援支队"
	s.step(r(0), "report", func() error {
		var town string
		if err := s.h.DB.QueryRow(s.ctx, `SELECT id FROM org_units WHERE code = '339902002'`).Scan(&town); err != nil {
			return err
		}
		x, err := s.resp.incidents.Create(s.ctx, duty, incident.Incident{ID: s.resp.rid(), Title: ActiveIncidentTitle,
			Class: string(plan.ClassNatural), SubType: "气象灾害", OrgUnitID: town, Lat: &lat, Lng: &lng, Address: "青山县临溪镇溪口村一带",
			Source: incident.SourcePhone, ReporterName: "临溪镇防汛值班室", ReporterPhone: "0571-86102233", Affected: 420,
			Description: "市气象台发布台风蓝色预警，台风“海葵”外围云系影响，临溪镇过去 3 小时降雨 85 毫米，临溪水库水位上涨，溪口村低洼地区有积水，需转移群众约 420 人。"})
		if err != nil {
			return err
		}
		c.incident = x.ID
		return nil
	})
	s.step(r(8*minute), "propose start", func() error {
		m, err := s.resp.incidents.MatchFor(s.ctx, duty, c.incident)
		if err != nil {
			return err
		}
		var planID string
		for _, p := range m.Plans {
			if p.Kind == string(plan.KindSpecial) {
				planID = p.PlanID
			}
		}
		if planID == "" {
			return fmt.Errorf("%w: no flood plan for the typhoon", errDesign)
		}
		act, err := s.resp.incidents.Propose(s.ctx, duty, c.incident, incident.Proposal{Kind: incident.ActionStart, PlanID: planID, Level: 4,
			Reason: "市气象台发布台风蓝色预警，按防汛防台预案启动四级响应"})
		if err != nil {
			return err
		}
		c.action = act.ID
		return nil
	})
	s.step(r(15*minute), "approve start", func() error {
		_, err := s.resp.incidents.Decide(s.ctx, leader, c.action, incident.StateApproved, "同意，临溪镇做好危险区域人员转移")
		return err
	})
	s.step(r(20*minute), "dispatch", func() error {
		id, err := s.teamID(team)
		if err != nil {
			return err
		}
		o, err := s.resp.dispatch.CreateOrder(s.ctx, duty, c.incident, dispatch.OrderInput{Kind: dispatch.KindTeam, ResourceID: id,
			Note: "携带冲锋舟 2 艘，协助临溪镇转移溪口村低洼地区群众"})
		if err != nil {
			return err
		}
		c.orders[team] = o.ID
		return nil
	})
	s.step(r(24*minute), "tasks", func() error {
		teamID, err := s.teamID(team)
		if err != nil {
			return err
		}
		for _, f := range []map[string]any{
			{"title": "转移溪口村低洼地区群众", "detail": "协助临溪镇逐户转移溪口村低洼地区群众至临溪镇中心小学安置点", "assignee_id": rescue.UserID},
			{"title": "巡查临溪水库大坝及溢洪道", "detail": "每小时巡查一次大坝、溢洪道和下游河道，发现险情立即报告", "team_id": teamID},
			{"title": "检查防汛物资储备", "detail": "清点冲锋舟、救生衣和编织袋，缺口报市防汛物资仓库", "team_id": teamID},
		} {
			f["due_at"] = incident.FormatTime(r(6 * hour))
			if err := s.pushTask(duty, c, f); err != nil {
				return err
			}
		}
		return nil
	})
	s.step(r(30*minute), "dispatch status", func() error {
		_, err := s.resp.dispatch.SetStatus(s.ctx, duty, c.orders[team], dispatch.StatusInput{Status: dispatch.StatusDeparted})
		return err
	})
	s.step(r(31*minute), "task step", func() error { return s.moveTask(rescue, c, 0, task.StatusAccepted) })
	s.step(r(33*minute), "task step", func() error { return s.moveTask(rescue, c, 0, task.StatusEnRoute) })
	s.step(r(35*minute), "chat", func() error {
		_, err := s.resp.incidents.Post(s.ctx, rescue, incident.Message{IncidentID: c.incident, Kind: "text", Text: "综合救援支队已出发，预计 1 小时到达临溪镇"})
		return err
	})
	return nil
}

// raisedAt is when the readings of a device (and point) raised an alert of kind between from
// and to.
func raisedAt(events []rules.Event, from, to time.Time, deviceID, pointID string, kind rules.Kind) (time.Time, error) {
	for _, ev := range events {
		if ev.Action == rules.Raise && ev.Kind == kind && ev.DeviceID == deviceID && ev.PointID == pointID &&
			!ev.At.Before(from) && ev.At.Before(to) {
			return ev.At, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: the readings of %s raised no %s alert after %s", errDesign, deviceID, kind, from)
}
