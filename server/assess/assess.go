// Package assess holds assessment reports (应急评估): the seed's four steps as a structured
// report — the conditions before, the causes and development, the response and rescue
// evaluated, the losses — pre-filled from the incident and its timeline's figures, edited by
// staff as a draft and made final (both audited), printed as .docx and PDF through plandoc.
package assess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/plan/plandoc"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/task"
	"github.com/yingji/yingji/server/timeline"
	"github.com/yingji/yingji/server/yingji"
)

// Statuses of a report.
const (
	StatusDraft = "draft"
	StatusFinal = "final"
)

// Figures are what the timeline and the incident say, computed when the report is made.
// Durations are minutes from the report (接报); -1 when it did not happen.
type Figures struct {
	Events           int     `json:"events"`
	PatrolsBefore    int     `json:"patrols_before"` // the enterprise's patrols in the 30 days before
	HazardsBefore    int     `json:"hazards_before"`
	ToResponseMin    float64 `json:"to_response_min"` // to the first approved response start
	ToArrivalMin     float64 `json:"to_arrival_min"`  // to the first check-in at the scene
	ToControlMin     float64 `json:"to_control_min"`  // to the termination of the response
	Tasks            int     `json:"tasks"`
	TasksDone        int     `json:"tasks_done"`
	TasksOnTime      int     `json:"tasks_on_time"` // done by their deadline (or without one)
	TasksRefused     int     `json:"tasks_refused"`
	TasksCancelled   int     `json:"tasks_cancelled"`
	Checkins         int     `json:"checkins"`
	Feedback         int     `json:"feedback"`
	Messages         int     `json:"messages"`
	Dead             int     `json:"dead"`
	Injured          int     `json:"injured"`
	Missing          int     `json:"missing"`
	Affected         int     `json:"affected"`
	DirectLossWan    float64 `json:"direct_loss_wan"` // 万元
	TimelineVerified bool    `json:"timeline_verified"`
}

// Content is the report's four steps.
type Content struct {
	Before struct {
		Text string `json:"text"` // 事发前状况
	} `json:"before"`
	Causes struct {
		Text        string `json:"text"`        // 事件原因
		Development string `json:"development"` // 发展过程
	} `json:"causes"`
	Response struct {
		Text       string `json:"text"`       // 应急处置与救援评价
		Strengths  string `json:"strengths"`  // 经验
		Weaknesses string `json:"weaknesses"` // 问题与不足
	} `json:"response"`
	Losses struct {
		DirectWan   float64 `json:"direct_wan"`   // 直接经济损失（万元）
		IndirectWan float64 `json:"indirect_wan"` // 间接经济损失（万元）
		Text        string  `json:"text"`
	} `json:"losses"`
	Suggestions string `json:"suggestions"` // 整改建议
}

