package demo

import (
	"fmt"
	"math"
	"time"

	"github.com/yingji/yingji/server/patrol"
	"github.com/yingji/yingji/server/risk"
	"github.com/yingji/yingji/server/yingji"
)

// ---- risk points ----

type measureTpl struct {
	kind  risk.MeasureKind
	text  string
	hz    string // hazard template title; "" for none
	major bool
}

type pointTpl struct {
	name  string
	level risk.Level
	types []string
	ms    []measureTpl
}

var (
	mEng, mMgmt, mTrain, mPPE, mEmerg = risk.KindEngineering, risk.KindManagement, risk.KindTraining, risk.KindPPE, risk.KindEmergency
)

var pointTpls = map[string]pointTpl{
	"tank": {"储罐区", risk.LevelRed, []string{"火灾", "爆炸", "中毒和窒息"}, []measureTpl{
		{mEng, "储罐液位、温度、压力远传监测及高低位报警投用正常", "储罐液位、温度、压力报警未投用", false},
		{mEng, "罐区可燃气体检测报警器完好并按期校验", "可燃气体检测报警器失效或超期未校验", true},
		{mMgmt, "动火、进入受限空间等特殊作业执行作业票制度", "特殊作业未办理作业票", true},
		{mEmerg, "防火堤完好，雨排阀常闭，消防设施完好可用", "防火堤破损或雨排阀未关闭", false},
	}},
	"loading": {"装卸区", risk.LevelOrange, []string{"火灾", "爆炸"}, []measureTpl{
		{mEng, "装卸鹤管静电接地装置完好", "装卸作业静电接地装置失效", false},
		{mMgmt, "装卸作业专人监护，车辆熄火、拉手刹、放置垫木", "装卸作业无人监护", false},
		{mPPE, "作业人员穿戴防静电工作服和防护手套", "", false},
	}},
	"warehouse": {"危化品仓库", risk.LevelYellow, []string{"火灾", "中毒和窒息"}, []measureTpl{
		{mMgmt, "危化品分区分类存放，禁忌物料隔离", "危化品禁忌物料混存", false},
		{mMgmt, "出入库台账记录完整、账物相符", "危化品出入库台账不全", false},
		{mEng, "仓库通风和防爆电气设施完好", "", false},
	}},
	"power": {"配电室", risk.LevelBlue, []string{"触电", "火灾"}, []measureTpl{
		{mMgmt, "配电室门窗和挡鼠板等防小动物措施完好", "配电室防小动物措施缺失", false},
		{mEng, "电气设备绝缘和接地检测合格", "", false},
	}},
	"pump": {"消防泵房", risk.LevelBlue, []string{"火灾"}, []measureTpl{
		{mMgmt, "消防泵每周试运行并记录", "消防泵未按期试运行", false},
		{mEmerg, "消防水池水位正常，阀门处于常开状态", "消防水池水位不足或阀门关闭", false},
	}},
	"chlorine": {"液氯储存及充装区", risk.LevelRed, []string{"中毒和窒息"}, []measureTpl{
		{mEng, "氯气泄漏检测报警与事故氯吸收装置联锁投用", "氯气泄漏报警与吸收装置联锁未投用", true},
		{mPPE, "现场配备正压式空气呼吸器和重型防化服", "应急防护器材缺失或失效", false},
		{mTrain, "操作人员持证上岗，熟悉应急处置卡", "", false},
	}},
	"electrolysis": {"电解工段", risk.LevelOrange, []string{"中毒和窒息", "灼烫", "触电"}, []measureTpl{
		{mEng, "电解槽温度、压力联锁保护投用", "电解槽联锁保护未投用", false},
		{mMgmt, "交接班记录完整，巡检按时", "", false},
	}},
	"reactor": {"反应釜区", risk.LevelOrange, []string{"火灾", "爆炸", "中毒和窒息"}, []measureTpl{
		{mEng, "反应釜温度、压力报警和紧急切断装置投用", "反应釜紧急切断装置未投用", true},
		{mMgmt, "工艺操作规程上墙，按规程操作", "", false},
	}},
	"sewage": {"污水处理站", risk.LevelBlue, []string{"中毒和窒息"}, []measureTpl{
		{mMgmt, "有限空间作业先通风、再检测、后作业", "有限空间作业未检测", false},
	}},
	"filling": {"液化气充装台", risk.LevelRed, []string{"火灾", "爆炸"}, []measureTpl{
		{mEng, "充装秤超装联锁及紧急切断阀完好", "充装超装联锁失效", true},
		{mEng, "充装区可燃气体检测报警器完好", "可燃气体检测报警器失效", false},
		{mMgmt, "钢瓶充装前逐只检查并记录", "钢瓶充装前检查记录缺失", false},
	}},
	"lpgtank": {"液化气储罐区", risk.LevelOrange, []string{"火灾", "爆炸"}, []measureTpl{
		{mEng, "储罐喷淋冷却系统完好", "储罐喷淋冷却系统故障", false},
		{mEmerg, "罐区消防通道畅通", "罐区消防通道堵塞", false},
	}},
	"mixing": {"涂料调配车间", risk.LevelYellow, []string{"火灾", "中毒和窒息"}, []measureTpl{
		{mEng, "车间局部排风和防爆电气完好", "调配车间排风设施故障", false},
		{mMgmt, "车间内溶剂存量不超过一天用量", "车间溶剂超量存放", false},
	}},
	"parking": {"危险货物车辆停车场", risk.LevelYellow, []string{"火灾", "爆炸", "车辆伤害"}, []measureTpl{
		{mMgmt, "车辆分类停放，保持安全间距", "危险货物车辆混停", false},
		{mEng, "停车场视频监控和消防设施完好", "", false},
	}},
	"fuel": {"加油区及油罐区", risk.LevelOrange, []string{"火灾", "爆炸"}, []measureTpl{
		{mEng, "油罐液位监测和油气回收装置运行正常", "油气回收装置故障", false},
		{mMgmt, "卸油作业有专人监护，静电接地到位", "卸油作业无人监护", false},
	}},
	"ammonia": {"合成氨储罐区", risk.LevelOrange, []string{"中毒和窒息", "爆炸"}, []measureTpl{
		{mEng, "氨泄漏检测报警及喷淋装置完好", "氨泄漏报警或喷淋装置失效", true},
		{mPPE, "现场洗眼器和防毒面具完好", "洗眼器或防毒面具缺失", false},
	}},
}

