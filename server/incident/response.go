package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/yingji/yingji/server/inbox"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Kinds of response steps.
const (
	ActionStart     = "start"     // 启动响应
	ActionRaise     = "raise"     // 提升响应级别
	ActionLower     = "lower"     // 降低响应级别
	ActionTerminate = "terminate" // 终止响应
)

// ActionKinds lists the kinds.
var ActionKinds = []string{ActionStart, ActionRaise, ActionLower, ActionTerminate}

var actionNames = map[string]string{ActionStart: "启动响应", ActionRaise: "提升响应级别", ActionLower: "降低响应级别", ActionTerminate: "终止响应"}

// ActionName is the Chinese name of a kind.
func ActionName(k string) string { return actionNames[k] }

// States of a response step.
const (
	StateProposed = "proposed"
	StateApproved = "approved"
	StateRejected = "rejected"
)

// ActionMachine is the state machine of a response step: the leader decides once.
var ActionMachine = &syncproto.StateMachine{
	States:      []string{StateProposed, StateApproved, StateRejected},
	Initial:     StateProposed,
	Transitions: map[string][]string{StateProposed: {StateApproved, StateRejected}},
}

// Action is one response step (response_actions): proposed by the duty officer, decided by
// the approver.
type Action struct {
	ID                 string    `json:"id"`
	IncidentID         string    `json:"incident_id"`
	Kind               string    `json:"kind"`
	Level              int       `json:"level"`
	PlanID             string    `json:"plan_id"`
	MatchedPlanID      string    `json:"matched_plan_id"`
	MatchedLevel       int       `json:"matched_level"`
	Reason             string    `json:"reason"`
	State              string    `json:"state"`
	ProposedBy         string    `json:"proposed_by"`
	ProposedAt         string    `json:"proposed_at"`
	ProposedReceivedAt string    `json:"proposed_received_at"`
	ApproverID         string    `json:"approver_id"`
	ApproverRole       string    `json:"approver_role"` // 总指挥 (the plan's) or the configured leader role's name
	DecidedBy          string    `json:"decided_by"`
	DecidedAt          string    `json:"decided_at"`
	DecidedReceivedAt  string    `json:"decided_received_at"`
	Comment            string    `json:"comment"`
	OrgPath            string    `json:"org_path"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	// Read with the users.
	ProposerName string `json:"proposer_name"`
	ApproverName string `json:"approver_name"`
}

const actionCols = `a.id, a.incident_id, a.kind, a.level, a.plan_id, a.matched_plan_id, a.matched_level, a.reason, a.state, a.proposed_by,
	a.proposed_at, a.proposed_received_at, a.approver_id, a.approver_role, a.decided_by, a.decided_at, a.decided_received_at,
	a.comment, a.org_path, a.created_at, a.updated_at, COALESCE(p.name, ''), COALESCE(v.name, '')`

const actionFrom = ` FROM response_actions a LEFT JOIN users p ON p.id = a.proposed_by LEFT JOIN users v ON v.id = a.approver_id`

func scanAction(r sqldb.Rows) (Action, error) {
	var x Action
	err := r.Scan(&x.ID, &x.IncidentID, &x.Kind, &x.Level, &x.PlanID, &x.MatchedPlanID, &x.MatchedLevel, &x.Reason, &x.State,
		&x.ProposedBy, &x.ProposedAt, &x.ProposedReceivedAt, &x.ApproverID, &x.ApproverRole, &x.DecidedBy, &x.DecidedAt,
		&x.DecidedReceivedAt, &x.Comment, &x.OrgPath, &x.CreatedAt, &x.UpdatedAt, &x.ProposerName, &x.ApproverName)
	x.CreatedAt, x.UpdatedAt = x.CreatedAt.UTC(), x.UpdatedAt.UTC()
	return x, err
}

func (s *Service) getAction(ctx context.Context, q sqldb.Querier, id string) (Action, error) {
	rows, err := q.Query(ctx, `SELECT `+actionCols+actionFrom+` WHERE a.id = $1`, id)
	xs, err := sqldb.CollectRows(rows, err, scanAction)
	if err != nil {
		return Action{}, err
	}
	if len(xs) == 0 {
		return Action{}, yingji.Errorf(yingji.ENOTFOUND, "response.not_found", "响应记录不存在")
	}
	return xs[0], nil
}

// Actions lists an incident's response steps in the order proposed.
func (s *Service) Actions(ctx context.Context, q sqldb.Querier, incidentID string) ([]Action, error) {
	rows, err := q.Query(ctx, `SELECT `+actionCols+actionFrom+` WHERE a.incident_id = $1 ORDER BY a.proposed_at, a.id`, incidentID)
	return sqldb.CollectRows(rows, err, scanAction)
}

func insertAction(ctx context.Context, q sqldb.Querier, x Action, now time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO response_actions (id, incident_id, kind, level, plan_id, matched_plan_id, matched_level, reason,
		state, proposed_by, proposed_at, proposed_received_at, approver_id, approver_role, decided_by, decided_at, decided_received_at,
		comment, org_path, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)`,
		x.ID, x.IncidentID, x.Kind, x.Level, x.PlanID, x.MatchedPlanID, x.MatchedLevel, x.Reason, x.State, x.ProposedBy, x.ProposedAt,
		x.ProposedReceivedAt, x.ApproverID, x.ApproverRole, x.DecidedBy, x.DecidedAt, x.DecidedReceivedAt, x.Comment, x.OrgPath, now)
	return err
}

