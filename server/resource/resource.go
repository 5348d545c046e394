// Package resource holds the emergency resources (应急资源保障) a city keeps ready: supplies and
// equipment, depots, rescue teams, experts, shelters, medical institutions, police and fire
// forces, and the targets (protection, vulnerable, important, unloading points) drawn on the
// one-map. Every kind shares one record shape (name, category, status, owner, location,
// contact) with its own details; an in-memory spatial index answers "the nearest N" exactly by
// great-circle distance.
package resource

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/yingji"
)

// Kind is a resource kind.
type Kind string

const (
	KindSupply  Kind = "supply"  // 物资装备
	KindDepot   Kind = "depot"   // 储备库
	KindTeam    Kind = "team"    // 救援队伍
	KindExpert  Kind = "expert"  // 专家
	KindShelter Kind = "shelter" // 避难场所
	KindMedical Kind = "medical" // 医疗机构
	KindPolice  Kind = "police"  // 警力
	KindFire    Kind = "fire"    // 消防力量
	KindTarget  Kind = "target"  // 防护目标、脆弱目标、重要目标、卸载点
)

// Kinds lists the kinds in display order.
var Kinds = []Kind{KindSupply, KindDepot, KindTeam, KindExpert, KindShelter, KindMedical, KindPolice, KindFire, KindTarget}

var kindNames = map[Kind]string{KindSupply: "物资装备", KindDepot: "储备库", KindTeam: "救援队伍", KindExpert: "专家",
	KindShelter: "避难场所", KindMedical: "医疗机构", KindPolice: "警力", KindFire: "消防力量", KindTarget: "目标"}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { _, ok := kindNames[k]; return ok }

// Name is the kind's Chinese name.
func (k Kind) Name() string { return kindNames[k] }

// KindByName finds a kind by code or Chinese name.
func KindByName(s string) (Kind, bool) {
	s = strings.TrimSpace(s)
	for _, k := range Kinds {
		if strings.EqualFold(s, string(k)) || s == k.Name() {
			return k, true
		}
	}
	return "", false
}

// Owner says whether a resource is the government's or an enterprise's.
type Owner string

const (
	OwnerGovernment Owner = "government" // 政府
	OwnerEnterprise Owner = "enterprise" // 企业
)

// OwnerName is the owner's Chinese name.
func (o Owner) Name() string {
	switch o {
	case OwnerGovernment:
		return "政府"
	case OwnerEnterprise:
		return "企业"
	}
	return ""
}

// OwnerByName finds an owner by code or Chinese name.
func OwnerByName(s string) (Owner, bool) {
	switch strings.TrimSpace(s) {
	case "", "government", "政府", "政府部门":
		return OwnerGovernment, true
	case "enterprise", "企业":
		return OwnerEnterprise, true
	}
	return "", false
}

// Status is a resource's readiness.
type Status string

const (
	StatusAvailable   Status = "available"   // 可用（队伍：待命）
	StatusBusy        Status = "busy"        // 使用中（队伍：出动；避难场所：已启用）
	StatusMaintenance Status = "maintenance" // 维护中（队伍：休整）
	StatusRetired     Status = "retired"     // 停用
)

// Statuses lists the statuses in display order.
var Statuses = []Status{StatusAvailable, StatusBusy, StatusMaintenance, StatusRetired}

var statusNames = map[Status]string{StatusAvailable: "可用", StatusBusy: "使用中", StatusMaintenance: "维护中", StatusRetired: "停用"}
var statusNamesByKind = map[Kind]map[Status]string{
	KindTeam:    {StatusAvailable: "待命", StatusBusy: "出动", StatusMaintenance: "休整", StatusRetired: "撤销"},
	KindShelter: {StatusAvailable: "待启用", StatusBusy: "已启用", StatusMaintenance: "维护中", StatusRetired: "停用"},
	KindExpert:  {StatusAvailable: "可联系", StatusBusy: "执行任务中", StatusMaintenance: "暂不可用", StatusRetired: "已退出"},
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { _, ok := statusNames[s]; return ok }

// Name is the status's Chinese name for a kind.
func (s Status) Name(k Kind) string {
	if m, ok := statusNamesByKind[k]; ok {
		return m[s]
	}
	return statusNames[s]
}

// StatusByName finds a status by code or by its Chinese name for the kind (or the generic one).
func StatusByName(k Kind, s string) (Status, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return StatusAvailable, true
	}
	for _, st := range Statuses {
		if strings.EqualFold(s, string(st)) || s == st.Name(k) || s == statusNames[st] {
			return st, true
		}
	}
	return "", false
}

