package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/yingji"
)

// The demo city's emergency resources: teams, experts, depots with their stock, shelters,
// hospitals, police and fire stations and the one-map's targets, placed around 临江市 (the
// 临港 chemical park near 30.22 N 120.35 E, 滨江街道 near 30.21 N 120.21 E, 青山镇 near
// 30.05 N 119.90 E, 临溪镇 near 30.01 N 119.84 E). Supply codes are GB/T 38565 大类 codes only
// (1 基本生活保障物资, 2 应急装备及配套物资, 3 工程材料与机械加工设备).

type demoRes struct {
	kind                 resource.Kind
	name, category, sub  string
	unit                 string // unit code (grid: township/Gxx), or e:NAME of a demo enterprise
	lat, lng             float64
	contact, phone, addr string
	accidents            []string
	d                    resource.Details
	holder               string // supply: the depot's or team's name
	qty                  float64
	measure, code        string
	status               resource.Status
}

func demoResources() []demoRes {
	fire := []string{"火灾", "爆炸", "危险化学品泄漏", "中毒和窒息"}
	flood := []string{"洪涝", "溺水", "山体滑坡"}
	return []demoRes{
		// Depots first: supplies name them.
		{kind: resource.KindDepot, name: "临江市应急物资储备库", category: "市级", unit: "339900", lat: 30.2152, lng: 120.2610,
			contact: "储备库值班室", phone: "0571-86101200", addr: "江南区仓储路 8 号", d: resource.Details{Area: 3200}},
		{kind: resource.KindDepot, name: "江南区防汛物资仓库", category: "区县级", unit: "339901", lat: 30.1984, lng: 120.2331,
			contact: "林仓管", phone: "0571-86101201", addr: "江南区江堤路 66 号", d: resource.Details{Area: 1200}},
		{kind: resource.KindDepot, name: "青山镇应急物资储备点", category: "乡镇（街道）级", unit: "339902001", lat: 30.0493, lng: 119.9052,
			contact: "郑站长", phone: "13957120301", addr: "青山镇民生路 2 号", d: resource.Details{Area: 300}},
		{kind: resource.KindDepot, name: "临港园区危化应急物资库", category: "乡镇（街道）级", unit: "339901002/G01", lat: 30.2214, lng: 120.3489,
			contact: "园区应急办", phone: "0571-86101203", addr: "临港化工园区纬二路 5 号", d: resource.Details{Area: 600}},

		{kind: resource.KindTeam, name: "青山县森林消防专业队", category: "专业", sub: "森林消防", unit: "339902", lat: 30.0562, lng: 119.9201,
			contact: "何队长", phone: "13957120401", addr: "青山镇林场路 1 号", accidents: []string{"森林火灾"},
			d: resource.Details{Members: 45, Equipment: "风力灭火机 30 台、森林消防车 4 辆"}},
		{kind: resource.KindTeam, name: "临溪水上救援队", category: "社会", sub: "水上救援", unit: "339902002", lat: 30.0118, lng: 119.8382,
			contact: "蒋队长", phone: "13957120402", addr: "临溪镇溪口村", accidents: flood, d: resource.Details{Members: 24, Equipment: "冲锋舟 3 艘、救生抛投器 6 具"}},
		{kind: resource.KindTeam, name: "临江蓝天救援队", category: "社会", sub: "综合救援", unit: "339901001", lat: 30.2068, lng: 120.2121,
			contact: "沈队长", phone: "13957120403", addr: "滨江街道江滨路 20 号", accidents: []string{"洪涝", "坍塌", "溺水"},
			d: resource.Details{Members: 60, Equipment: "生命探测仪 2 台、救援绳索 20 套"}},
		{kind: resource.KindTeam, name: "临溪矿山救护队", category: "专业", sub: "矿山救援", unit: "339902002", lat: 30.0211, lng: 119.8543,
			contact: "陶队长", phone: "13957120404", addr: "临溪镇石门村", accidents: []string{"坍塌", "中毒和窒息", "透水"},
			d: resource.Details{Members: 18, Equipment: "正压氧气呼吸器 20 台"}},
		{kind: resource.KindTeam, name: "临江氯碱化工企业应急救援队", category: "专业", sub: "危化品救援", unit: "e:临江氯碱化工股份有限公司", lat: 30.2195, lng: 120.3482,
			contact: "韩主任", phone: "13957120405", addr: "临港化工园区纬一路 8 号", accidents: fire,
			d: resource.Details{Members: 20, Equipment: "堵漏工具 4 套、重型防化服 12 套"}},

		{kind: resource.KindSupply, name: "救生衣", category: "防汛抗旱", holder: "江南区防汛物资仓库", qty: 800, measure: "件", code: "2", d: resource.Details{Spec: "成人 150N"}},
		{kind: resource.KindSupply, name: "冲锋舟", category: "防汛抗旱", holder: "江南区防汛物资仓库", qty: 6, measure: "艘", code: "2", d: resource.Details{Spec: "5.2 米 带 40 马力舷外机"}},
		{kind: resource.KindSupply, name: "编织袋（沙袋）", category: "防汛抗旱", holder: "江南区防汛物资仓库", qty: 20000, measure: "条", code: "3"},
		{kind: resource.KindSupply, name: "抽水泵", category: "防汛抗旱", holder: "青山镇应急物资储备点", qty: 12, measure: "台", code: "2"},
		{kind: resource.KindSupply, name: "救灾帐篷", category: "生活保障", holder: "临江市应急物资储备库", qty: 300, measure: "顶", code: "1", d: resource.Details{Spec: "12 平方米单帐篷"}},
		{kind: resource.KindSupply, name: "折叠床", category: "生活保障", holder: "临江市应急物资储备库", qty: 800, measure: "张", code: "1"},
		{kind: resource.KindSupply, name: "棉被", category: "生活保障", holder: "临江市应急物资储备库", qty: 1500, measure: "床", code: "1"},
		{kind: resource.KindSupply, name: "柴油发电机", category: "照明动力", holder: "临江市应急物资储备库", qty: 10, measure: "台", code: "2", d: resource.Details{Spec: "30 kW"}},
		{kind: resource.KindSupply, name: "重型防化服", category: "危化品处置", holder: "临港园区危化应急物资库", qty: 40, measure: "套", code: "2"},
		{kind: resource.KindSupply, name: "正压式空气呼吸器", category: "危化品处置", holder: "临港园区危化应急物资库", qty: 30, measure: "具", code: "2"},
		{kind: resource.KindSupply, name: "吸附棉", category: "危化品处置", holder: "临港园区危化应急物资库", qty: 2, measure: "吨", code: "3"},
		{kind: resource.KindSupply, name: "风力灭火机", category: "森林防灭火", holder: "青山县森林消防专业队", qty: 30, measure: "台", code: "2", status: resource.StatusAvailable},

		{kind: resource.KindExpert, name: "张明远", category: "危化", unit: "339900", lat: 30.2121, lng: 120.2156, phone: "13957120501",
			d: resource.Details{Sex: "男", BirthMonth: "1972-03", Employer: "临江化工研究院", Title: "正高级工程师", Specialty: "氯碱工艺安全、泄漏处置"}},
		{kind: resource.KindExpert, name: "李晓红", category: "水利", unit: "339900", lat: 30.2088, lng: 120.2201, phone: "13957120502",
			d: resource.Details{Sex: "女", BirthMonth: "1979-11", Employer: "临江市水利水电勘测设计院", Title: "高级工程师", Specialty: "水库调度、堤防抢险"}},
		{kind: resource.KindExpert, name: "王建华", category: "地质灾害", unit: "339902", lat: 30.0511, lng: 119.9003, phone: "13957120503",
			d: resource.Details{Sex: "男", BirthMonth: "1968-07", Employer: "青山县自然资源局", Title: "高级工程师", Specialty: "滑坡、泥石流监测"}},
		{kind: resource.KindExpert, name: "周丽", category: "心理疏导", unit: "339900", lat: 30.2115, lng: 120.2063, phone: "13957120504",
			d: resource.Details{Sex: "女", BirthMonth: "1985-02", Employer: "临江市第一人民医院", Title: "主任医师", Specialty: "灾后心理危机干预"}},
		{kind: resource.KindExpert, name: "陈国栋", category: "矿山", unit: "339902002", lat: 30.0205, lng: 119.8511, phone: "13957120505",
			d: resource.Details{Sex: "男", BirthMonth: "1970-09", Employer: "临溪矿业有限公司", Title: "高级工程师", Specialty: "非煤矿山通风与救护"}},
		{kind: resource.KindExpert, name: "刘海涛", category: "森林火灾", unit: "339902", lat: 30.0540, lng: 119.9150, phone: "13957120506",
			d: resource.Details{Sex: "男", BirthMonth: "1976-12", Employer: "青山县林业站", Title: "工程师", Specialty: "林火行为与扑救指挥"}},
		{kind: resource.KindExpert, name: "赵敏", category: "环境保护", unit: "339900", lat: 30.2070, lng: 120.2250, phone: "13957120507",
			d: resource.Details{Sex: "女", BirthMonth: "1981-04", Employer: "临江市生态环境监测站", Title: "高级工程师", Specialty: "突发环境事件应急监测"}},
		{kind: resource.KindExpert, name: "孙志强", category: "交通", unit: "339901", lat: 30.2002, lng: 120.2288, phone: "13957120508",
			d: resource.Details{Sex: "男", BirthMonth: "1974-08", Employer: "江南区交通运输局", Title: "高级工程师", Specialty: "危险货物道路运输事故处置"}},

		{kind: resource.KindShelter, name: "滨江中学应急避难场所", category: "室内", unit: "339901001/G01", lat: 30.2093, lng: 120.2078,
			contact: "滨江中学总务处", phone: "0571-86101301", addr: "滨江街道学府路 3 号", d: resource.Details{Area: 6000, Capacity: 2000}},
		{kind: resource.KindShelter, name: "临江市中心广场避难场所", category: "室外", unit: "339901001", lat: 30.2110, lng: 120.2132,
			contact: "城管执法中队", phone: "0571-86101302", addr: "滨江街道中心大道", d: resource.Details{Area: 45000, Capacity: 10000}},
		{kind: resource.KindShelter, name: "临港园区应急避难场所", category: "室外", unit: "339901002/G01", lat: 30.2240, lng: 120.3405,
			contact: "园区应急办", phone: "0571-86101203", addr: "临港化工园区纬一路北侧", d: resource.Details{Area: 12000, Capacity: 3000, Occupancy: 0}},
		{kind: resource.KindShelter, name: "青山镇文化礼堂", category: "室内", unit: "339902001/G02", lat: 30.0478, lng: 119.8972,
			contact: "青山镇文化站", phone: "13957120601", addr: "青山镇民生路 20 号", d: resource.Details{Area: 900, Capacity: 500}},
		{kind: resource.KindShelter, name: "临溪镇中心小学", category: "室内", unit: "339902002", lat: 30.0160, lng: 119.8421,
			contact: "临溪镇中心小学", phone: "13957120602", addr: "临溪镇田园路 2 号", d: resource.Details{Area: 3000, Capacity: 800}},

		{kind: resource.KindMedical, name: "临江市第一人民医院", category: "三级甲等", unit: "339900", lat: 30.2118, lng: 120.2058,
			contact: "急诊科", phone: "0571-86101120", addr: "滨江街道健康路 1 号", d: resource.Details{Ambulances: 12, Beds: 1500, Doctors: 520, Nurses: 860}},
		{kind: resource.KindMedical, name: "江南区人民医院", category: "二级甲等", unit: "339901", lat: 30.2020, lng: 120.2405,
			contact: "急诊科", phone: "0571-86101121", addr: "江南区人民路 50 号", d: resource.Details{Ambulances: 6, Beds: 600, Doctors: 180, Nurses: 320}},
		{kind: resource.KindMedical, name: "青山县中医院", category: "二级乙等", unit: "339902", lat: 30.0532, lng: 119.9081,
			contact: "急诊科", phone: "0571-86101122", addr: "青山镇中医路 8 号", d: resource.Details{Ambulances: 4, Beds: 300, Doctors: 90, Nurses: 150}},
		{kind: resource.KindMedical, name: "临溪镇卫生院", category: "一级", unit: "339902002", lat: 30.0142, lng: 119.8395,
			contact: "值班室", phone: "0571-86101123", addr: "临溪镇建材路 12 号", d: resource.Details{Ambulances: 1, Beds: 40, Doctors: 12, Nurses: 18}},

		{kind: resource.KindPolice, name: "滨江派出所", category: "派出所", unit: "339901001", lat: 30.2079, lng: 120.2172,
			contact: "值班民警", phone: "0571-86101110", addr: "滨江街道江滨路 99 号", d: resource.Details{People: 45, Vehicles: 8}},
		{kind: resource.KindPolice, name: "临港派出所", category: "派出所", unit: "339901002", lat: 30.2169, lng: 120.3395,
			contact: "值班民警", phone: "0571-86101111", addr: "临港化工园区物流大道 2 号", d: resource.Details{People: 30, Vehicles: 6}},
		{kind: resource.KindPolice, name: "江南交警大队", category: "交警", unit: "339901", lat: 30.1995, lng: 120.2360,
			contact: "指挥室", phone: "0571-86101112", addr: "江南区人民路 88 号", d: resource.Details{People: 80, Vehicles: 25}},
		{kind: resource.KindPolice, name: "青山镇派出所", category: "派出所", unit: "339902001", lat: 30.0505, lng: 119.9021,
			contact: "值班民警", phone: "0571-86101113", addr: "青山镇商贸街 1 号", d: resource.Details{People: 22, Vehicles: 4}},

		{kind: resource.KindFire, name: "江南消防救援站", category: "消防救援站", unit: "339901", lat: 30.2045, lng: 120.2290,
			contact: "站长", phone: "0571-86101119", addr: "江南区消防路 1 号", accidents: []string{"火灾", "爆炸"}, d: resource.Details{People: 40, Vehicles: 9}},
		{kind: resource.KindFire, name: "临港园区专职消防队", category: "专职消防队", unit: "339901002", lat: 30.2189, lng: 120.3452,
			contact: "队长", phone: "0571-86101118", addr: "临港化工园区消防路 1 号", accidents: fire, d: resource.Details{People: 32, Vehicles: 7}},
		{kind: resource.KindFire, name: "青山镇专职消防队", category: "专职消防队", unit: "339902001", lat: 30.0515, lng: 119.9100,
			contact: "队长", phone: "13957120701", addr: "青山镇林场路 9 号", accidents: []string{"火灾", "森林火灾"}, d: resource.Details{People: 15, Vehicles: 3}},
		{kind: resource.KindFire, name: "临溪镇微型消防站", category: "微型消防站", unit: "339902002", lat: 30.0150, lng: 119.8440,
			contact: "站长", phone: "13957120702", addr: "临溪镇建材路 3 号", accidents: []string{"火灾"}, d: resource.Details{People: 6, Vehicles: 1}},

		{kind: resource.KindTarget, name: "临江市自来水厂取水口", category: "防护目标", sub: "饮用水水源地", unit: "339901", lat: 30.1950, lng: 120.2500},
		{kind: resource.KindTarget, name: "临溪水库大坝", category: "防护目标", sub: "水库", unit: "339902002", lat: 30.0080, lng: 119.8290},
		{kind: resource.KindTarget, name: "滨江幼儿园", category: "脆弱目标", sub: "学校", unit: "339901001/G02", lat: 30.2061, lng: 120.2099},
		{kind: resource.KindTarget, name: "临港社区居民区", category: "脆弱目标", sub: "居民区", unit: "339901002/G02", lat: 30.2120, lng: 120.3370},
		{kind: resource.KindTarget, name: "临江 220 千伏变电站", category: "重要目标", sub: "电力设施", unit: "339901", lat: 30.2003, lng: 120.2602},
		{kind: resource.KindTarget, name: "临江市人民政府", category: "重要目标", sub: "党政机关", unit: "339900", lat: 30.2100, lng: 120.2100},
		{kind: resource.KindTarget, name: "临港码头物资卸载点", category: "卸载点", sub: "码头", unit: "339901002", lat: 30.2260, lng: 120.3600},
		{kind: resource.KindTarget, name: "青山高速出口物资卸载点", category: "卸载点", sub: "高速出口", unit: "339902001", lat: 30.0600, lng: 119.9300},
	}
}

