// Package risk holds risk points (风险点): what grid workers and safety officers patrol, with
// their control measures and the signed tokens their QR codes carry.
package risk

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/yingji/yingji/server/yingji"
)

// Level is a risk level in the four colours.
type Level string

const (
	LevelRed    Level = "red"    // 重大风险
	LevelOrange Level = "orange" // 较大风险
	LevelYellow Level = "yellow" // 一般风险
	LevelBlue   Level = "blue"   // 低风险
)

// Levels lists the levels from highest to lowest.
var Levels = []Level{LevelRed, LevelOrange, LevelYellow, LevelBlue}

var levelNames = map[Level]string{LevelRed: "红", LevelOrange: "橙", LevelYellow: "黄", LevelBlue: "蓝"}
var levelLong = map[Level]string{LevelRed: "重大风险", LevelOrange: "较大风险", LevelYellow: "一般风险", LevelBlue: "低风险"}

// Valid reports whether l is a known level.
func (l Level) Valid() bool { _, ok := levelNames[l]; return ok }

// Name is the colour's one-character Chinese name (红/橙/黄/蓝).
func (l Level) Name() string { return levelNames[l] }

// LongName is the level's Chinese name (重大风险 …).
func (l Level) LongName() string { return levelLong[l] }

// LevelByName finds a level by code, colour (红, 红色) or long name (重大风险).
func LevelByName(s string) (Level, bool) {
	s = strings.TrimSpace(s)
	for _, l := range Levels {
		if strings.EqualFold(s, string(l)) || s == l.Name() || s == l.Name()+"色" || s == l.LongName() {
			return l, true
		}
	}
	return "", false
}

// MeasureKind is the kind of a control measure.
type MeasureKind string

const (
	KindEngineering MeasureKind = "engineering" // 工程技术
	KindManagement  MeasureKind = "management"  // 管理
	KindTraining    MeasureKind = "training"    // 培训教育
	KindPPE         MeasureKind = "ppe"         // 个体防护
	KindEmergency   MeasureKind = "emergency"   // 应急处置
)

// Kinds lists the measure kinds in display order.
var Kinds = []MeasureKind{KindEngineering, KindManagement, KindTraining, KindPPE, KindEmergency}

var kindNames = map[MeasureKind]string{KindEngineering: "工程技术", KindManagement: "管理", KindTraining: "培训教育",
	KindPPE: "个体防护", KindEmergency: "应急处置"}

// Valid reports whether k is a known kind.
func (k MeasureKind) Valid() bool { _, ok := kindNames[k]; return ok }

// Name is the kind's Chinese name.
func (k MeasureKind) Name() string { return kindNames[k] }

// KindByName finds a kind by code or Chinese name (also "管理措施" and the like).
func KindByName(s string) (MeasureKind, bool) {
	s = strings.TrimSpace(s)
	for _, k := range Kinds {
		if strings.EqualFold(s, string(k)) || s == k.Name() || s == k.Name()+"措施" {
			return k, true
		}
	}
	return "", false
}

// Hazard levels of a hazard template (一般隐患, 重大隐患), as in package hazard.
const (
	HazardGeneral = "general"
	HazardMajor   = "major"
)

// HazardTemplate is the hazard to raise when a measure is found not under control.
type HazardTemplate struct {
	Title string `json:"title"`
	Level string `json:"level"` // general or major
}

// Measure is one control measure. Its ID is stable: patrol items refer to it.
type Measure struct {
	ID             string          `json:"id"`
	Kind           MeasureKind     `json:"kind"`
	Text           string          `json:"text"`
	HazardTemplate *HazardTemplate `json:"hazard_template,omitempty"`
}