// Categories of the kinds whose category is one of a fixed list; the others take free text
// (with Suggestions offered by the portal).
var Categories = map[Kind][]string{
	KindDepot:   {"市级", "区县级", "乡镇（街道）级", "企业"},
	KindTeam:    {"综合", "专业", "社会"},
	KindExpert:  {"水利", "应急抢险", "市政", "房建", "地质灾害", "危化", "矿山", "交通", "环境保护", "心理疏导", "森林火灾"},
	KindShelter: {"室内", "室外"},
	KindMedical: {"三级甲等", "三级乙等", "二级甲等", "二级乙等", "一级", "未定级"},
	KindTarget:  {"防护目标", "脆弱目标", "重要目标", "卸载点"},
}

// Suggestions are common categories of the free-text kinds.
var Suggestions = map[Kind][]string{
	KindSupply: {"防汛抗旱", "森林防灭火", "危化品处置", "抗震救灾", "生活保障", "医疗救护", "通信保障", "照明动力", "工程机械", "个体防护"},
	KindPolice: {"派出所", "交警", "特警", "巡警"},
	KindFire:   {"消防救援站", "专职消防队", "志愿消防队", "微型消防站"},
}

// Location is a WGS84 point.
type Location struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// Details are the fields of one kind; the others stay zero.
type Details struct {
	Members    int     `json:"members"`     // team: 队员人数
	Equipment  string  `json:"equipment"`   // team: 主要装备
	Sex        string  `json:"sex"`         // expert: 男 or 女
	BirthMonth string  `json:"birth_month"` // expert: 出生年月 YYYY-MM
	Employer   string  `json:"employer"`    // expert: 工作单位
	Title      string  `json:"title"`       // expert: 职称/职务
	Specialty  string  `json:"specialty"`   // expert: 专业特长
	Area       float64 `json:"area"`        // depot, shelter: 面积（平方米）
	Capacity   int     `json:"capacity"`    // shelter: 可容纳人数
	Occupancy  int     `json:"occupancy"`   // shelter: 当前安置人数
	Ambulances int     `json:"ambulances"`  // medical: 救护车
	Beds       int     `json:"beds"`        // medical: 床位
	Doctors    int     `json:"doctors"`     // medical: 医生
	Nurses     int     `json:"nurses"`      // medical: 护士
	People     int     `json:"people"`      // police, fire: 人数
	Vehicles   int     `json:"vehicles"`    // police, fire: 车辆
	Spec       string  `json:"spec"`        // supply: 规格型号
}