// loadDemoResources places the demo resources and completes the two demo teams (created with
// the city) with their details.
func (m *Main) loadDemoResources(ctx context.Context) error {
	admin := yingji.System
	units, err := m.store.ListUnits(ctx, org.UnitFilter{})
	if err != nil {
		return err
	}
	byID := map[string]org.Unit{}
	for _, u := range units {
		byID[u.ID] = u
	}
	byCode := map[string]org.Unit{}
	for _, u := range units {
		if u.Level == org.LevelGrid {
			byCode[byID[u.ParentID].Code+"/"+u.Code] = u
		} else {
			byCode[u.Code] = u
		}
	}
	ents, err := m.store.ListEnterprises(ctx, org.EnterpriseFilter{}, yingji.ListParams{PageSize: 500})
	if err != nil {
		return err
	}
	entByName := map[string]org.Enterprise{}
	for _, e := range ents.Items {
		entByName[e.Name] = e
	}
	teams, err := m.Resources.List(ctx, admin, resource.Filter{Kind: resource.KindTeam}, yingji.ListParams{PageSize: 100})
	if err != nil {
		return err
	}
	for _, t := range teams.Items {
		switch t.Name {
		case "临江市综合应急救援支队":
			t.Category, t.Subtype, t.Location = "综合", "综合救援", &resource.Location{Lat: 30.2055, Lng: 120.2502}
			t.AccidentTypes = []string{"火灾", "爆炸", "坍塌", "洪涝", "危险化学品泄漏"}
			t.Contact, t.Phone, t.Address = "指挥中心", "0571-86101119", "江南区应急大道 1 号"
			t.Details = resource.Details{Members: 120, Equipment: "抢险救援车 6 辆、重型破拆工具 10 套、无人机 4 架"}
		case "临港园区危化品救援队":
			t.Category, t.Location = "专业", &resource.Location{Lat: 30.2201, Lng: 120.3466}
			t.AccidentTypes = []string{"火灾", "爆炸", "危险化学品泄漏", "中毒和窒息"}
			t.Contact, t.Phone, t.Address = "陈队长", "13957110010", "临港化工园区消防路 1 号"
			t.Details = resource.Details{Members: 36, Equipment: "重型防化服 20 套、泡沫消防车 2 辆、侦检仪 6 台"}
		default:
			continue
		}
		if _, err := m.Resources.Update(ctx, admin, t.ID, t); err != nil {
			return fmt.Errorf("demo team %s: %w", t.Name, err)
		}
	}
	var holders, rest []resource.Resource
	holderID := map[string]string{}
	for _, pass := range []int{0, 1} {
		var batch []resource.Resource
		for _, d := range demoResources() {
			isHolder := d.kind == resource.KindDepot || d.kind == resource.KindTeam
			if (pass == 0) != isHolder {
				continue
			}
			r := resource.Resource{Kind: d.kind, Name: d.name, Category: d.category, Subtype: d.sub, Contact: d.contact, Phone: d.phone,
				Address: d.addr, AccidentTypes: d.accidents, Details: d.d, Quantity: d.qty, Unit: d.measure, Code: d.code, Status: d.status}
			if d.lat != 0 {
				r.Location = &resource.Location{Lat: d.lat, Lng: d.lng}
			}
			switch {
			case d.holder != "":
				id, ok := holderID[d.holder]
				if !ok {
					return fmt.Errorf("demo supply %s: holder %s missing", d.name, d.holder)
				}
				h, err := m.Resources.Get(ctx, admin, id)
				if err != nil {
					return err
				}
				r.HolderID, r.OrgUnitID, r.Owner, r.EnterpriseID = id, h.OrgUnitID, h.Owner, h.EnterpriseID
			case strings.HasPrefix(d.unit, "e:"):
				e, ok := entByName[d.unit[2:]]
				if !ok {
					return fmt.Errorf("demo resource %s: enterprise %s missing", d.name, d.unit)
				}
				r.Owner, r.EnterpriseID = resource.OwnerEnterprise, e.ID
			default:
				u, ok := byCode[d.unit]
				if !ok {
					return fmt.Errorf("demo resource %s: unit %s missing", d.name, d.unit)
				}
				r.OrgUnitID = u.ID
			}
			batch = append(batch, r)
		}
		if err := m.Resources.Import(ctx, admin, batch); err != nil {
			return err
		}
		for _, r := range batch {
			holderID[r.Name] = r.ID
		}
		if pass == 0 {
			holders = batch
		} else {
			rest = batch
		}
	}
	m.Log.Info("已载入演示应急资源 demo resources loaded", "count", len(holders)+len(rest)+2)
	return nil
}
