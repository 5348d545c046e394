// Package demo loads a fictional prefecture city, 临江市, into an empty database: two
// districts, four townships, twelve grids, twenty enterprises (eight handle hazardous
// chemicals), a rescue team and one demo account per role; History (history.go) gives it a
// month of daily work.
package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/yingji"
)

// Accounts are the demo usernames, in the order they are printed.
var Accounts = []struct {
	Username string
	Name     string
	Role     yingji.Role
	Unit     string // unit code, enterprise credit-code index (e:N) or team (t:N)
}{
	{"admin", "李管理", yingji.RoleCityAdmin, "339900"},
	{"duty01", "王值班", yingji.RoleDutyOfficer, "339900"},
	{"district01", "赵区长", yingji.RoleDistrictAdmin, "339901"},
	{"township01", "钱主任", yingji.RoleTownshipAdmin, "339901002"},
	{"township02", "孙主任", yingji.RoleTownshipAdmin, "339902001"},
	{"grid01", "周网格", yingji.RoleGridWorker, "339901002/G01"},
	{"safety01", "吴安全", yingji.RoleSafetyOfficer, "e:0"},
	{"principal01", "郑厂长", yingji.RoleEnterprisePrincipal, "e:0"},
	{"safety02", "冯安全", yingji.RoleSafetyOfficer, "e:12"},
	{"rescue01", "陈队员", yingji.RoleRescueMember, "t:0"},
	{"expert01", "褚专家", yingji.RoleExpert, "339900"},
	{"auditor01", "卫审计", yingji.RoleAuditor, "339900"},
	// The 总指挥 of the city's plans (市长 林志远): he approves response steps.
	{"leader01", "林志远", yingji.RoleCityAdmin, "339900"},
}

type unitSpec struct {
	code, name, parent string
	level              org.Level
}

var units = []unitSpec{
	{"339900", "临江市", "", org.LevelCity},
	{"339901", "江南区", "339900", org.LevelDistrict},
	{"339902", "青山县", "339900", org.LevelDistrict},
	{"339901001", "滨江街道", "339901", org.LevelTownship},
	{"339901002", "临港化工园区街道", "339901", org.LevelTownship},
	{"339902001", "青山镇", "339902", org.LevelTownship},
	{"339902002", "临溪镇", "339902", org.LevelTownship},
}

var gridNames = []string{"第一网格", "第二网格", "第三网格"}

type entSpec struct {
	name, industry, township, address, legal string
	lat, lng                                 float64
	hazchem, major                           bool
}