// Location is a WGS84 point.
type Location struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// RiskPoint is a place or activity of an enterprise that is patrolled. OrgPath is the
// enterprise's and decides who may see it.
type RiskPoint struct {
	ID            string    `json:"id"`
	EnterpriseID  string    `json:"enterprise_id"`
	OrgPath       string    `json:"org_path"`
	Code          string    `json:"code"`
	Name          string    `json:"name"`
	Level         Level     `json:"level"`
	AccidentTypes []string  `json:"accident_types"`
	Responsible   string    `json:"responsible"`
	Location      *Location `json:"location"`
	Measures      []Measure `json:"measures"`
	QRVersion     int       `json:"qr_version"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Bounds of the fields.
const (
	MaxMeasures      = 100
	MaxAccidentTypes = 20
)

// Normalize trims the text fields, drops empty accident types and gives new measures an id.
func (p *RiskPoint) Normalize() {
	p.EnterpriseID = strings.TrimSpace(p.EnterpriseID)
	p.Code = strings.TrimSpace(p.Code)
	p.Name = strings.TrimSpace(p.Name)
	p.Level = Level(strings.TrimSpace(string(p.Level)))
	p.Responsible = strings.TrimSpace(p.Responsible)
	types := []string{}
	for _, t := range p.AccidentTypes {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	p.AccidentTypes = types
	if p.Measures == nil {
		p.Measures = []Measure{}
	}
	for i := range p.Measures {
		m := &p.Measures[i]
		m.ID = strings.ToLower(strings.TrimSpace(m.ID))
		if m.ID == "" {
			m.ID = yingji.NewID()
		}
		m.Text = strings.TrimSpace(m.Text)
		if t := m.HazardTemplate; t != nil {
			t.Title, t.Level = strings.TrimSpace(t.Title), strings.TrimSpace(t.Level)
			if t.Title == "" && t.Level == "" {
				m.HazardTemplate = nil
			} else if t.Level == "" {
				t.Level = HazardGeneral
			}
		}
	}
}

func validCode(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_' || r == '.' || r == '/') {
			return false
		}
	}
	return true
}

// Validate checks the point's fields (not its enterprise, which the service looks up).
func (p *RiskPoint) Validate() error {
	if p.EnterpriseID == "" {
		return yingji.Invalid("risk.enterprise_required", "enterprise_id", "必须指定所属企业")
	}
	if !validCode(p.Code) {
		return yingji.Invalid("risk.bad_code", "code", "风险点编号应为 1–40 位字母、数字或 - _ . /")
	}
	if p.Name == "" || len([]rune(p.Name)) > 100 {
		return yingji.Invalid("risk.bad_name", "name", "风险点名称不能为空，且不超过 100 个字")
	}
	if !p.Level.Valid() {
		return yingji.Invalid("risk.bad_level", "level", "风险等级应为红、橙、黄、蓝（red、orange、yellow、blue）之一")
	}
	if len(p.AccidentTypes) > MaxAccidentTypes {
		return yingji.Invalid("risk.bad_accident_types", "accident_types", "事故类型不超过 %d 种", MaxAccidentTypes)
	}
	for _, t := range p.AccidentTypes {
		if len([]rune(t)) > 50 {
			return yingji.Invalid("risk.bad_accident_types", "accident_types", "事故类型“%s”超过 50 个字", t)
		}
	}
	if len([]rune(p.Responsible)) > 50 {
		return yingji.Invalid("risk.bad_responsible", "responsible", "责任人不超过 50 个字")
	}
	if l := p.Location; l != nil {
		switch {
		case math.IsNaN(l.Lat) || l.Lat < -90 || l.Lat > 90:
			return yingji.Invalid("risk.bad_location", "lat", "纬度应在 -90 到 90 之间")
		case math.IsNaN(l.Lng) || l.Lng < -180 || l.Lng > 180:
			return yingji.Invalid("risk.bad_location", "lng", "经度应在 -180 到 180 之间")
		case l.Lat < 3 || l.Lat > 54 || l.Lng < 73 || l.Lng > 136:
			return yingji.Invalid("risk.bad_location", "lat",
				"坐标（纬度 %g，经度 %g）不在中国境内，请检查是否填反或未使用 WGS84 坐标", l.Lat, l.Lng)
		}
	}
	if len(p.Measures) > MaxMeasures {
		return yingji.Invalid("risk.bad_measures", "measures", "管控措施不超过 %d 条", MaxMeasures)
	}
	seen := map[string]bool{}
	for i, m := range p.Measures {
		if err := m.validate(i); err != nil {
			return err
		}
		if seen[m.ID] {
			return yingji.Invalid("risk.bad_measures", "measures", "第 %d 条管控措施的 id 与前面的重复", i+1)
		}
		seen[m.ID] = true
	}
	return nil
}

func (m Measure) validate(i int) error {
	bad := func(format string, args ...any) error {
		return yingji.Invalid("risk.bad_measures", "measures", "第 %d 条管控措施：%s", i+1, fmt.Sprintf(format, args...))
	}
	if !yingji.ValidID(m.ID) {
		return bad("id 应为 UUID")
	}
	if !m.Kind.Valid() {
		return bad("类别应为工程技术、管理、培训教育、个体防护或应急处置")
	}
	if m.Text == "" || len([]rune(m.Text)) > 500 {
		return bad("措施内容不能为空，且不超过 500 个字")
	}
	if t := m.HazardTemplate; t != nil {
		if t.Title == "" || len([]rune(t.Title)) > 200 {
			return bad("隐患模板标题不能为空，且不超过 200 个字")
		}
		if t.Level != HazardGeneral && t.Level != HazardMajor {
			return bad("隐患等级应为一般隐患（general）或重大隐患（major）")
		}
	}
	return nil
}

// fields are the audited values of a point.
func (p *RiskPoint) fields() map[string]any {
	return map[string]any{"enterprise_id": p.EnterpriseID, "code": p.Code, "name": p.Name, "level": string(p.Level),
		"accident_types": strings.Join(p.AccidentTypes, "、"), "responsible": p.Responsible, "location": locText(p.Location),
		"measures": len(p.Measures), "qr_version": p.QRVersion}
}

func locText(l *Location) any {
	if l == nil {
		return nil
	}
	return [2]float64{l.Lat, l.Lng}
}
