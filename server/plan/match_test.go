package plan_test

import (
	"reflect"
	"testing"

	"github.com/yingji/yingji/server/plan"
)

// chlorinePlan is a hazardous-chemicals plan with the usual four levels.
func chlorinePlan() plan.Plan {
	return plan.Plan{Content: plan.Content{
		Events: []plan.Event{{Class: plan.ClassAccident, SubType: "危险化学品事故"}},
		Levels: []plan.ResponseLevel{
			{Level: 3, Match: "any", Conditions: []plan.Condition{
				{Metric: plan.MetricDeaths, Op: ">=", Value: 3, Text: "造成 3 人以上死亡"},
				{Metric: plan.MetricRelease, Op: ">=", Value: 1, Subject: "液氯", Text: "液氯泄漏 1 吨以上"},
			}},
			{Level: 1, Match: "any", Conditions: []plan.Condition{
				{Metric: plan.MetricDeaths, Op: ">=", Value: 30, Text: "造成 30 人以上死亡"},
				{Metric: plan.MetricOther, Text: "省政府要求启动一级响应"},
			}},
			{Level: 2, Match: "any", Conditions: []plan.Condition{
				{Metric: plan.MetricDeaths, Op: ">=", Value: 10},
				{Metric: plan.MetricEconomicLoss, Op: ">=", Value: 5000},
			}},
			{Level: 4, Match: "all", Conditions: []plan.Condition{
				{Metric: plan.MetricInjuries, Op: ">", Value: 0},
				{Metric: plan.MetricAffected, Op: ">=", Value: 100},
			}},
		},
	}}
}

func fig(m plan.Metric, v float64) plan.Figure { return plan.Figure{Metric: m, Value: v} }

func TestMatch(t *testing.T) {
	p := chlorinePlan()
	cases := []struct {
		name    string
		f       plan.Figures
		level   int
		reasons []int // condition indexes that held
		explain string
	}{
		{"OK/level one by deaths", plan.Figures{Values: []plan.Figure{fig(plan.MetricDeaths, 31)}}, 1, []int{0},
			"满足一级响应启动条件第 1 条“死亡（含失踪）人数 ≥ 30人”（实际 31）"},
		{"OK/boundary is inclusive (以上)", plan.Figures{Values: []plan.Figure{fig(plan.MetricDeaths, 10)}}, 2, []int{0},
			"满足二级响应启动条件第 1 条“死亡（含失踪）人数 ≥ 10人”（实际 10）"},
		{"OK/the highest level wins", plan.Figures{Values: []plan.Figure{fig(plan.MetricDeaths, 4), fig(plan.MetricEconomicLoss, 6000)}}, 2, []int{1},
			"满足二级响应启动条件第 2 条“直接经济损失 ≥ 5000万元”（实际 6000）"},
		{"OK/subject must match", plan.Figures{Values: []plan.Figure{{Metric: plan.MetricRelease, Subject: "液氯", Value: 1.5}}}, 3, []int{1},
			"满足三级响应启动条件第 2 条“液氯 危险化学品泄漏量 ≥ 1吨”（实际 1.5）"},
		{"OK/all needs every condition", plan.Figures{Values: []plan.Figure{fig(plan.MetricInjuries, 2), fig(plan.MetricAffected, 150)}}, 4, []int{0, 1},
			"满足四级响应启动条件第 1 条“重伤（含中毒）人数 ＞ 0人”（实际 2）、第 2 条“受影响需转移安置人数 ≥ 100人”（实际 150）"},
		{"ErrNoMatch/other subject", plan.Figures{Values: []plan.Figure{{Metric: plan.MetricRelease, Subject: "液氨", Value: 5}}}, 0, nil,
			"未达到任何一级响应的量化启动条件，另有不能量化的条件须人工研判"},
		{"ErrNoMatch/all with one missing", plan.Figures{Values: []plan.Figure{fig(plan.MetricInjuries, 2)}}, 0, nil,
			"未达到任何一级响应的量化启动条件，另有不能量化的条件须人工研判"},
		{"ErrNoMatch/other event type", plan.Figures{Class: plan.ClassNatural, Values: []plan.Figure{fig(plan.MetricDeaths, 50)}}, 0, nil,
			"该预案不适用于此类事件"},
		{"OK/same class and sub-type", plan.Figures{Class: plan.ClassAccident, SubType: "危险化学品事故", Values: []plan.Figure{fig(plan.MetricDeaths, 3)}}, 3, []int{0},
			"满足三级响应启动条件第 1 条“死亡（含失踪）人数 ≥ 3人”（实际 3）"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := plan.Match(p, c.f)
			if r.Level != c.level || r.Matched != (c.level > 0) {
				t.Fatalf("level = %d matched %v, want %d (%s)", r.Level, r.Matched, c.level, r.Explanation)
			}
			var got []int
			for _, x := range r.Reasons {
				got = append(got, x.Condition)
			}
			if !reflect.DeepEqual(got, c.reasons) {
				t.Errorf("reasons = %v, want %v", got, c.reasons)
			}
			if r.Explanation != c.explain {
				t.Errorf("explanation = %q, want %q", r.Explanation, c.explain)
			}
		})
	}
	// The manual condition of level one is listed for a person to judge.
	r := plan.Match(p, plan.Figures{Values: []plan.Figure{fig(plan.MetricDeaths, 3)}})
	if len(r.Manual) != 1 || r.Manual[0] != "一级响应：省政府要求启动一级响应" {
		t.Errorf("manual = %q", r.Manual)
	}
}

func TestValidate(t *testing.T) {
	ok := plan.Plan{Title: "临江市危险化学品事故专项应急预案", Kind: plan.KindSpecial, Level: plan.LevelCity, OrgUnitID: "u",
		Content: chlorinePlan().Content}
	ok.Normalize()
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid plan refused: %v", err)
	}
	bad := []struct {
		name string
		edit func(p *plan.Plan)
	}{
		{"ErrTitle", func(p *plan.Plan) { p.Title = "" }},
		{"ErrKind", func(p *plan.Plan) { p.Kind = "x" }},
		{"ErrEnterpriseLevel", func(p *plan.Plan) { p.Level = plan.LevelEnterprise }},
		{"ErrLevel5", func(p *plan.Plan) { p.Content.Levels[0].Level = 5 }},
		{"ErrDupLevel", func(p *plan.Plan) { p.Content.Levels[1].Level = p.Content.Levels[0].Level }},
		{"ErrMetric", func(p *plan.Plan) { p.Content.Levels[0].Conditions[0].Metric = "x" }},
		{"ErrOp", func(p *plan.Plan) { p.Content.Levels[0].Conditions[0].Op = "=" }},
		{"ErrGrade", func(p *plan.Plan) { p.Content.Events[0].Grades = []string{"超大"} }},
		{"ErrOtherWithoutText", func(p *plan.Plan) { p.Content.Levels[0].Conditions[1] = plan.Condition{Metric: plan.MetricOther} }},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			p := ok
			p.Content = chlorinePlan().Content
			p.Normalize()
			c.edit(&p)
			if err := p.Validate(); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