var enterprises = []entSpec{
	{"临港石化储运有限公司", "危险化学品仓储", "339901002", "临港化工园区海港路 1 号", "沈国强", 30.2231, 120.3512, true, true},
	{"临江氯碱化工股份有限公司", "基础化学原料制造", "339901002", "临港化工园区纬一路 8 号", "韩立新", 30.2198, 120.3478, true, true},
	{"江南精细化工有限公司", "专用化学产品制造", "339901002", "临港化工园区经二路 16 号", "杨美华", 30.2255, 120.3431, true, false},
	{"临港液化气充装站", "燃气生产和供应", "339901002", "临港化工园区纬三路 3 号", "朱建平", 30.2174, 120.3550, true, true},
	{"华东涂料有限公司", "涂料制造", "339901002", "临港化工园区经五路 21 号", "秦晓东", 30.2289, 120.3396, true, false},
	{"临江危险品物流有限公司", "危险货物道路运输", "339901002", "临港化工园区物流大道 9 号", "尤志刚", 30.2140, 120.3420, true, false},
	{"江南加油站（滨江店）", "危险化学品经营", "339901001", "滨江街道江滨路 188 号", "许文斌", 30.2080, 120.2105, true, false},
	{"滨江冷链仓储有限公司", "仓储", "339901001", "滨江街道冷链园 2 号", "何丽娟", 30.2035, 120.2200, false, false},
	{"临江机械制造有限公司", "通用设备制造", "339901001", "滨江街道工业路 66 号", "吕振华", 30.1990, 120.2150, false, false},
	{"滨江商贸综合体", "商业综合体", "339901001", "滨江街道中心大道 1 号", "施明", 30.2101, 120.2050, false, false},
	{"青山水泥有限公司", "水泥制造", "339902001", "青山镇矿山路 5 号", "张永福", 30.0520, 119.9010, false, false},
	{"青山食品加工厂", "食品制造", "339902001", "青山镇民生路 12 号", "孔令华", 30.0488, 119.8955, false, false},
	{"青山化肥有限公司", "肥料制造", "339902001", "青山镇化工路 2 号", "曹建国", 30.0555, 119.9102, true, false},
	{"青山竹木制品有限公司", "木材加工", "339902001", "青山镇竹海路 30 号", "严春生", 30.0450, 119.8890, false, false},
	{"青山烟花爆竹专营店", "烟花爆竹经营", "339902001", "青山镇商贸街 7 号", "华志强", 30.0501, 119.8990, false, false},
	{"临溪纺织有限公司", "纺织", "339902002", "临溪镇纺织路 18 号", "金玉兰", 30.0151, 119.8405, false, false},
	{"临溪水电站", "电力生产", "339902002", "临溪镇溪口村", "魏长青", 30.0089, 119.8301, false, false},
	{"临溪矿业有限公司", "非金属矿采选", "339902002", "临溪镇石门村", "陶德胜", 30.0202, 119.8520, false, true},
	{"临溪建材市场", "建材批发", "339902002", "临溪镇建材路 1 号", "姜海燕", 30.0133, 119.8450, false, false},
	{"临溪农业合作社", "农业", "339902002", "临溪镇田园路 9 号", "戚大伟", 30.0175, 119.8366, false, false},
}

// creditCode derives a valid unified social credit code for the n-th demo enterprise.
func creditCode(district string, n int) string {
	first := fmt.Sprintf("91%sMA2%06d", district, 100000+n*137)
	c, _ := org.CreditCodeCheck(first)
	return first + string(c)
}

// Empty reports whether the database holds no org units yet.
func Empty(ctx context.Context, st org.Store) (bool, error) {
	us, err := st.ListUnits(ctx, org.UnitFilter{Level: org.LevelCity})
	return len(us) == 0, err
}