// Proposal is what the duty officer proposes.
type Proposal struct {
	Kind   string `json:"kind"`
	Level  int    `json:"level"`   // 1–4 for start, raise, lower; ignored for terminate
	PlanID string `json:"plan_id"` // the plan (plans.plan_id) for start; later steps keep the incident's
	Reason string `json:"reason"`  // required when plan or level differ from the match, and to terminate
}

// LeaderRoleName is the title of an approver found by the configured leader role.
func (s *Service) leaderRole() yingji.Role {
	if s.LeaderRole != "" {
		return s.LeaderRole
	}
	return yingji.RoleCityAdmin
}

// approver finds who approves a step of the plan: the plan's 总指挥 with an account, else the
// user of the configured leader role nearest above the incident (deepest unit on its chain).
func (s *Service) approver(ctx context.Context, q sqldb.Querier, x Incident, planID string, m Match) (string, string, error) {
	for _, pm := range m.Plans {
		if pm.PlanID == planID && pm.Leader != nil && pm.Leader.UserID != "" {
			return pm.Leader.UserID, "总指挥", nil
		}
	}
	if planID != "" && !slices.ContainsFunc(m.Plans, func(pm PlanMatch) bool { return pm.PlanID == planID }) {
		// The plan in force is not among the matched ones (it no longer covers the facts):
		// read its leader directly.
		ps, err := publishedPlans(ctx, q, x)
		if err != nil {
			return "", "", err
		}
		for _, p := range ps {
			if p.PlanID != planID {
				continue
			}
			cs, err := commanders(ctx, q, p)
			if err != nil {
				return "", "", err
			}
			for _, c := range cs {
				if c.Group == GroupHQ && c.Role == "总指挥" && c.UserID != "" {
					return c.UserID, "总指挥", nil
				}
			}
		}
	}
	role := s.leaderRole()
	rows, err := q.Query(ctx, `SELECT id, org_path FROM users WHERE role = $1 AND disabled = $2 ORDER BY username`, string(role), false)
	type cand struct{ id, path string }
	cs, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (cand, error) { var c cand; return c, r.Scan(&c.id, &c.path) })
	if err != nil {
		return "", "", err
	}
	best := cand{}
	for _, c := range cs {
		if strings.HasPrefix(x.OrgPath, c.path) && len(c.path) > len(best.path) {
			best = c
		}
	}
	if best.id == "" {
		return "", "", yingji.Errorf(yingji.ECONFLICT, "response.no_approver", "找不到审批领导：预案未指定有账号的总指挥，事发地上级也没有%s", role.Name())
	}
	return best.id, role.Name(), nil
}