// Assessment is one report.
type Assessment struct {
	ID            string    `json:"id"`
	IncidentID    string    `json:"incident_id"`
	IncidentCode  string    `json:"incident_code"`
	IncidentTitle string    `json:"incident_title"`
	Title         string    `json:"title"`
	Status        string    `json:"status"`
	Content       Content   `json:"content"`
	Figures       Figures   `json:"figures"`
	CreatedBy     string    `json:"created_by"`
	FinalizedBy   string    `json:"finalized_by"`
	FinalizedAt   string    `json:"finalized_at"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Service is the assessment module.
type Service struct {
	DB    sqldb.DB
	Audit yingji.Auditor
	Now   func() time.Time
	PDF   *plandoc.Printer
}

// New returns the service.
func New(db sqldb.DB, audit yingji.Auditor) *Service {
	return &Service{DB: db, Audit: audit, Now: time.Now}
}

func (s *Service) record(ctx context.Context, a *yingji.Actor, action, id, result string, detail any) {
	if s.Audit != nil {
		s.Audit.Record(ctx, a, yingji.Event{Action: action, ObjectType: "assessment", ObjectID: id, Result: result, Detail: detail})
	}
}

var notFound = yingji.Errorf(yingji.ENOTFOUND, "assessment.not_found", "评估报告不存在")

// mayWrite: headquarters of the incident (administrators and duty officers above it).
func mayWrite(a *yingji.Actor, inc task.Incident) bool { return task.Commander(a, inc) }

func minutes(from, to string) float64 {
	a, err1 := time.Parse(time.RFC3339Nano, from)
	b, err2 := time.Parse(time.RFC3339Nano, to)
	if err1 != nil || err2 != nil || from == "" || to == "" {
		return -1
	}
	return math.Round(b.Sub(a).Minutes()*10) / 10
}

// Compute derives the figures of an incident from its row and its timeline.
func Compute(ctx context.Context, q sqldb.Querier, incidentID string) (Figures, error) {
	var f Figures
	x, err := incident.Load(ctx, q, incidentID)
	reported, terminated := x.ReportedAt, x.TerminatedAt
	f.Dead, f.Injured, f.Missing, f.Affected, f.DirectLossWan = x.Dead, x.Injured, x.Missing, x.Affected, x.EconomicLoss
	if errors.Is(err, yingji.ErrNotFound) {
		return f, yingji.Errorf(yingji.ENOTFOUND, "incident.not_found", "突发事件不存在")
	} else if err != nil {
		return f, err
	}
	_, evs, err := timeline.Derive(ctx, q, incidentID)
	if err != nil {
		return f, err
	}
	f.Events = len(evs)
	f.ToResponseMin, f.ToArrivalMin, f.ToControlMin = -1, -1, minutes(reported, terminated)
	for _, e := range evs {
		switch e.Kind {
		case timeline.KindPatrol:
			f.PatrolsBefore++
		case timeline.KindHazard:
			f.HazardsBefore++
		case timeline.KindCheckin:
			f.Checkins++
			if f.ToArrivalMin < 0 {
				f.ToArrivalMin = minutes(reported, e.At)
			}
		case timeline.KindFeedback:
			f.Feedback++
		case timeline.KindMessage:
			f.Messages++
		case timeline.KindResponseDecided:
			if f.ToResponseMin < 0 && strings.HasPrefix(e.Title, "批准启动") {
				f.ToResponseMin = minutes(reported, e.At)
			}
		}
	}
	rows, err := q.Query(ctx, `SELECT status, due_at, steps FROM tasks WHERE incident_id = $1`, incidentID)
	if err != nil {
		return f, err
	}
	defer rows.Close()
	for rows.Next() {
		var status, due, steps string
		if err := rows.Scan(&status, &due, &steps); err != nil {
			return f, err
		}
		f.Tasks++
		switch status {
		case task.StatusDone:
			f.TasksDone++
			var ss []task.Step
			json.Unmarshal([]byte(steps), &ss)
			doneAt := ""
			for _, st := range ss {
				if st.Status == task.StatusDone {
					doneAt = st.At
				}
			}
			if due == "" || (doneAt != "" && minutes(doneAt, due) >= 0) {
				f.TasksOnTime++
			}
		case task.StatusRefused:
			f.TasksRefused++
		case task.StatusCancelled:
			f.TasksCancelled++
		}
	}
	return f, rows.Err()
}

func minText(m float64) string {
	if m < 0 {
		return "未发生"
	}
	return fmt.Sprintf("%g 分钟", m)
}

// prefill writes the figures into the texts staff start from.
func prefill(code, title string, f Figures) Content {
	var c Content
	c.Before.Text = fmt.Sprintf("事发前 30 天内，涉事单位共开展巡查 %d 次，上报隐患 %d 项。", f.PatrolsBefore, f.HazardsBefore)
	c.Causes.Text = ""
	c.Causes.Development = fmt.Sprintf("事件 %s（%s）的全过程见灾后复盘时间线，共 %d 个事件。", code, title, f.Events)
	c.Response.Text = fmt.Sprintf("接报至启动响应 %s，至救援力量到场报到 %s，至响应终止 %s。共下达任务 %d 项，完成 %d 项（按期 %d 项），拒绝 %d 项，撤销 %d 项；队伍报到 %d 次，现场反馈 %d 条，群组消息 %d 条。",
		minText(f.ToResponseMin), minText(f.ToArrivalMin), minText(f.ToControlMin), f.Tasks, f.TasksDone, f.TasksOnTime, f.TasksRefused,
		f.TasksCancelled, f.Checkins, f.Feedback, f.Messages)
	c.Losses.DirectWan = f.DirectLossWan
	c.Losses.Text = fmt.Sprintf("死亡 %d 人，受伤 %d 人，失踪 %d 人，受影响 %d 人；直接经济损失 %g 万元。", f.Dead, f.Injured, f.Missing, f.Affected, f.DirectLossWan)
	return c
}

const cols = `a.id, a.incident_id, COALESCE(i.code, ''), COALESCE(i.title, ''), a.title, a.status, a.content, a.figures, a.created_by,
	a.finalized_by, a.finalized_at, a.created_at, a.updated_at`

func scan(r sqldb.Row) (Assessment, error) {
	var x Assessment
	var content, figures string
	err := r.Scan(&x.ID, &x.IncidentID, &x.IncidentCode, &x.IncidentTitle, &x.Title, &x.Status, &content, &figures, &x.CreatedBy,
		&x.FinalizedBy, &x.FinalizedAt, &x.CreatedAt, &x.UpdatedAt)
	json.Unmarshal([]byte(content), &x.Content)
	json.Unmarshal([]byte(figures), &x.Figures)
	return x, err
}

func (s *Service) load(ctx context.Context, q sqldb.Querier, a *yingji.Actor, id string) (Assessment, task.Incident, error) {
	x, err := scan(q.QueryRow(ctx, `SELECT `+cols+` FROM assessments a LEFT JOIN incidents i ON i.id = a.incident_id WHERE a.id = $1`, id))
	if errors.Is(err, yingji.ErrNotFound) {
		return x, task.Incident{}, notFound
	} else if err != nil {
		return x, task.Incident{}, err
	}
	inc, err := task.LoadIncident(ctx, q, x.IncidentID)
	if err != nil {
		return x, inc, notFound
	}
	ok, err := task.CanRead(ctx, q, a, inc)
	if err != nil {
		return x, inc, err
	}
	if !ok {
		return x, inc, notFound
	}
	return x, inc, nil
}

// Get reads a report the actor may read.
func (s *Service) Get(ctx context.Context, a *yingji.Actor, id string) (Assessment, error) {
	var x Assessment
	err := s.DB.ReadTx(ctx, func(q sqldb.Querier) error {
		var err error
		x, _, err = s.load(ctx, q, a, id)
		return err
	})
	return x, err
}

// Filter narrows the list.
type Filter struct {
	IncidentID string
	Status     string
}

// List lists the reports of incidents in the actor's subtree, newest first.
func (s *Service) List(ctx context.Context, a *yingji.Actor, f Filter, p yingji.ListParams) (yingji.Page[Assessment], error) {
	page := yingji.Page[Assessment]{Items: []Assessment{}}
	if a.Role.ScopeKind() != yingji.ScopeOrg {
		return page, nil
	}
	args := []any{a.OrgPath + "%"}
	w := " WHERE a.org_path LIKE $1"
	if f.IncidentID != "" {
		args = append(args, f.IncidentID)
		w += fmt.Sprintf(" AND a.incident_id = $%d", len(args))
	}
	if f.Status != "" {
		args = append(args, f.Status)
		w += fmt.Sprintf(" AND a.status = $%d", len(args))
	}
	err := s.DB.ReadTx(ctx, func(q sqldb.Querier) error {
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM assessments a`+w, args...).Scan(&page.Total); err != nil {
			return err
		}
		args = append(args, p.PageSize, p.Offset())
		rows, err := q.Query(ctx, `SELECT `+cols+` FROM assessments a LEFT JOIN incidents i ON i.id = a.incident_id`+w+
			fmt.Sprintf(" ORDER BY a.created_at DESC, a.id DESC LIMIT $%d OFFSET $%d", len(args)-1, len(args)), args...)
		page.Items, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Assessment, error) { return scan(r) })
		return err
	})
	return page, err
}