// Load writes the demo city and accounts, every account with password. The caller checks
// Empty first.
func Load(ctx context.Context, st org.Store, acc account.Store, password string, now time.Time) error {
	now = now.UTC()
	byCode := map[string]org.Unit{}
	var all []org.Unit
	add := func(u org.Unit) {
		u.CreatedAt, u.UpdatedAt = now, now
		byCode[u.Code] = u
		all = append(all, u)
	}
	for i, s := range units {
		u := org.Unit{ID: yingji.NewID(), Level: s.level, Code: s.code, Name: s.name, Sort: i}
		if s.parent == "" {
			u.Path = org.ChildPath("/", u.ID)
		} else {
			p := byCode[s.parent]
			u.ParentID, u.Path = p.ID, org.ChildPath(p.Path, u.ID)
		}
		add(u)
	}
	for _, s := range units {
		if s.level != org.LevelTownship {
			continue
		}
		t := byCode[s.code]
		for j, name := range gridNames {
			code := fmt.Sprintf("G%02d", j+1)
			id := yingji.NewID()
			g := org.Unit{ID: id, ParentID: t.ID, Level: org.LevelGrid, Code: code, Name: name, Path: org.ChildPath(t.Path, id), Sort: j}
			add(g)
			byCode[s.code+"/"+code] = g
		}
	}
	if err := st.CreateUnits(ctx, all); err != nil {
		return fmt.Errorf("demo: units: %w", err)
	}

	var ents []org.Enterprise
	for i, s := range enterprises {
		town := byCode[s.township]
		grid := byCode[s.township+"/"+fmt.Sprintf("G%02d", i%3+1)]
		lat, lng := s.lat, s.lng
		e := org.Enterprise{ID: yingji.NewID(), Name: s.name, CreditCode: creditCode(s.township[:6], i), Industry: s.industry,
			TownshipID: town.ID, GridID: grid.ID, Address: s.address, Lat: &lat, Lng: &lng, HazardousChemicals: s.hazchem, MajorHazard: s.major,
			LegalPerson: s.legal, Phone: fmt.Sprintf("0571-8%07d", 6100000+i*13), CreatedAt: now, UpdatedAt: now}
		e.Normalize()
		if err := e.Place(town, &grid); err != nil {
			return fmt.Errorf("demo: place %s: %w", s.name, err)
		}
		if err := e.Validate(); err != nil {
			return fmt.Errorf("demo: enterprise %s: %w", s.name, err)
		}
		ents = append(ents, e)
	}
	if err := st.CreateEnterprises(ctx, ents); err != nil {
		return fmt.Errorf("demo: enterprises: %w", err)
	}
	for i, e := range ents {
		for j, c := range []org.Contact{
			{Name: enterprises[i].legal, Title: "主要负责人", IsPrimary: false},
			{Name: "安全员" + string([]rune("甲乙丙丁戊己庚辛壬癸")[i%10]), Title: "安全管理人员", IsPrimary: true},
		} {
			c.ID, c.EnterpriseID, c.CreatedAt, c.UpdatedAt = yingji.NewID(), e.ID, now, now
			c.Phone = fmt.Sprintf("13%d%08d", 5+j, 57100000+i*7)
			if err := st.CreateContact(ctx, c); err != nil {
				return fmt.Errorf("demo: contact: %w", err)
			}
		}
	}

	team := org.Team{ID: yingji.NewID(), Name: "临江市综合应急救援支队", Kind: "综合救援", OrgUnitID: byCode["339900"].ID, OrgPath: byCode["339900"].Path, CreatedAt: now, UpdatedAt: now}
	team2 := org.Team{ID: yingji.NewID(), Name: "临港园区危化品救援队", Kind: "危化品救援", OrgUnitID: byCode["339901002"].ID, OrgPath: byCode["339901002"].Path, CreatedAt: now, UpdatedAt: now}
	for _, t := range []org.Team{team, team2} {
		if err := st.CreateTeam(ctx, t); err != nil {
			return fmt.Errorf("demo: team: %w", err)
		}
	}
	teams := []org.Team{team, team2}

	// Every demo account has the same password, so one hash (with its salt) serves them all.
	hash, err := account.HashPassword(password)
	if err != nil {
		return err
	}
	var users []account.User
	for i, a := range Accounts {
		u := account.User{ID: yingji.NewID(), Username: a.Username, Name: a.Name, Role: a.Role,
			Phone: fmt.Sprintf("139%08d", 57110000+i), PasswordHash: hash, PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now}
		var n int
		switch {
		case strings.HasPrefix(a.Unit, "e:"):
			fmt.Sscanf(a.Unit, "e:%d", &n)
			u.EnterpriseID, u.OrgPath = ents[n].ID, ents[n].OrgPath
		case strings.HasPrefix(a.Unit, "t:"):
			fmt.Sscanf(a.Unit, "t:%d", &n)
			u.TeamID, u.OrgPath = teams[n].ID, teams[n].OrgPath
			if u.OrgPath == "" {
				u.OrgPath = byCode["339900"].Path
			}
		default:
			unit := byCode[a.Unit]
			u.OrgUnitID, u.OrgPath = unit.ID, unit.Path
		}
		u.Normalize()
		users = append(users, u)
	}
	if err := acc.CreateUsers(ctx, users); err != nil {
		return fmt.Errorf("demo: users: %w", err)
	}
	return nil
}