// Propose records a response step proposed by the duty officer; it takes effect when the
// approver approves it. The approver finds it in his inbox and on his phone.
func (s *Service) Propose(ctx context.Context, a *yingji.Actor, incidentID string, p Proposal) (Action, error) {
	var out Action
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		x, err := s.Get(ctx, tx, incidentID)
		if err != nil {
			return err
		}
		if !a.Can(yingji.PermResponsePropose) || !InScope(a, x) {
			return yingji.Errorf(yingji.EFORBIDDEN, "response.forbidden", "您无权为该事件提出响应建议")
		}
		var open int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM response_actions WHERE incident_id = $1 AND state = $2`, x.ID, StateProposed).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return yingji.Errorf(yingji.ECONFLICT, "response.pending", "该事件已有待审批的响应建议，请等领导审批后再提")
		}
		p.Reason = strings.TrimSpace(p.Reason)
		if len([]rune(p.Reason)) > 2000 {
			return yingji.Invalid("response.invalid", "reason", "理由不超过 2000 个字")
		}
		m, err := s.MatchPlans(ctx, tx, x)
		if err != nil {
			return err
		}
		act := Action{ID: yingji.NewID(), IncidentID: x.ID, Kind: p.Kind, Level: p.Level, PlanID: p.PlanID, Reason: p.Reason,
			State: StateProposed, ProposedBy: a.UserID, OrgPath: x.OrgPath, MatchedPlanID: m.PlanID, MatchedLevel: m.Level}
		switch p.Kind {
		case ActionStart:
			if x.Status != StatusReported {
				return yingji.Errorf(yingji.ECONFLICT, "response.bad_step", "事件已在响应中或已终止，不能再启动响应")
			}
		case ActionRaise, ActionLower:
			if x.Status != StatusResponding {
				return yingji.Errorf(yingji.ECONFLICT, "response.bad_step", "事件未在响应中，不能变更响应级别")
			}
			act.PlanID = x.PlanID
			if (p.Kind == ActionRaise && p.Level >= x.ResponseLevel) || (p.Kind == ActionLower && p.Level <= x.ResponseLevel) {
				return yingji.Invalid("response.invalid", "level", "提升响应应选比当前（%s）更高的级别，降低响应应选更低的级别", plan.LevelName(x.ResponseLevel))
			}
		case ActionTerminate:
			if x.Status != StatusResponding {
				return yingji.Errorf(yingji.ECONFLICT, "response.bad_step", "事件未在响应中，不能终止响应")
			}
			act.PlanID, act.Level = x.PlanID, 0
			if p.Reason == "" {
				return yingji.Invalid("response.invalid", "reason", "终止响应须说明理由（如险情已消除）")
			}
		default:
			return yingji.Invalid("response.invalid", "kind", "响应步骤只能是 start（启动）、raise（提升）、lower（降低）或 terminate（终止）")
		}
		if p.Kind != ActionTerminate && (act.Level < 1 || act.Level > 4) {
			return yingji.Invalid("response.invalid", "level", "响应级别只能是 1–4（一级至四级）")
		}
		if p.Kind == ActionStart {
			if act.PlanID == "" {
				return yingji.Invalid("response.invalid", "plan_id", "启动响应须选择预案")
			}
			if !slices.ContainsFunc(m.Plans, func(pm PlanMatch) bool { return pm.PlanID == act.PlanID }) {
				return yingji.Invalid("response.invalid", "plan_id", "所选预案未发布或不适用于该事件")
			}
			if (act.PlanID != m.PlanID || act.Level != m.Level) && act.Reason == "" {
				return yingji.Invalid("response.invalid", "reason", "所选预案或级别与匹配结果（%s）不同，须说明理由", matchText(m))
			}
		}
		if act.ApproverID, act.ApproverRole, err = s.approver(ctx, tx, x, act.PlanID, m); err != nil {
			return err
		}
		now := s.now()
		act.ProposedAt, act.ProposedReceivedAt = FormatTime(now), FormatTime(now)
		if err := insertAction(ctx, tx, act, now); err != nil {
			return err
		}
		if err := s.changed(ctx, tx, ActionsName, act.ID); err != nil {
			return err
		}
		if err := s.notify(ctx, tx, inbox.Item{Key: "response_proposed:" + act.ID, UserID: act.ApproverID, Kind: inbox.KindResponseProposed,
			Title: "待审批：" + x.Title + " " + actionText(act), Body: proposalBody(x, act, a.Name), RefCollection: ActionsName, RefID: act.ID,
			Link: inbox.IncidentLink(x.ID), Deliver: true}); err != nil {
			return err
		}
		out, err = s.getAction(ctx, tx, act.ID)
		return err
	})
	if err != nil {
		return Action{}, s.deny(ctx, a, "response.propose", ObjectIncident, incidentID, err)
	}
	s.ok(ctx, a, "response.propose", ObjectIncident, incidentID, map[string]any{"action_id": out.ID, "kind": out.Kind, "level": out.Level,
		"plan_id": out.PlanID, "matched_plan_id": out.MatchedPlanID, "matched_level": out.MatchedLevel, "reason": out.Reason,
		"override": out.Kind == ActionStart && (out.PlanID != out.MatchedPlanID || out.Level != out.MatchedLevel), "approver_id": out.ApproverID})
	return out, nil
}

func matchText(m Match) string {
	if m.PlanID == "" {
		return "无匹配"
	}
	return plan.LevelName(m.Level) + "响应"
}

func actionText(x Action) string {
	if x.Kind == ActionTerminate {
		return "终止响应"
	}
	return ActionName(x.Kind) + "（" + plan.LevelName(x.Level) + "）"
}

func proposalBody(x Incident, act Action, by string) string {
	b := fmt.Sprintf("%s提议对事件 %s“%s”%s", by, x.Code, x.Title, actionText(act))
	if act.Reason != "" {
		b += "，理由：" + act.Reason
	}
	return b + "。请审批。"
}

func (s *Service) notify(ctx context.Context, q sqldb.Querier, it inbox.Item) error {
	if s.Inbox == nil || it.UserID == "" {
		return nil
	}
	_, err := s.Inbox.PutTx(ctx, q, it)
	return err
}

// Decide approves or rejects a response step from the portal: only its approver may.
func (s *Service) Decide(ctx context.Context, a *yingji.Actor, actionID, state, comment string) (Action, error) {
	var out Action
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		act, err := s.getAction(ctx, tx, actionID)
		if err != nil {
			return err
		}
		f := actionFields(act)
		f["state"], f["comment"] = syncsvc.JSON(state), syncsvc.JSON(strings.TrimSpace(comment))
		if err := s.decide(ctx, tx, a, act, f); err != nil {
			return err
		}
		if err := s.saveAction(ctx, tx, actionID, f); err != nil {
			return err
		}
		if err := s.changed(ctx, tx, ActionsName, actionID); err != nil {
			return err
		}
		out, err = s.getAction(ctx, tx, actionID)
		return err
	})
	if err != nil {
		if r, ok := err.(*syncproto.Rejection); ok {
			kind := yingji.EINVALID
			if r.Code == syncproto.CodeForbidden {
				kind = yingji.EFORBIDDEN
			} else if r.Code == syncproto.CodeBadTransition {
				kind = yingji.ECONFLICT
			}
			err = yingji.Errorf(kind, "response."+strings.TrimPrefix(r.Code, "sync."), "%s", r.Message)
		}
		return Action{}, s.deny(ctx, a, "response."+state, ObjectResponseAction, actionID, err)
	}
	s.ok(ctx, a, "response."+out.State, ObjectIncident, out.IncidentID, map[string]any{"action_id": out.ID, "kind": out.Kind, "level": out.Level, "comment": out.Comment})
	return out, nil
}

// decide checks a decision and fills its fields: only the designated approver, only once,
// and the step must still apply. Its time is the action time (a phone that was offline
// approves at the time he tapped), not before the proposal.
func (s *Service) decide(ctx context.Context, q sqldb.Querier, a *yingji.Actor, prev Action, next syncsvc.Fields) error {
	state := syncsvc.Str(next, "state")
	if state == prev.State {
		return nil
	}
	if a.UserID == "" || a.UserID != prev.ApproverID {
		return syncsvc.Rejected(syncproto.CodeForbidden, "只有预案指定的审批领导才能审批该响应")
	}
	if prev.State != StateProposed || (state != StateApproved && state != StateRejected) {
		return syncsvc.Rejected(syncproto.CodeBadTransition, "该响应已审批，不能再改")
	}
	now := s.now()
	at, received := syncsvc.StepTimes(ctx, now)
	if pt, err := time.Parse(time.RFC3339, prev.ProposedAt); err == nil {
		if st := syncsvc.StepOf(ctx); st != nil {
			at = st.NotBefore(pt)
		} else if at.Before(pt) {
			at = pt
		}
	}
	if len([]rune(syncsvc.Str(next, "comment"))) > 2000 {
		return syncsvc.Rejected(syncproto.CodeBadValue, "审批意见不超过 2000 个字")
	}
	next["decided_by"] = syncsvc.JSON(a.UserID)
	next["decided_at"] = syncsvc.JSON(FormatTime(at))
	next["decided_received_at"] = syncsvc.JSON(FormatTime(received))
	if state == StateApproved {
		x, err := s.Get(ctx, q, prev.IncidentID)
		if err != nil {
			return err
		}
		if reason := stale(x, prev); reason != "" {
			return syncsvc.Rejected(syncproto.CodeBadTransition, reason)
		}
	}
	return nil
}

// stale says why an approved step could no longer take effect ("" when it can).
func stale(x Incident, act Action) string {
	switch act.Kind {
	case ActionStart:
		if x.Status != StatusReported {
			return "事件已在响应中或已终止，该启动建议已失效"
		}
	case ActionRaise, ActionLower, ActionTerminate:
		if x.Status != StatusResponding {
			return "事件未在响应中，该建议已失效"
		}
	}
	return ""
}

// effect applies an approved step to its incident in the deciding transaction: status, level
// and plan; starting forms the command groups; every member is told on his channels.
func (s *Service) effect(ctx context.Context, q sqldb.Querier, act Action) error {
	x, err := s.Get(ctx, q, act.IncidentID)
	if err != nil {
		return err
	}
	prevMembers, err := s.MemberUserIDs(ctx, q, x.ID)
	if err != nil {
		return err
	}
	switch act.Kind {
	case ActionStart:
		x.Status, x.ResponseLevel, x.PlanID = StatusResponding, act.Level, act.PlanID
	case ActionRaise, ActionLower:
		x.ResponseLevel = act.Level
	case ActionTerminate:
		x.Status, x.TerminatedAt = StatusTerminated, act.DecidedAt
	}
	if err := s.Save(ctx, q, &x); err != nil {
		return err
	}
	if err := s.changed(ctx, q, CollectionName, x.ID); err != nil {
		return err
	}
	if act.Kind == ActionStart {
		if err := s.formGroups(ctx, q, x, act); err != nil {
			return err
		}
	}
	members, err := s.MemberUserIDs(ctx, q, x.ID)
	if err != nil {
		return err
	}
	for _, u := range members {
		it := inbox.Item{Key: "incident:" + act.ID + ":" + u, UserID: u, RefCollection: CollectionName, RefID: x.ID,
			Link: inbox.IncidentLink(x.ID), Deliver: true}
		switch {
		case act.Kind == ActionTerminate:
			it.Kind, it.Title = inbox.KindIncidentEnded, "响应终止："+x.Title
			it.Body = fmt.Sprintf("事件 %s“%s”的应急响应已于 %s 终止。%s", x.Code, x.Title, chinaTime(act.DecidedAt), act.Reason)
		case !slices.Contains(prevMembers, u):
			it.Kind, it.Title = inbox.KindIncidentGroup, "应急响应："+x.Title
			it.Body = fmt.Sprintf("事件 %s“%s”已%s，您已加入事件指挥群组，请按预案履职。", x.Code, x.Title, actionText(act))
		default:
			it.Kind, it.Title = inbox.KindIncidentGroup, "响应变更："+x.Title
			it.Body = fmt.Sprintf("事件 %s“%s”已%s。", x.Code, x.Title, actionText(act))
		}
		if err := s.notify(ctx, q, it); err != nil {
			return err
		}
	}
	return nil
}

func chinaTime(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.In(china).Format("2006-01-02 15:04")
}

// formGroups forms the incident's command groups when its response starts: headquarters and
// on-site command from the plan's organisation (the people with accounts), and the proposer,
// the approver and the reporter in the incident group.
func (s *Service) formGroups(ctx context.Context, q sqldb.Querier, x Incident, act Action) error {
	ps, err := publishedPlans(ctx, q, x)
	if err != nil {
		return err
	}
	var ms []Member
	for _, p := range ps {
		if p.PlanID != act.PlanID {
			continue
		}
		cs, err := commanders(ctx, q, p)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.UserID != "" {
				ms = append(ms, Member{UserID: c.UserID, Group: c.Group, RoleTitle: c.Role, AddedBy: act.DecidedBy})
			}
		}
	}
	hasHQ := func(u string) bool {
		return slices.ContainsFunc(ms, func(m Member) bool { return m.UserID == u && m.Group == GroupHQ })
	}
	if !hasHQ(act.ApproverID) {
		ms = append(ms, Member{UserID: act.ApproverID, Group: GroupHQ, RoleTitle: act.ApproverRole, AddedBy: act.DecidedBy})
	}
	if !hasHQ(act.ProposedBy) {
		ms = append(ms, Member{UserID: act.ProposedBy, Group: GroupHQ, RoleTitle: "值班员", AddedBy: act.DecidedBy})
	}
	if x.CreatedBy != "" && !slices.ContainsFunc(ms, func(m Member) bool { return m.UserID == x.CreatedBy }) {
		ms = append(ms, Member{UserID: x.CreatedBy, Group: GroupMember, RoleTitle: "报告人", AddedBy: act.DecidedBy})
	}
	return s.AddMembers(ctx, q, x.ID, ms)
}

// ActionsName is the name of the synced collection of response steps.
const ActionsName = "response_actions"

var actionSpec = &syncproto.CollectionSpec{
	Name: ActionsName,
	Fields: []syncproto.FieldSpec{
		{Name: "incident_id", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "kind", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "level", Type: syncproto.TypeNumber, Rule: syncproto.Immutable},
		{Name: "plan_id", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "matched_plan_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "matched_level", Type: syncproto.TypeNumber, Rule: syncproto.ServerOwned},
		{Name: "reason", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "state", Type: syncproto.TypeString, Rule: syncproto.State, Machine: ActionMachine},
		{Name: "proposed_by", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "proposed_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "proposed_received_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "approver_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "approver_role", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "decided_by", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "decided_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "decided_received_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "comment", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "org_path", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "proposer_name", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "approver_name", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	},
}

func actionFields(x Action) syncsvc.Fields {
	b, _ := json.Marshal(x)
	var f syncsvc.Fields
	json.Unmarshal(b, &f)
	delete(f, "id")
	delete(f, "created_at")
	delete(f, "updated_at")
	return f
}

func actionOf(id string, f syncsvc.Fields) (Action, error) {
	b, _ := json.Marshal(f)
	var x Action
	if err := json.Unmarshal(b, &x); err != nil {
		return x, syncsvc.Rejected(syncproto.CodeBadValue, "响应记录字段的类型不对")
	}
	x.ID = id
	return x, nil
}

// saveAction writes the decision fields of a step and, when it is approved now, its effect.
func (s *Service) saveAction(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields) error {
	prev, err := s.getAction(ctx, q, id)
	if err != nil {
		return err
	}
	x, err := actionOf(id, f)
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `UPDATE response_actions SET state = $1, decided_by = $2, decided_at = $3, decided_received_at = $4,
		comment = $5, updated_at = $6 WHERE id = $7`, x.State, x.DecidedBy, x.DecidedAt, x.DecidedReceivedAt, x.Comment, s.now(), id); err != nil {
		return err
	}
	if prev.State == StateProposed && x.State != StateProposed {
		x.ProposedBy, x.ApproverID, x.ApproverRole, x.Kind, x.Level, x.PlanID, x.IncidentID, x.Reason =
			prev.ProposedBy, prev.ApproverID, prev.ApproverRole, prev.Kind, prev.Level, prev.PlanID, prev.IncidentID, prev.Reason
		inc, err := s.Get(ctx, q, x.IncidentID)
		if err != nil {
			return err
		}
		verdict := "已批准"
		if x.State == StateApproved {
			if err := s.effect(ctx, q, x); err != nil {
				return err
			}
		} else {
			verdict = "未批准"
		}
		body := fmt.Sprintf("事件 %s“%s”的%s%s", inc.Code, inc.Title, actionText(x), verdict)
		if x.Comment != "" {
			body += "，意见：" + x.Comment
		}
		return s.notify(ctx, q, inbox.Item{Key: "response_decided:" + id, UserID: x.ProposedBy, Kind: inbox.KindResponseDecided,
			Title: actionText(x) + verdict + "：" + inc.Title, Body: body + "。", RefCollection: ActionsName, RefID: id,
			Link: inbox.IncidentLink(inc.ID), Deliver: false})
	}
	return nil
}

// ActionCollection is the synced collection of response steps: the approver's phone gets a
// step proposed to him (his user scope) and approves it offline; the incident's members and
// unit chain read them.
type ActionCollection struct{ s *Service }

// ActionCollection returns the synced collection of response steps.
func (s *Service) ActionCollection() *ActionCollection { return &ActionCollection{s} }

func (c *ActionCollection) Spec() *syncproto.CollectionSpec { return actionSpec }

func (c *ActionCollection) Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]syncsvc.Fields, error) {
	out := map[string]syncsvc.Fields{}
	err := sqldb.InChunks(ids, nil, func(args []any, in string) error {
		rows, err := q.Query(ctx, `SELECT `+actionCols+actionFrom+` WHERE a.id IN (`+in+`)`, args...)
		xs, err := sqldb.CollectRows(rows, err, scanAction)
		for _, x := range xs {
			out[x.ID] = actionFields(x)
		}
		return err
	})
	return out, err
}

func (c *ActionCollection) Place(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields) (syncsvc.Place, error) {
	x, err := actionOf(id, f)
	if err != nil {
		return syncsvc.Place{}, err
	}
	inc, err := syncsvc.Cached(ctx, "incident:"+x.IncidentID, func() (Incident, error) { return c.s.Get(ctx, q, x.IncidentID) })
	if err != nil {
		return syncsvc.Place{}, err
	}
	p := PlaceOf(inc)
	p.UserID = x.ApproverID
	return p, nil
}

// Authorize takes decisions only: a step is proposed in the portal; only its approver may
// change it.
func (c *ActionCollection) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	if cur == nil || m.Op == syncproto.OpDelete {
		return syncsvc.Rejected(syncproto.CodeForbidden, "响应建议请在门户由值班员提出，不能在手机上新建或删除")
	}
	if syncsvc.Str(cur, "approver_id") != a.UserID {
		return syncsvc.Rejected(syncproto.CodeForbidden, "只有预案指定的审批领导才能审批该响应")
	}
	return nil
}

func (c *ActionCollection) Prepare(context.Context, sqldb.Querier, *yingji.Actor, syncsvc.Fields, bool) error {
	return nil
}

// CheckChange fills the decision (who, when) of a step decided on a phone.
func (c *ActionCollection) CheckChange(ctx context.Context, q sqldb.Querier, a *yingji.Actor, prev, next syncsvc.Fields) error {
	p, err := actionOf("", prev)
	if err != nil {
		return err
	}
	p.ID = ""
	return c.s.decide(ctx, q, a, p, next)
}

func (c *ActionCollection) Save(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields, created, deleted bool) error {
	if created || deleted {
		return errors.New("response_actions: devices neither create nor delete")
	}
	return c.s.saveAction(ctx, q, id, f)
}

// PendingFor lists the response steps awaiting the actor's decision, oldest first.
func (s *Service) PendingFor(ctx context.Context, a *yingji.Actor) ([]Action, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+actionCols+actionFrom+` WHERE a.approver_id = $1 AND a.state = $2 ORDER BY a.proposed_at, a.id`,
		a.UserID, StateProposed)
	return sqldb.CollectRows(rows, err, scanAction)
}