// siteSpec is what each hazardous-chemicals enterprise (by index in enterprises) has: its risk
// points and who patrols them daily (red and orange points) and weekly (yellow and blue).
type siteSpec struct {
	ent           int
	points        []string
	daily, weekly string
}

var sites = []siteSpec{
	{0, []string{"tank", "loading", "warehouse", "power", "pump"}, "safety01", "grid01"},
	{1, []string{"chlorine", "electrolysis", "warehouse", "power"}, "township01", "township01"},
	{2, []string{"reactor", "warehouse", "sewage"}, "township01", "township01"},
	{3, []string{"filling", "lpgtank", "power"}, "grid01", "grid01"},
	{4, []string{"mixing", "warehouse", "pump"}, "township01", "township01"},
	{5, []string{"parking", "loading"}, "township01", "township01"},
	{6, []string{"fuel", "power"}, "district01", "district01"},
	{12, []string{"ammonia", "warehouse", "power"}, "safety02", "safety02"},
}

// rp is a created risk point as the history uses it.
type rp struct {
	risk.RiskPoint
	tpl  pointTpl
	site siteSpec
}

func (s *sim) createRiskPoints() ([]*rp, error) {
	var in []risk.RiskPoint
	var out []*rp
	for _, site := range sites {
		e := s.ents[site.ent]
		for i, key := range site.points {
			tpl := pointTpls[key]
			p := risk.RiskPoint{EnterpriseID: e.ID, Code: fmt.Sprintf("FXD-%02d", i+1), Name: tpl.name, Level: tpl.level,
				AccidentTypes: tpl.types, Responsible: enterprises[site.ent].legal}
			if e.Lat != nil && e.Lng != nil {
				p.Location = &risk.Location{Lat: round6(*e.Lat + (s.rnd.Float64()-0.5)*0.002), Lng: round6(*e.Lng + (s.rnd.Float64()-0.5)*0.002)}
			}
			for _, m := range tpl.ms {
				me := risk.Measure{ID: s.uuid(), Kind: m.kind, Text: m.text}
				if m.hz != "" {
					lv := risk.HazardGeneral
					if m.major {
						lv = risk.HazardMajor
					}
					me.HazardTemplate = &risk.HazardTemplate{Title: m.hz, Level: lv}
				}
				p.Measures = append(p.Measures, me)
			}
			in = append(in, p)
			out = append(out, &rp{tpl: tpl, site: site})
		}
	}
	if err := s.risk.Import(s.ctx, s.users["admin"], in); err != nil {
		return nil, err
	}
	// Import fills ids; read them back in order.
	for i := range out {
		page, err := s.risk.List(s.ctx, s.users["admin"], risk.Filter{EnterpriseID: in[i].EnterpriseID}, yingji.ListParams{PageSize: 100})
		if err != nil {
			return nil, err
		}
		for _, p := range page.Items {
			if p.Code == in[i].Code {
				out[i].RiskPoint = p
			}
		}
		if out[i].ID == "" {
			return nil, fmt.Errorf("%w: risk point %s not created", errDesign, in[i].Code)
		}
	}
	return out, nil
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// ---- checklists and patrols ----

type checklist struct {
	id, name string
	freq     string
	points   []*rp
	by       string // username of the patroller
	ent      int
}

// special patrols: one of each flag, on a chosen day of a chosen checklist.
type special struct {
	ent  int
	freq string
	day  int // days before the end
	flag string
}

var specials = []special{
	{5, patrol.Daily, 12, patrol.FlagForgedQR},
	{2, patrol.Daily, 15, patrol.FlagTooFast},
	{6, patrol.Daily, 7, patrol.FlagFar},
	{0, patrol.Weekly, 0, patrol.FlagStaleQR}, // the week after the label was reissued
}

// missed periods that are always missed (so the overdue list has rows whatever the seed).
var missed = []special{{1, patrol.Daily, 3, ""}, {4, patrol.Weekly, 14, ""}, {3, patrol.Daily, 1, ""}}

// reissueDay is when the label of 临港石化's warehouse was reissued (damaged label).
const reissueDay = 9

func (s *sim) prevention() error {
	start := s.day(HistoryDays + 1).Add(9 * time.Hour)
	var points []*rp
	s.at(start, "risk points", func() error {
		var err error
		points, err = s.createRiskPoints()
		return err
	})
	var lists []*checklist
	s.at(start.Add(2*time.Hour), "checklists", func() error {
		for _, site := range sites {
			for _, freq := range []string{patrol.Daily, patrol.Weekly} {
				c := &checklist{freq: freq, ent: site.ent, by: site.daily}
				c.name = "每日巡查清单（红、橙风险点）"
				if freq == patrol.Weekly {
					c.name, c.by = "每周巡查清单（黄、蓝风险点）", site.weekly
				}
				var ids []string
				for _, p := range points {
					if p.site.ent != site.ent {
						continue
					}
					high := p.Level == risk.LevelRed || p.Level == risk.LevelOrange
					if high == (freq == patrol.Daily) {
						c.points = append(c.points, p)
						ids = append(ids, p.ID)
					}
				}
				if len(ids) == 0 {
					continue
				}
				created, err := s.checks.Create(s.ctx, s.users["admin"], patrol.Checklist{EnterpriseID: s.ents[site.ent].ID, Name: c.name,
					Frequency: freq, RiskPointIDs: ids, Assignee: s.users[c.by].UserID, Active: true})
				if err != nil {
					return err
				}
				c.id = created.ID
				lists = append(lists, c)
			}
		}
		// Patrols and the hazards they raise are planned once the checklists exist.
		s.planPatrols(lists)
		return nil
	})
	s.at(s.day(reissueDay).Add(10*time.Hour+12*time.Minute), "reissue a label", func() error {
		for _, p := range points {
			if p.site.ent == 0 && p.tpl.name == pointTpls["warehouse"].name {
				_, _, err := s.risk.ReissueQR(s.ctx, s.users["safety01"], p.ID)
				return err
			}
		}
		return errDesign
	})
	s.planHazards()
	return nil
}

// planPatrols schedules a month of patrols of every checklist. It runs as an action (the risk
// points and checklists exist), adding later actions.
func (s *sim) planPatrols(lists []*checklist) {
	type visit struct {
		p                 *rp
		started, finished time.Time
		flag              string
		items             []patrol.Item
	}
	type round struct {
		c      *checklist
		visits []visit
		sync   time.Time
	}
	var rounds []round
	for _, c := range lists {
		for n := HistoryDays - 1; n >= 0; n-- {
			d := s.day(n)
			if c.freq == patrol.Weekly && d.Weekday() != time.Wednesday {
				continue
			}
			flag, forcedMiss := "", false
			for _, sp := range specials {
				if sp.ent == c.ent && sp.freq == c.freq && (sp.day == n || (sp.flag == patrol.FlagStaleQR && n < reissueDay && n >= reissueDay-7)) {
					flag = sp.flag
				}
			}
			for _, m := range missed {
				if m.ent == c.ent && m.freq == c.freq && (m.day == n || (c.freq == patrol.Weekly && n >= m.day-3 && n <= m.day+3)) {
					forcedMiss = true
				}
			}
			miss := s.rnd.Float64() < 0.04
			if forcedMiss || (miss && flag == "") {
				continue
			}
			late := s.rnd.Float64() < 0.05
			t := d.Add(8*time.Hour + 30*time.Minute).Add(time.Duration(s.rnd.IntN(6*60)) * time.Minute)
			if late {
				t = d.Add(21 * time.Hour).Add(time.Duration(s.rnd.IntN(150)) * time.Minute)
			}
			r := round{c: c}
			for _, p := range c.points {
				v := visit{p: p, started: t}
				per := time.Duration(60+s.rnd.IntN(90)) * time.Second
				if flag == patrol.FlagTooFast && len(r.visits) == 0 {
					per, v.flag = 2*time.Second, flag
				} else if flag != "" && flag != patrol.FlagTooFast && len(r.visits) == 0 {
					v.flag = flag
				}
				for _, m := range p.Measures {
					it := patrol.Item{MeasureID: m.ID, Controlled: true, Photos: []string{}}
					if s.rnd.Float64() < 0.012 && m.HazardTemplate != nil {
						it.Controlled, it.Note = false, m.HazardTemplate.Title+"，已告知现场负责人"
					}
					v.items = append(v.items, it)
				}
				v.finished = t.Add(time.Duration(len(v.items)) * per)
				r.visits = append(r.visits, v)
				t = v.finished.Add(time.Duration(3+s.rnd.IntN(8)) * time.Minute)
			}
			last := r.visits[len(r.visits)-1].finished
			r.sync = last.Add(time.Duration(2+s.rnd.IntN(20)) * time.Minute)
			if s.rnd.Float64() < 0.06 { // the phone was offline: synced the next morning
				r.sync = s.day(n - 1).Add(8*time.Hour + time.Duration(s.rnd.IntN(60))*time.Minute)
			}
			if last.After(s.end.Add(-10 * time.Minute)) {
				continue // today's round not done yet
			}
			if r.sync.After(s.end.Add(-2 * time.Minute)) {
				r.sync = last.Add(time.Minute)
			}
			rounds = append(rounds, r)
		}
	}
	for _, r := range rounds {
		a := s.users[r.c.by]
		device := "demo-phone-" + a.Username
		var ms []mutation
		var raised []raisedHazard
		for _, v := range r.visits {
			id := s.uuid()
			loc := map[string]float64{}
			if l := v.p.Location; l != nil {
				dLat, dLng := (s.rnd.Float64()-0.5)*0.0004, (s.rnd.Float64()-0.5)*0.0004
				if v.flag == patrol.FlagFar {
					dLat = 0.011 // about 1.2 km north
				}
				loc["lat"], loc["lng"] = round6(l.Lat+dLat), round6(l.Lng+dLng)
			}
			// 临港石化's warehouse label was reissued: later patrols scan the new one, except the
			// one made with the old label still on the wall.
			p := v.p
			version := 1
			if p.site.ent == 0 && p.tpl.name == pointTpls["warehouse"].name && v.started.After(s.day(reissueDay).Add(10*time.Hour+12*time.Minute)) &&
				v.flag != patrol.FlagStaleQR {
				version = 2
			}
			fields := map[string]any{"risk_point_id": p.ID, "checklist_id": r.c.id, "started_at": rfc(v.started),
				"finished_at": rfc(v.finished), "location": loc, "items": v.items}
			ms = append(ms, mutation{coll: "patrols", id: id, op: "create", fields: fields,
				token: &tokenSpec{p: p, version: version, forged: v.flag == patrol.FlagForgedQR}})
			for _, it := range v.items {
				if it.Controlled {
					continue
				}
				for _, m := range p.Measures {
					if m.ID == it.MeasureID && m.HazardTemplate != nil {
						raised = append(raised, raisedHazard{id: patrol.HazardID(id, m.ID), ent: p.site.ent, at: v.finished,
							title: m.HazardTemplate.Title, major: m.HazardTemplate.Level == risk.HazardMajor, by: a.Username})
					}
				}
			}
		}
		s.at(r.sync, "patrols of "+a.Username, func() error {
			for i := range ms {
				if t := ms[i].token; t != nil {
					ms[i].fields["qr_token"] = s.token(t)
				}
			}
			return s.push(a, device, ms...)
		})
		for _, h := range raised {
			s.hazardLoop(hazardPlan{id: h.id, ent: h.ent, title: h.title, major: h.major, reportedAt: h.at, by: h.by, fromPatrol: true,
				final: finalByAge(s.end.Sub(h.at), s.ents[h.ent].ID, s)})
		}
	}
}

type tokenSpec struct {
	p       *rp
	version int
	forged  bool
}

// token is the text of the point's label at a version; a forged one has a broken signature.
func (s *sim) token(t *tokenSpec) string {
	p := t.p.RiskPoint
	p.QRVersion = t.version
	tok := []byte(s.risk.Token(p))
	if t.forged {
		i := len(tok) - 6
		if tok[i] == 'A' {
			tok[i] = 'B'
		} else {
			tok[i] = 'A'
		}
	}
	return string(tok)
}

type raisedHazard struct {
	id, title, by string
	ent           int
	at            time.Time
	major         bool
}