// Create makes a draft for an incident, pre-filled from its figures; the timeline is anchored
// first so the figures rest on evidence.
func (s *Service) Create(ctx context.Context, a *yingji.Actor, incidentID string) (Assessment, error) {
	var inc task.Incident
	err := s.DB.ReadTx(ctx, func(q sqldb.Querier) error {
		var err error
		if inc, err = task.LoadIncident(ctx, q, incidentID); err != nil {
			return yingji.Errorf(yingji.ENOTFOUND, "incident.not_found", "突发事件不存在")
		}
		return nil
	})
	if err != nil {
		return Assessment{}, err
	}
	if !mayWrite(a, inc) {
		s.record(ctx, a, "assessment.create", "", "denied", map[string]string{"incident_id": incidentID})
		return Assessment{}, yingji.Errorf(yingji.EFORBIDDEN, "assessment.forbidden", "只有本级及上级管理员、值班员可以编写评估报告")
	}
	if _, err := timeline.Anchor(ctx, s.DB, incidentID, s.Now()); err != nil {
		return Assessment{}, err
	}
	id := yingji.NewID()
	err = s.DB.InTx(ctx, func(q sqldb.Querier) error {
		f, err := Compute(ctx, q, incidentID)
		if err != nil {
			return err
		}
		x, err := incident.Load(ctx, q, incidentID)
		if err != nil {
			return err
		}
		code, title := x.Code, x.Title
		f.TimelineVerified = true
		c, _ := json.Marshal(prefill(code, title, f))
		fj, _ := json.Marshal(f)
		now := s.Now().UTC()
		_, err = q.Exec(ctx, `INSERT INTO assessments (id, incident_id, org_path, title, status, content, figures, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $8)`, id, incidentID, inc.OrgPath, title+"应急评估报告", string(c), string(fj), a.UserID, now)
		return err
	})
	if err != nil {
		return Assessment{}, err
	}
	s.record(ctx, a, "assessment.create", id, "ok", map[string]string{"incident_id": incidentID})
	return s.Get(ctx, a, id)
}

