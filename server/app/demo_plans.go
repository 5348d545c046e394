package app

import (
	"context"
	"fmt"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/yingji"
)

// loadDemoPlans adds the demo city's published plans: the city's comprehensive plan, its
// hazardous-chemicals and flood special plans, and an on-site plan of 临港石化储运有限公司.
func (m *Main) loadDemoPlans(ctx context.Context) error {
	st := m.store
	cities, err := st.ListUnits(ctx, org.UnitFilter{Code: "339900"})
	if err != nil || len(cities) == 0 {
		return fmt.Errorf("demo plans: city: %w", err)
	}
	city := cities[0]
	ents, err := st.ListEnterprises(ctx, org.EnterpriseFilter{Q: "临港石化储运"}, yingji.ListParams{})
	if err != nil || len(ents.Items) == 0 {
		return fmt.Errorf("demo plans: enterprise: %w", err)
	}
	ent := ents.Items[0]
	now := m.now().UTC()
	mk := func(p plan.Plan) plan.Plan {
		p.ID, p.PlanID, p.Version, p.Status = yingji.NewID(), yingji.NewID(), 1, plan.StatusPublished
		p.AuthorName, p.ReviewerName, p.ReviewComment = "市应急管理局预案管理科", "李管理", "演示数据"
		p.CreatedAt, p.UpdatedAt, p.PublishedAt = now, now, &now
		if p.Level == plan.LevelEnterprise {
			p.EnterpriseID, p.OrgPath = ent.ID, ent.OrgPath
			p.AuthorName, p.ReviewerName = "吴安全", "郑厂长"
		} else {
			p.OrgUnitID, p.OrgPath = city.ID, city.Path
		}
		p.Normalize()
		return p
	}
	deaths := func(n float64, text string) plan.Condition {
		return plan.Condition{Metric: plan.MetricDeaths, Op: ">=", Value: n, Text: text}
	}
	hq := []plan.Role{
		{Group: plan.GroupHeadquarters, Name: "总指挥", Department: "临江市人民政府", People: []plan.Person{{Name: "林志远", Title: "市长", Phone: "0571-86000001"}},
			Duties: "统一领导、指挥全市突发事件应对工作，决定启动和终止市级响应"},
		{Group: plan.GroupHeadquarters, Name: "副总指挥", Department: "临江市应急管理局", People: []plan.Person{{Name: "高文博", Title: "局长", Phone: "0571-86000002"}},
			Duties: "协助总指挥工作，组织会商研判，协调各成员单位"},
		{Group: plan.GroupOnSite, Name: "现场指挥长", Department: "事发地区县人民政府", Duties: "组织现场处置、人员疏散和信息报送"},
		{Group: plan.GroupWorking, Name: "抢险救援组", Department: "市消防救援支队、临江市综合应急救援支队", Duties: "人员搜救、险情控制、工程抢险"},
		{Group: plan.GroupWorking, Name: "医疗救护组", Department: "市卫生健康委员会", Duties: "伤员救治、转运和卫生防疫"},
		{Group: plan.GroupWorking, Name: "治安警戒组", Department: "市公安局", Duties: "现场警戒、交通管制、维护秩序"},
	}
	contacts := []plan.Contact{
		{Name: "市应急指挥中心值班室", Department: "临江市应急管理局", Post: "24 小时值班", Phone: "0571-86012350"},
		{Name: "市消防救援支队指挥中心", Department: "临江市消防救援支队", Post: "调度", Phone: "0571-86000119"},
		{Name: "市急救中心", Department: "临江市卫生健康委员会", Post: "调度", Phone: "0571-86000120"},
	}
	plans := []plan.Plan{
		mk(plan.Plan{Code: "LJYA-2026-001", Title: "临江市突发事件总体应急预案", Kind: plan.KindComprehensive, Level: plan.LevelCity,
			Content: plan.Content{
				Summary:      "为健全本市突发事件应对工作机制，有效预防和处置各类突发事件，保障人民群众生命财产安全，制定本预案。本预案适用于本市行政区域内发生的自然灾害、事故灾难、公共卫生事件和社会安全事件的应对工作。",
				Events:       []plan.Event{{Class: plan.ClassNatural}, {Class: plan.ClassAccident}, {Class: plan.ClassHealth}, {Class: plan.ClassSocial}},
				Organization: hq,
				Levels: []plan.ResponseLevel{
					{Level: 1, Match: "any", Leader: "市长任总指挥", Conditions: []plan.Condition{deaths(30, "造成 30 人以上死亡（含失踪）"),
						{Metric: plan.MetricInjuries, Op: ">=", Value: 100, Text: "100 人以上重伤"}, {Metric: plan.MetricEconomicLoss, Op: ">=", Value: 10000, Text: "直接经济损失 1 亿元以上"},
						{Metric: plan.MetricOther, Text: "省人民政府要求启动一级响应"}},
						Measures: []string{"市应急委员会全体成员到岗，成立现场指挥部", "报请省人民政府支援", "发布社会动员令和公众防护指引"}},
					{Level: 2, Match: "any", Leader: "分管副市长任总指挥", Conditions: []plan.Condition{deaths(10, "造成 10 人以上 30 人以下死亡"),
						{Metric: plan.MetricInjuries, Op: ">=", Value: 50}, {Metric: plan.MetricEconomicLoss, Op: ">=", Value: 5000}},
						Measures: []string{"市应急指挥部主要成员到岗", "调派市级救援队伍和物资", "每 2 小时向省政府报告一次"}},
					{Level: 3, Match: "any", Leader: "市应急管理局局长任总指挥", Conditions: []plan.Condition{deaths(3, "造成 3 人以上 10 人以下死亡"),
						{Metric: plan.MetricInjuries, Op: ">=", Value: 10}, {Metric: plan.MetricEconomicLoss, Op: ">=", Value: 1000}, {Metric: plan.MetricAffected, Op: ">=", Value: 1000}},
						Measures: []string{"市应急管理局牵头会商，派出工作组赶赴现场", "协调相关区县和部门支援"}},
					{Level: 4, Match: "any", Leader: "事发区县人民政府负责人任总指挥", Conditions: []plan.Condition{deaths(1, "造成 1 人以上 3 人以下死亡"),
						{Metric: plan.MetricInjuries, Op: ">=", Value: 3}},
						Measures: []string{"事发区县启动响应，市应急管理局跟踪指导"}},
				},
				Chapters: []plan.Chapter{
					{Title: "预防与预警", Body: "各级各部门开展风险辨识评估和隐患排查治理，建立健全监测网络。预警级别分为一级、二级、三级和四级，分别用红色、橙色、黄色和蓝色标示。"},
					{Title: "信息报告", Body: "事发单位和基层组织应当在 30 分钟内电话报告、1 小时内书面报告事发地区县人民政府和有关部门。"},
					{Title: "后期处置", Body: "应急处置结束后，事发地人民政府组织开展善后处置、调查评估和恢复重建工作。"},
				},
				Resources: []plan.Resource{{Kind: "队伍", Name: "临江市综合应急救援支队", Quantity: 120, Unit: "人", Location: "江南区滨江大道 99 号"},
					{Kind: "物资", Name: "救灾帐篷", Quantity: 500, Unit: "顶", Location: "市应急物资储备库"}},
				Contacts: contacts,
			}}),
		mk(plan.Plan{Code: "LJYA-2026-011", Title: "临江市危险化学品事故专项应急预案", Kind: plan.KindSpecial, Level: plan.LevelCity,
			Content: plan.Content{
				Summary: "适用于本市行政区域内危险化学品生产、经营、储存、使用、运输和废弃处置过程中发生的火灾、爆炸、泄漏、中毒等事故的应对。",
				Events:  []plan.Event{{Class: plan.ClassAccident, SubType: "危险化学品事故"}},
				Organization: append(hq[:2:2], plan.Role{Group: plan.GroupWorking, Name: "环境监测组", Department: "市生态环境局",
					Duties: "开展大气、水体应急监测，划定污染范围，提出防护和疏散建议"},
					plan.Role{Group: plan.GroupWorking, Name: "专家组", Department: "市危险化学品应急专家库", Duties: "研判事故发展趋势，提出处置技术方案"}),
				Levels: []plan.ResponseLevel{
					{Level: 1, Match: "any", Conditions: []plan.Condition{deaths(30, ""), {Metric: plan.MetricAffected, Op: ">=", Value: 100000, Text: "需紧急疏散转移 10 万人以上"}},
						Measures: []string{"请求省危险化学品应急救援基地支援"}},
					{Level: 2, Match: "any", Conditions: []plan.Condition{deaths(10, ""), {Metric: plan.MetricRelease, Op: ">=", Value: 10, Subject: "液氯", Text: "液氯泄漏 10 吨以上"},
						{Metric: plan.MetricAffected, Op: ">=", Value: 10000}},
						Measures: []string{"划定下风向 1000 米以上疏散区", "调派危险化学品专业救援队伍和洗消力量"}},
					{Level: 3, Match: "any", Conditions: []plan.Condition{deaths(3, ""), {Metric: plan.MetricRelease, Op: ">=", Value: 1, Subject: "液氯", Text: "液氯泄漏 1 吨以上"},
						{Metric: plan.MetricRelease, Op: ">=", Value: 5, Subject: "液氨", Text: "液氨泄漏 5 吨以上"}},
						Measures: []string{"市应急管理局派出工作组和专家组", "启动环境应急监测"}},
					{Level: 4, Match: "any", Conditions: []plan.Condition{deaths(1, ""), {Metric: plan.MetricRelease, Op: ">", Value: 0, Text: "发生危险化学品泄漏且未能在 30 分钟内控制"}},
						Measures: []string{"事发企业启动现场处置方案，园区应急救援队伍到场"}},
				},
				Chapters: []plan.Chapter{
					{Title: "液氯储罐泄漏处置", Body: "立即关闭液氯储罐进出口阀门，启动事故氯吸收装置；处置人员佩戴正压式空气呼吸器、穿全封闭防化服；用雾状水或稀碱液吸收，严禁向液氯直接喷水；疏散下风向人员。"},
					{Title: "液氨泄漏处置", Body: "消除点火源，划定警戒区；用雾状水稀释吸收，禁止用水直接冲击液氨；监测周边氨气浓度。"},
					{Title: "危险化学品火灾扑救", Body: "查明着火物质，选择适用的灭火剂；持续冷却受火势威胁的储罐；对可能发生沸溢、喷溅的油罐，及时撤离人员。"},
				},
				Resources: []plan.Resource{{Kind: "队伍", Name: "临港园区危化品救援队", Quantity: 40, Unit: "人", Location: "临港化工园区"},
					{Kind: "装备", Name: "正压式空气呼吸器", Quantity: 60, Unit: "套", Location: "临港化工园区应急物资库"},
					{Kind: "物资", Name: "氢氧化钠（片碱）", Quantity: 20, Unit: "吨", Location: "临江氯碱化工股份有限公司"}},
				Contacts: contacts,
			}}),
		mk(plan.Plan{Code: "LJYA-2026-021", Title: "临江市防汛防台专项应急预案", Kind: plan.KindSpecial, Level: plan.LevelCity,
			Content: plan.Content{
				Summary: "适用于本市行政区域内台风、暴雨、洪水、山洪和地质灾害等水旱灾害的防御和应急处置。",
				Events:  []plan.Event{{Class: plan.ClassNatural, SubType: "水旱灾害"}, {Class: plan.ClassNatural, SubType: "气象灾害"}},
				Organization: []plan.Role{
					{Group: plan.GroupHeadquarters, Name: "总指挥", Department: "临江市防汛防台抗旱指挥部", People: []plan.Person{{Name: "林志远", Title: "市长", Phone: "0571-86000001"}}},
					{Group: plan.GroupHeadquarters, Name: "指挥部办公室", Department: "临江市应急管理局、临江市水利局", Duties: "值班值守、会商研判、发布预警和响应指令"},
					{Group: plan.GroupWorking, Name: "人员转移组", Department: "各乡镇（街道）", Duties: "按“应转尽转、应转早转”转移危险区域群众，落实安置和回流管控"},
				},
				Levels: []plan.ResponseLevel{
					{Level: 1, Match: "any", Conditions: []plan.Condition{{Metric: plan.MetricWaterLevel, Op: ">=", Value: 6.5, Subject: "临江水文站", Text: "临江水文站水位达到历史最高水位 6.50 米"},
						{Metric: plan.MetricAffected, Op: ">=", Value: 50000}}, Measures: []string{"全市进入紧急防汛期", "停工、停业、停课"}},
					{Level: 2, Match: "any", Conditions: []plan.Condition{{Metric: plan.MetricWaterLevel, Op: ">=", Value: 5.8, Subject: "临江水文站", Text: "达到保证水位 5.80 米"},
						{Metric: plan.MetricAffected, Op: ">=", Value: 10000}}, Measures: []string{"转移山洪和地质灾害危险区全部人员", "水库按调度令预泄"}},
					{Level: 3, Match: "any", Conditions: []plan.Condition{{Metric: plan.MetricWaterLevel, Op: ">=", Value: 4.5, Subject: "临江水文站", Text: "超过警戒水位 4.50 米"},
						{Metric: plan.MetricAffected, Op: ">=", Value: 1000}}, Measures: []string{"巡查堤防、水库和危险房屋", "转移危房和低洼地区人员"}},
					{Level: 4, Match: "any", Conditions: []plan.Condition{{Metric: plan.MetricWaterLevel, Op: ">=", Value: 4.0, Subject: "临江水文站", Text: "接近警戒水位"},
						{Metric: plan.MetricOther, Text: "气象部门发布台风蓝色或暴雨黄色预警"}}, Measures: []string{"加强值班和会商", "检查防汛物资"}},
				},
				Chapters: []plan.Chapter{{Title: "人员转移", Body: "危险区域人员由乡镇（街道）组织转移，落实包保责任：乡镇领导包村、村干部包组、党员包户；逐户点名，确认已转移、已安置。"}},
				Resources: []plan.Resource{{Kind: "物资", Name: "编织袋", Quantity: 50000, Unit: "只", Location: "市防汛物资仓库"},
					{Kind: "装备", Name: "冲锋舟", Quantity: 12, Unit: "艘", Location: "市防汛物资仓库"}},
				Contacts: contacts,
			}}),
		mk(plan.Plan{Code: "LGSH-XC-003", Title: "液氯储罐泄漏现场处置方案", Kind: plan.KindOnSite, Level: plan.LevelEnterprise,
			Content: plan.Content{
				Summary: "适用于本公司罐区液氯储罐及其管道、阀门发生泄漏时的现场处置。",
				Events:  []plan.Event{{Class: plan.ClassAccident, SubType: "危险化学品事故"}},
				Organization: []plan.Role{
					{Group: plan.GroupOnSite, Name: "现场负责人", Department: "生产部", People: []plan.Person{{Name: "郑厂长", Title: "厂长"}}, Duties: "下达处置指令，决定是否请求外部救援"},
					{Group: plan.GroupOnSite, Name: "处置组", Department: "罐区班组", Duties: "佩戴空气呼吸器关阀堵漏，启动氯吸收装置"},
					{Group: plan.GroupOnSite, Name: "警戒疏散组", Department: "安全环保部", People: []plan.Person{{Name: "吴安全", Title: "安全员"}}, Duties: "设置警戒线，引导人员向上风向疏散"},
				},
				Levels: []plan.ResponseLevel{
					{Level: 3, Match: "any", Conditions: []plan.Condition{{Metric: plan.MetricRelease, Op: ">=", Value: 1, Subject: "液氯", Text: "泄漏量 1 吨以上或无法关阀"}},
						Measures: []string{"立即拨打 119 和园区应急救援电话", "报告临港化工园区街道和市应急管理局"}},
					{Level: 4, Match: "any", Conditions: []plan.Condition{{Metric: plan.MetricRelease, Op: ">", Value: 0, Subject: "液氯", Text: "发生泄漏"}},
						Measures: []string{"关闭液氯储罐进出口阀门", "启动事故氯吸收装置", "疏散下风向人员"}},
				},
				Chapters: []plan.Chapter{
					{Title: "事故风险描述", Body: "罐区设 2 台 50 吨液氯储罐，泄漏后氯气比空气重，沿地面向下风向扩散，可造成人员中毒。"},
					{Title: "应急处置", Body: "发现泄漏立即报告中控室；处置人员佩戴正压式空气呼吸器、穿全封闭防化服进入；关闭进出口阀门，倒罐至备用储罐；用雾状水或碱液吸收，严禁向液氯直接喷水。"},
					{Title: "注意事项", Body: "先防护后处置；两人以上协同作业；处置后对人员和器材洗消。"},
				},
				Resources: []plan.Resource{{Kind: "装备", Name: "正压式空气呼吸器", Quantity: 8, Unit: "套", Location: "罐区应急柜"},
					{Kind: "装备", Name: "全封闭防化服", Quantity: 4, Unit: "套", Location: "罐区应急柜"},
					{Kind: "物资", Name: "碱液（20% 氢氧化钠溶液）", Quantity: 10, Unit: "吨", Location: "事故氯吸收装置"}},
				Contacts: []plan.Contact{{Name: "中控室", Department: "临港石化储运有限公司", Post: "24 小时值班", Phone: "0571-86300001"},
					{Name: "园区应急救援队", Department: "临港化工园区", Post: "值班", Phone: "0571-86300119"}},
			}}),
	}
	for i := range plans {
		if err := plans[i].Validate(); err != nil {
			return fmt.Errorf("demo plan %s: %w", plans[i].Title, err)
		}
	}
	return st.CreatePlans(ctx, plans)
}
