// Package incident holds incidents (灾情定位) and the response to them (启动响应/变更/终止):
// the incident record, synced to phones and reportable offline; the command groups and their
// members (incident_members), who hold the sync scope inc:<incident id>; plan matching; the
// response steps the duty officer proposes and the designated leader approves; and the
// incident group chat (群组).
//
// Times a person or device sets are UTC RFC 3339 text of fixed width (TimeLayout), like the
// alerts'; the row stamps created_at and updated_at are timestamps.
package incident

import (
	"encoding/json"
	"time"

	"github.com/yingji/yingji/server/plan"
)

// TimeLayout is the layout of the times stored as text.
const TimeLayout = "2006-01-02T15:04:05Z"

// FormatTime formats t as stored.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Statuses of an incident.
const (
	StatusReported   = "reported"   // 已接报: no response yet
	StatusResponding = "responding" // 响应中
	StatusTerminated = "terminated" // 已终止
)

// Statuses lists the statuses in order of progress.
var Statuses = []string{StatusReported, StatusResponding, StatusTerminated}

var statusNames = map[string]string{StatusReported: "已接报", StatusResponding: "响应中", StatusTerminated: "已终止"}

// StatusName is the Chinese name of a status.
func StatusName(s string) string { return statusNames[s] }

// Sources of an incident report.
const (
	SourcePhone  = "phone"  // 电话接报
	SourceAlert  = "alert"  // 预警转事件
	SourceField  = "field"  // 现场上报 (a phone)
	SourcePortal = "portal" // 门户录入
)

// Sources lists the sources.
var Sources = []string{SourcePhone, SourceAlert, SourceField, SourcePortal}

var sourceNames = map[string]string{SourcePhone: "电话接报", SourceAlert: "预警转事件", SourceField: "现场上报", SourcePortal: "门户录入"}

// SourceName is the Chinese name of a source.
func SourceName(s string) string { return sourceNames[s] }

// Material is a hazardous material involved (危化品), linked to the knowledge base's MSDS by
// its CAS number.
type Material struct {
	Name        string  `json:"name"`
	CAS         string  `json:"cas"`
	KnowledgeID string  `json:"knowledge_id"`
	Amount      float64 `json:"amount"`
	Unit        string  `json:"unit"`
}

// Incident is one incident (突发事件). Field names are the API's and the columns'.
type Incident struct {
	ID            string     `json:"id"`
	Code          string     `json:"code"`
	Title         string     `json:"title"`
	Class         string     `json:"class"`
	SubType       string     `json:"sub_type"`
	Grade         string     `json:"grade"`
	Status        string     `json:"status"`
	ResponseLevel int        `json:"response_level"`
	PlanID        string     `json:"plan_id"`
	Lat           *float64   `json:"lat"`
	Lng           *float64   `json:"lng"`
	Cell          string     `json:"cell"`
	Area          string     `json:"area"`
	Address       string     `json:"address"`
	OrgPath       string     `json:"org_path"`
	OrgUnitID     string     `json:"org_unit_id"`
	EnterpriseID  string     `json:"enterprise_id"`
	OccurredAt    string     `json:"occurred_at"`
	ReportedAt    string     `json:"reported_at"`
	ReceivedAt    string     `json:"received_at"`
	ReporterID    string     `json:"reporter_id"`
	ReporterName  string     `json:"reporter_name"`
	ReporterPhone string     `json:"reporter_phone"`
	Source        string     `json:"source"`
	AlertID       string     `json:"alert_id"`
	Dead          int        `json:"dead"`
	Injured       int        `json:"injured"`
	Missing       int        `json:"missing"`
	Trapped       int        `json:"trapped"`
	Affected      int        `json:"affected"`
	EconomicLoss  float64    `json:"economic_loss"`
	Materials     []Material `json:"materials"`
	Exercise      bool       `json:"exercise"`
	Description   string     `json:"description"`
	CreatedBy     string     `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	TerminatedAt  string     `json:"terminated_at"`
}

// Figures are the incident's quantified figures as plan matching reads them: deaths include
// the missing (死亡（含失踪）), and the amounts of hazardous materials given in tonnes (t, 吨)
// or kilograms are the release.
func (in Incident) Figures() plan.Figures {
	f := plan.Figures{Class: plan.EventClass(in.Class), SubType: in.SubType, Values: []plan.Figure{
		{Metric: plan.MetricDeaths, Value: float64(in.Dead + in.Missing)},
		{Metric: plan.MetricInjuries, Value: float64(in.Injured)},
		{Metric: plan.MetricAffected, Value: float64(in.Affected)},
		{Metric: plan.MetricEconomicLoss, Value: in.EconomicLoss},
	}}
	for _, m := range in.Materials {
		t := 0.0
		switch m.Unit {
		case "t", "吨":
			t = m.Amount
		case "kg", "千克", "公斤":
			t = m.Amount / 1000
		default:
			continue
		}
		f.Values = append(f.Values, plan.Figure{Metric: plan.MetricRelease, Subject: m.Name, Value: t})
	}
	return f
}

// Groups of an incident's members.
const (
	GroupHQ     = "hq"     // 应急指挥部
	GroupOnSite = "onsite" // 现场指挥部
	GroupTeam   = "team"   // a dispatched rescue team's members
	GroupMember = "member" // anyone else in the incident group (群组)
)

// Groups lists the member groups.
var Groups = []string{GroupHQ, GroupOnSite, GroupTeam, GroupMember}

var groupNames = map[string]string{GroupHQ: "应急指挥部", GroupOnSite: "现场指挥部", GroupTeam: "救援队伍", GroupMember: "事件群组成员"}

// GroupName is the Chinese name of a group.
func GroupName(g string) string { return groupNames[g] }

// Member is a user in one of an incident's groups.
type Member struct {
	IncidentID string  `json:"incident_id"`
	UserID     string  `json:"user_id"`
	Group      string  `json:"grp"`
	RoleTitle  string  `json:"role_title"`
	TeamID     string  `json:"team_id"`
	AddedBy    string  `json:"added_by"`
	AddedAt    string  `json:"added_at"`
	RemovedBy  string  `json:"removed_by"`
	RemovedAt  *string `json:"removed_at"`
	// Read with the user: his name, phone and username.
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Username string `json:"username"`
}

func materialsJSON(ms []Material) string {
	if ms == nil {
		ms = []Material{}
	}
	b, _ := json.Marshal(ms)
	return string(b)
}