// AssessmentPatch changes a draft; absent fields stay.
type AssessmentPatch struct {
	Title   *string  `json:"title"`
	Content *Content `json:"content"`
}

// Update edits a draft.
func (s *Service) Update(ctx context.Context, a *yingji.Actor, id string, p AssessmentPatch) (Assessment, error) {
	err := s.DB.InTx(ctx, func(q sqldb.Querier) error {
		x, inc, err := s.load(ctx, q, a, id)
		if err != nil {
			return err
		}
		if !mayWrite(a, inc) {
			return yingji.Errorf(yingji.EFORBIDDEN, "assessment.forbidden", "只有本级及上级管理员、值班员可以编写评估报告")
		}
		if x.Status != StatusDraft {
			return yingji.Errorf(yingji.ECONFLICT, "assessment.final", "评估报告已定稿，不能修改")
		}
		if p.Title != nil {
			t := strings.TrimSpace(*p.Title)
			if t == "" || len([]rune(t)) > 200 {
				return yingji.Invalid("assessment.bad_title", "title", "标题不能为空，且不超过 200 个字")
			}
			x.Title = t
		}
		if p.Content != nil {
			if p.Content.Losses.DirectWan < 0 || p.Content.Losses.IndirectWan < 0 {
				return yingji.Invalid("assessment.bad_loss", "content.losses", "经济损失不能为负数")
			}
			x.Content = *p.Content
		}
		c, _ := json.Marshal(x.Content)
		_, err = q.Exec(ctx, `UPDATE assessments SET title = $2, content = $3, updated_at = $4 WHERE id = $1`, id, x.Title, string(c), s.Now().UTC())
		return err
	})
	if err != nil {
		if yingji.ErrorCode(err) == "assessment.forbidden" {
			s.record(ctx, a, "assessment.update", id, "denied", nil)
		}
		return Assessment{}, err
	}
	s.record(ctx, a, "assessment.update", id, "ok", p)
	return s.Get(ctx, a, id)
}

// Finalize makes a draft final (定稿): it cannot change after.
func (s *Service) Finalize(ctx context.Context, a *yingji.Actor, id string) (Assessment, error) {
	err := s.DB.InTx(ctx, func(q sqldb.Querier) error {
		x, inc, err := s.load(ctx, q, a, id)
		if err != nil {
			return err
		}
		if !mayWrite(a, inc) {
			return yingji.Errorf(yingji.EFORBIDDEN, "assessment.forbidden", "只有本级及上级管理员、值班员可以定稿评估报告")
		}
		if x.Status != StatusDraft {
			return yingji.Errorf(yingji.ECONFLICT, "assessment.final", "评估报告已定稿")
		}
		if strings.TrimSpace(x.Content.Causes.Text) == "" {
			return yingji.Invalid("assessment.missing_causes", "content.causes.text", "定稿前须填写事件原因")
		}
		_, err = q.Exec(ctx, `UPDATE assessments SET status = 'final', finalized_by = $2, finalized_at = $3, updated_at = $4 WHERE id = $1`,
			id, a.UserID, s.Now().UTC().Format("2006-01-02T15:04:05Z"), s.Now().UTC())
		return err
	})
	if err != nil {
		return Assessment{}, err
	}
	s.record(ctx, a, "assessment.finalize", id, "ok", nil)
	return s.Get(ctx, a, id)
}