// Resource is one emergency resource. OrgPath is its unit's (or its enterprise's) path and
// decides who may see it. A supply held by a depot or a team (HolderID) stands where its
// holder stands.
type Resource struct {
	ID            string    `json:"id"`
	Kind          Kind      `json:"kind"`
	Name          string    `json:"name"`
	Code          string    `json:"code"`     // 编号; supplies: GB/T 38565 应急物资编码 where given
	Category      string    `json:"category"` // 类别 (kind-specific, see Categories)
	Subtype       string    `json:"subtype"`  // 类型 (team type such as 危化品救援, target type such as 学校)
	Owner         Owner     `json:"owner"`
	OrgUnitID     string    `json:"org_unit_id"`
	OrgPath       string    `json:"org_path"`
	EnterpriseID  string    `json:"enterprise_id"`
	HolderID      string    `json:"holder_id"` // supply: the depot or team holding it
	Status        Status    `json:"status"`
	Quantity      float64   `json:"quantity"` // supply: 数量
	Unit          string    `json:"unit"`     // supply: 计量单位
	AccidentTypes []string  `json:"accident_types"`
	Contact       string    `json:"contact"` // 负责人/联系人
	Phone         string    `json:"phone"`
	Address       string    `json:"address"`
	Location      *Location `json:"location"`
	Cell          string    `json:"cell,omitempty"`
	Details
	Source     string    `json:"source"`      // the outside system it came from (e.g. 省救援物资系统)
	ExternalID string    `json:"external_id"` // its id there: imports are idempotent by (source, external_id)
	Remark     string    `json:"remark"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Available is the figure the nearest query filters on with min_available: a supply's
// quantity, a shelter's free places, a team's members, a hospital's beds, a police or fire
// force's people, 1 for an expert.
func (r *Resource) Available() float64 {
	switch r.Kind {
	case KindSupply:
		return r.Quantity
	case KindShelter:
		return float64(max(0, r.Capacity-r.Occupancy))
	case KindTeam:
		return float64(r.Members)
	case KindMedical:
		return float64(r.Beds)
	case KindPolice, KindFire:
		return float64(r.People)
	case KindExpert:
		return 1
	}
	return 0
}

// Bounds of the fields.
const (
	MaxAccidentTypes = 20
	MaxText          = 500
)

func trim(ss ...*string) {
	for _, s := range ss {
		*s = strings.TrimSpace(*s)
	}
}

// Normalize trims the text fields, drops empty and repeated accident types, zeroes the
// details of other kinds and derives the cell.
func (r *Resource) Normalize() {
	trim(&r.Name, &r.Code, &r.Category, &r.Subtype, &r.OrgUnitID, &r.EnterpriseID, &r.HolderID, &r.Unit, &r.Contact,
		&r.Phone, &r.Address, &r.Source, &r.ExternalID, &r.Remark)
	r.Kind = Kind(strings.TrimSpace(string(r.Kind)))
	if r.Owner == "" {
		r.Owner = OwnerGovernment
		if r.EnterpriseID != "" {
			r.Owner = OwnerEnterprise
		}
	}
	if r.Status == "" {
		r.Status = StatusAvailable
	}
	types := []string{}
	for _, t := range r.AccidentTypes {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	r.AccidentTypes = types
	d := r.Details
	trim(&d.Equipment, &d.Sex, &d.BirthMonth, &d.Employer, &d.Title, &d.Specialty, &d.Spec)
	keep := Details{}
	switch r.Kind {
	case KindTeam:
		keep.Members, keep.Equipment = d.Members, d.Equipment
	case KindExpert:
		keep.Sex, keep.BirthMonth, keep.Employer, keep.Title, keep.Specialty = d.Sex, d.BirthMonth, d.Employer, d.Title, d.Specialty
		switch keep.Sex {
		case "male", "男性", "M", "m":
			keep.Sex = "男"
		case "female", "女性", "F", "f":
			keep.Sex = "女"
		}
	case KindDepot:
		keep.Area = d.Area
	case KindShelter:
		keep.Area, keep.Capacity, keep.Occupancy = d.Area, d.Capacity, d.Occupancy
	case KindMedical:
		keep.Ambulances, keep.Beds, keep.Doctors, keep.Nurses = d.Ambulances, d.Beds, d.Doctors, d.Nurses
	case KindPolice, KindFire:
		keep.People, keep.Vehicles = d.People, d.Vehicles
	case KindSupply:
		keep.Spec = d.Spec
	}
	r.Details = keep
	if r.Kind != KindSupply {
		r.HolderID, r.Quantity, r.Unit = "", 0, ""
	}
	r.Cell = ""
	if l := r.Location; l != nil && inChina(l.Lat, l.Lng) {
		r.Cell = org.CellOf(l.Lat, l.Lng)
	}
}

func inChina(lat, lng float64) bool { return lat >= 3 && lat <= 54 && lng >= 73 && lng <= 136 }

// supplyCode is a GB/T 38565-2020 应急物资编码: four levels in seven digits — the 大类 (1 基本生活
// 保障物资, 2 应急装备及配套物资, 3 工程材料与机械加工设备), then 中类, 小类 and 细类 of two digits
// each (01–99). A code may stop at a higher level (1, 3 or 5 digits).
var supplyCode = regexp.MustCompile(`^[123]([0-9]{2}){0,3}$`)

// ValidSupplyCode reports whether s is a GB/T 38565 code (each two-digit level 01–99).
func ValidSupplyCode(s string) bool {
	if !supplyCode.MatchString(s) {
		return false
	}
	for i := 1; i+2 <= len(s); i += 2 {
		if s[i:i+2] == "00" {
			return false
		}
	}
	return true
}

// SupplyClass is the 大类 a GB/T 38565 code starts with ("" when none).
func SupplyClass(code string) string {
	if !ValidSupplyCode(code) {
		return ""
	}
	return map[byte]string{'1': "基本生活保障物资", '2': "应急装备及配套物资", '3': "工程材料与机械加工设备"}[code[0]]
}

var birthMonth = regexp.MustCompile(`^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$`)

func tooLong(s string, n int) bool { return utf8.RuneCountInString(s) > n }

func count(field, name string, v int) error {
	if v < 0 || v > 10_000_000 {
		return yingji.Invalid("resource.bad_"+field, field, "%s应为 0 到 10000000 之间的整数", name)
	}
	return nil
}

// Validate checks the resource's own fields (not its unit, enterprise or holder, which the
// service looks up).
func (r *Resource) Validate() error {
	if !r.Kind.Valid() {
		return yingji.Invalid("resource.bad_kind", "kind", "资源种类应为 supply、depot、team、expert、shelter、medical、police、fire 或 target")
	}
	if r.Name == "" || tooLong(r.Name, 100) {
		return yingji.Invalid("resource.bad_name", "name", "名称不能为空，且不超过 100 个字")
	}
	if tooLong(r.Code, 40) {
		return yingji.Invalid("resource.bad_code", "code", "编号不超过 40 个字符")
	}
	if r.Kind == KindSupply && r.Code != "" && !ValidSupplyCode(r.Code) {
		return yingji.Invalid("resource.bad_supply_code", "code",
			"物资编码“%s”不符合 GB/T 38565：应为 1、3、5 或 7 位数字，首位 1–3（大类），其后每两位 01–99（中类、小类、细类）", r.Code)
	}
	if list, fixed := Categories[r.Kind]; fixed {
		if !slices.Contains(list, r.Category) {
			return yingji.Invalid("resource.bad_category", "category", "%s的类别应为%s之一", r.Kind.Name(), strings.Join(list, "、"))
		}
	} else if tooLong(r.Category, 50) {
		return yingji.Invalid("resource.bad_category", "category", "类别不超过 50 个字")
	}
	if tooLong(r.Subtype, 50) {
		return yingji.Invalid("resource.bad_subtype", "subtype", "类型不超过 50 个字")
	}
	if r.Owner != OwnerGovernment && r.Owner != OwnerEnterprise {
		return yingji.Invalid("resource.bad_owner", "owner", "归属应为政府（government）或企业（enterprise）")
	}
	if r.Owner == OwnerEnterprise && r.EnterpriseID == "" {
		return yingji.Invalid("resource.enterprise_required", "enterprise_id", "企业资源须指定所属企业")
	}
	if r.Owner == OwnerGovernment && r.EnterpriseID != "" {
		return yingji.Invalid("resource.bad_owner", "owner", "指定了所属企业的资源归属应为企业")
	}
	if r.Owner == OwnerGovernment && r.OrgUnitID == "" {
		return yingji.Invalid("resource.org_required", "org_unit_id", "必须指定所属单位")
	}
	if !r.Status.Valid() {
		return yingji.Invalid("resource.bad_status", "status", "状态应为 available、busy、maintenance 或 retired")
	}
	if r.Kind == KindSupply {
		if math.IsNaN(r.Quantity) || r.Quantity < 0 || r.Quantity > 1e12 {
			return yingji.Invalid("resource.bad_quantity", "quantity", "数量应为不小于 0 的数")
		}
		if r.Unit == "" || tooLong(r.Unit, 10) {
			return yingji.Invalid("resource.bad_unit", "unit", "请填写计量单位（如 件、台、吨），不超过 10 个字")
		}
	}
	if len(r.AccidentTypes) > MaxAccidentTypes {
		return yingji.Invalid("resource.bad_accident_types", "accident_types", "事故类型不超过 %d 种", MaxAccidentTypes)
	}
	for _, t := range r.AccidentTypes {
		if tooLong(t, 50) {
			return yingji.Invalid("resource.bad_accident_types", "accident_types", "事故类型“%s”超过 50 个字", t)
		}
	}
	if tooLong(r.Contact, 50) {
		return yingji.Invalid("resource.bad_contact", "contact", "负责人不超过 50 个字")
	}
	if r.Phone != "" && !org.ValidPhone(r.Phone) {
		return yingji.Invalid("resource.bad_phone", "phone", "联系电话应为 11 位手机号或带区号的固定电话（如 0571-88888888）")
	}
	if tooLong(r.Address, 200) {
		return yingji.Invalid("resource.bad_address", "address", "地址不超过 200 个字")
	}
	if l := r.Location; l != nil {
		switch {
		case math.IsNaN(l.Lat) || l.Lat < -90 || l.Lat > 90:
			return yingji.Invalid("resource.bad_location", "lat", "纬度应在 -90 到 90 之间")
		case math.IsNaN(l.Lng) || l.Lng < -180 || l.Lng > 180:
			return yingji.Invalid("resource.bad_location", "lng", "经度应在 -180 到 180 之间")
		case !inChina(l.Lat, l.Lng):
			return yingji.Invalid("resource.bad_location", "lat",
				"坐标（纬度 %g，经度 %g）不在中国境内，请检查是否填反或未使用 WGS84 坐标", l.Lat, l.Lng)
		}
	}
	if tooLong(r.Source, 50) || tooLong(r.ExternalID, 100) {
		return yingji.Invalid("resource.bad_external_id", "external_id", "来源系统不超过 50 个字，外部编号不超过 100 个字符")
	}
	if (r.Source == "") != (r.ExternalID == "") {
		return yingji.Invalid("resource.bad_external_id", "external_id", "来源系统和外部编号须同时填写或同时留空")
	}
	if tooLong(r.Remark, MaxText) {
		return yingji.Invalid("resource.bad_remark", "remark", "备注不超过 %d 个字", MaxText)
	}
	return r.Details.validate(r.Kind)
}

func (d Details) validate(k Kind) error {
	switch k {
	case KindTeam:
		if err := count("members", "队员人数", d.Members); err != nil {
			return err
		}
		if tooLong(d.Equipment, MaxText) {
			return yingji.Invalid("resource.bad_equipment", "equipment", "主要装备不超过 %d 个字", MaxText)
		}
	case KindExpert:
		if d.Sex != "" && d.Sex != "男" && d.Sex != "女" {
			return yingji.Invalid("resource.bad_sex", "sex", "性别应为男或女")
		}
		if d.BirthMonth != "" && !birthMonth.MatchString(d.BirthMonth) {
			return yingji.Invalid("resource.bad_birth_month", "birth_month", "出生年月应写作 1975-06 这样的年-月")
		}
		if tooLong(d.Employer, 100) || tooLong(d.Title, 50) || tooLong(d.Specialty, 200) {
			return yingji.Invalid("resource.bad_employer", "employer", "工作单位不超过 100 个字，职称不超过 50 个字，专业特长不超过 200 个字")
		}
	case KindDepot, KindShelter:
		if math.IsNaN(d.Area) || d.Area < 0 || d.Area > 1e9 {
			return yingji.Invalid("resource.bad_area", "area", "面积应为不小于 0 的数（平方米）")
		}
		if k == KindShelter {
			if err := count("capacity", "可容纳人数", d.Capacity); err != nil {
				return err
			}
			if err := count("occupancy", "当前安置人数", d.Occupancy); err != nil {
				return err
			}
		}
	case KindMedical:
		for _, c := range []struct {
			f, n string
			v    int
		}{{"ambulances", "救护车数", d.Ambulances}, {"beds", "床位数", d.Beds}, {"doctors", "医生数", d.Doctors}, {"nurses", "护士数", d.Nurses}} {
			if err := count(c.f, c.n, c.v); err != nil {
				return err
			}
		}
	case KindPolice, KindFire:
		if err := count("people", "人数", d.People); err != nil {
			return err
		}
		if err := count("vehicles", "车辆数", d.Vehicles); err != nil {
			return err
		}
	case KindSupply:
		if tooLong(d.Spec, 100) {
			return yingji.Invalid("resource.bad_spec", "spec", "规格型号不超过 100 个字")
		}
	}
	return nil
}

// fields are the audited values of a resource.
func (r *Resource) fields() map[string]any {
	var loc any
	if r.Location != nil {
		loc = [2]float64{r.Location.Lat, r.Location.Lng}
	}
	return map[string]any{"kind": string(r.Kind), "name": r.Name, "code": r.Code, "category": r.Category, "subtype": r.Subtype,
		"owner": string(r.Owner), "org_unit_id": r.OrgUnitID, "enterprise_id": r.EnterpriseID, "holder_id": r.HolderID,
		"status": string(r.Status), "quantity": r.Quantity, "unit": r.Unit, "accident_types": strings.Join(r.AccidentTypes, "、"),
		"contact": r.Contact, "phone": r.Phone, "address": r.Address, "location": loc, "details": r.Details,
		"source": r.Source, "external_id": r.ExternalID, "remark": r.Remark}
}
