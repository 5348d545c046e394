package hazard

import (
	"encoding/json"
	"slices"

	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Steps of the rectification loop (闭环): each status change is one of them.
const (
	StepReport   = "report"    // create, reported
	StepAssign   = "assign"    // reported → assigned
	StepRectify  = "rectify"   // assigned/reported → rectifying
	StepSubmit   = "submit"    // rectifying → submitted
	StepAccept   = "accept"    // submitted → accepted
	StepSendBack = "send_back" // submitted → rectifying
)

var stepNames = map[string]string{StepReport: "上报", StepAssign: "交办", StepRectify: "开始整改",
	StepSubmit: "提交验收", StepAccept: "验收通过", StepSendBack: "退回整改"}

// StepName is the step's Chinese name.
func StepName(step string) string { return stepNames[step] }

// StepOf names the step of the status change from → to; "" when the status stays, or when the
// rules will not change it (a superseded or bad transition, which Merge decides).
func StepOf(from, to string) string {
	if from == to || !Machine.Allowed(from, to) {
		return ""
	}
	switch {
	case to == "assigned":
		return StepAssign
	case to == "rectifying" && from == "submitted":
		return StepSendBack
	case to == "rectifying":
		return StepRectify
	case to == "submitted":
		return StepSubmit
	case to == "accepted":
		return StepAccept
	}
	return ""
}

var (
	admins     = []yingji.Role{yingji.RoleCityAdmin, yingji.RoleDistrictAdmin, yingji.RoleTownshipAdmin}
	enterprise = []yingji.Role{yingji.RoleSafetyOfficer, yingji.RoleEnterprisePrincipal}
)

// stepRoles are who may take each step (always within their scope, checked apart).
var stepRoles = map[string][]yingji.Role{
	StepReport:   writers,
	StepAssign:   append(slices.Clone(admins), yingji.RoleEnterprisePrincipal),
	StepRectify:  append(slices.Clone(admins), enterprise...),
	StepSubmit:   enterprise,
	StepAccept:   admins,
	StepSendBack: admins,
}

// MayTake checks that role may take step on a hazard of that level; the error is a
// sync.forbidden rejection with the reason in Chinese.
func MayTake(role yingji.Role, step, level string) error {
	if step == "" {
		return nil
	}
	if !slices.Contains(stepRoles[step], role) {
		return syncsvc.Rejected(syncproto.CodeForbidden, "您的角色（"+role.Name()+"）不能对隐患执行“"+StepName(step)+"”："+whoMay(step))
	}
	if step == StepAccept && level == "major" && role.AdminRank() < yingji.RoleDistrictAdmin.AdminRank() {
		return syncsvc.Rejected(syncproto.CodeForbidden, "重大隐患只能由区县或市级管理员验收")
	}
	return nil
}

func whoMay(step string) string {
	switch step {
	case StepAssign:
		return "只有乡镇（街道）、区县、市级管理员或本企业负责人可以交办"
	case StepRectify:
		return "只有本企业安全员、负责人或管理员可以开始整改"
	case StepSubmit:
		return "只有本企业安全员或负责人可以提交验收"
	case StepAccept, StepSendBack:
		return "只有乡镇（街道）、区县或市级管理员可以验收或退回"
	}
	return "只有网格员、企业安全员、企业负责人、管理员和值班员可以上报"
}

// Requires checks that a hazard after the step holds what the step needs: an assignment its
// deadline and rectifier, a submission its after-photos. The error is a sync.missing_field
// rejection naming what is missing.
func Requires(step string, next syncsvc.Fields) error {
	switch step {
	case StepAssign:
		var missing []string
		if syncsvc.Str(next, "deadline") == "" {
			missing = append(missing, "整改期限（deadline）")
		}
		if syncsvc.Str(next, "rectifier_id") == "" {
			missing = append(missing, "整改责任人（rectifier_id）")
		}
		if len(missing) > 0 {
			msg := "交办隐患须填写" + missing[0]
			if len(missing) > 1 {
				msg += "和" + missing[1]
			}
			return syncsvc.Rejected(syncproto.CodeMissingField, msg)
		}
	case StepSubmit:
		var photos []string
		json.Unmarshal(next["photos"], &photos)
		if len(photos) == 0 {
			return syncsvc.Rejected(syncproto.CodeMissingField, "提交验收须附整改后的照片（photos）")
		}
	}
	return nil
}

// Transition returns the steps the change from prev (nil for a new record) to a status
// takes: a create that starts beyond reported is a report and then its move.
func Transition(prev syncsvc.Fields, to string) []string {
	if prev == nil {
		steps := []string{StepReport}
		if to != "" && to != Machine.Initial {
			if s := StepOf(Machine.Initial, to); s != "" {
				steps = append(steps, s)
			}
		}
		return steps
	}
	from := syncsvc.Str(prev, "status")
	if from == "" {
		from = Machine.Initial
	}
	if to == "" {
		return nil
	}
	if s := StepOf(from, to); s != "" {
		return []string{s}
	}
	return nil
}