// Blocks lays a report out for printing.
func Blocks(x Assessment) []plandoc.Block {
	f := x.Figures
	status := "草稿"
	if x.Status == StatusFinal {
		status = "定稿 " + x.FinalizedAt
	}
	b := []plandoc.Block{{Heading: 1, Text: x.Title},
		{Text: fmt.Sprintf("事件编号：%s　事件：%s　状态：%s", x.IncidentCode, x.IncidentTitle, status)},
		{Heading: 2, Text: "一、事发前状况"}, {Text: x.Content.Before.Text},
		{Heading: 2, Text: "二、事件原因与发展过程"}, {Text: x.Content.Causes.Text}, {Text: x.Content.Causes.Development},
		{Heading: 2, Text: "三、应急处置与救援评价"}, {Text: x.Content.Response.Text},
		{Header: []string{"指标", "数值"}, Rows: [][]string{
			{"接报至启动响应", minText(f.ToResponseMin)}, {"接报至到场报到", minText(f.ToArrivalMin)}, {"接报至响应终止", minText(f.ToControlMin)},
			{"任务（完成/按期/总数）", fmt.Sprintf("%d / %d / %d", f.TasksDone, f.TasksOnTime, f.Tasks)},
			{"队伍报到", fmt.Sprint(f.Checkins)}, {"现场反馈", fmt.Sprint(f.Feedback)},
		}},
	}
	if x.Content.Response.Strengths != "" {
		b = append(b, plandoc.Block{Text: "经验：" + x.Content.Response.Strengths})
	}
	if x.Content.Response.Weaknesses != "" {
		b = append(b, plandoc.Block{Text: "问题与不足：" + x.Content.Response.Weaknesses})
	}
	b = append(b, plandoc.Block{Heading: 2, Text: "四、损失评估"},
		plandoc.Block{Header: []string{"项目", "数值"}, Rows: [][]string{
			{"死亡", fmt.Sprintf("%d 人", f.Dead)}, {"受伤", fmt.Sprintf("%d 人", f.Injured)}, {"失踪", fmt.Sprintf("%d 人", f.Missing)},
			{"直接经济损失", fmt.Sprintf("%g 万元", x.Content.Losses.DirectWan)}, {"间接经济损失", fmt.Sprintf("%g 万元", x.Content.Losses.IndirectWan)},
		}}, plandoc.Block{Text: x.Content.Losses.Text})
	if x.Content.Suggestions != "" {
		b = append(b, plandoc.Block{Heading: 2, Text: "五、整改建议"}, plandoc.Block{Text: x.Content.Suggestions})
	}
	return b
}

// Export prints a report as "docx" or "pdf".
func (s *Service) Export(ctx context.Context, a *yingji.Actor, id, format string) (Assessment, []byte, error) {
	x, err := s.Get(ctx, a, id)
	if err != nil {
		return x, nil, err
	}
	var out []byte
	switch format {
	case "docx":
		out, err = plandoc.DocxBlocks(Blocks(x))
	case "pdf":
		if s.PDF == nil {
			s.PDF = plandoc.NewPrinter()
		}
		if !s.PDF.CJK() {
			return x, nil, yingji.Errorf(yingji.ECONFLICT, "assessment.no_cjk_font", "服务器未安装中文字体，无法生成 PDF；请安装 fonts-droid-fallback，或导出 Word 文档后打印")
		}
		out, err = s.PDF.PDFBlocks(x.Title, Blocks(x))
	default:
		return x, nil, yingji.Invalid("assessment.bad_format", "format", "导出格式只能是 docx 或 pdf")
	}
	if err == nil {
		s.record(ctx, a, "assessment.export", id, "ok", map[string]string{"format": format})
	}
	return x, out, err
}
