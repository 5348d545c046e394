package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/sheet"
	"github.com/yingji/yingji/server/yingji"
)

// Incidents (灾情定位) and the response (启动响应/变更/终止): the incident list, detail, report
// and figures, alert to incident in one step, plan matching, response steps and their
// approval, the command groups and the incident chat (群组).

// IncidentPage is a page of incidents.
type IncidentPage = yingji.Page[incident.Incident]

// IncidentMembers are an incident's command groups.
type IncidentMembers struct {
	Items []incident.Member `json:"items"`
}

// ResponseActions are an incident's response steps, in the order proposed.
type ResponseActions struct {
	Items []incident.Action `json:"items"`
}

// IncidentMessages are chat messages in the order sent.
type IncidentMessages struct {
	Items []incident.Message `json:"items"`
}

// Decision approves or rejects a response step.
type Decision struct {
	Comment string `json:"comment"`
}

// MessageInput posts a chat message.
type MessageInput struct {
	Kind     string             `json:"kind"`
	Text     string             `json:"text"`
	Photos   []string           `json:"photos"`
	Location *incident.Location `json:"location"`
}

var incidentQuery = []Param{{"status", "string", "状态：reported（已接报）、responding（响应中）、terminated（已终止）"},
	{"class", "string", "事件类别：natural、accident、health、social"}, {"grade", "string", "事件分级：特别重大、重大、较大、一般"},
	{"from", "string", "发生时间起（含），如 2026-11-01"}, {"to", "string", "发生时间止（不含）"},
	{"exercise", "boolean", "true 只看演练，false 只看真实事件"}, {"q", "string", "标题、编号或地址包含"}}

var incidentExample = map[string]any{"title": "临港化工园区某企业氯气泄漏", "class": "accident", "sub_type": "危险化学品事故", "grade": "较大",
	"lat": 30.2201, "lng": 120.3466, "address": "临港化工园区纬三路 8 号", "occurred_at": "2026-12-07T09:30:00+08:00",
	"reporter_name": "张三", "reporter_phone": "13900000000", "source": "phone", "dead": 0, "injured": 3, "trapped": 2,
	"materials": []map[string]any{{"name": "氯气", "cas": "7782-50-5", "amount": 2, "unit": "t"}}, "exercise": false}

type incidentAPI struct {
	*Server
	svc *incident.Service
}

// MountIncidents adds the incident routes on svc.
func (s *Server) MountIncidents(svc *incident.Service) {
	r := &incidentAPI{Server: s, svc: svc}
	const tag = "incidents"
	s.route(Op{Method: http.MethodGet, Path: "/incidents", Tag: tag, Query: append(append([]Param{}, incidentQuery...), Paging...),
		Resp: IncidentPage{}, Summary: "事件列表：管辖范围内的事件及本人参与的事件，默认按发生时间倒序"}, r.list)
	s.route(Op{Method: http.MethodGet, Path: "/incidents/export.xlsx", Tag: tag, Query: incidentQuery, Produces: sheet.ContentType,
		Summary: "导出事件列表（Excel）"}, r.export)
	s.route(Op{Method: http.MethodGet, Path: "/incidents/stats", Tag: tag, Resp: incident.Stats{},
		Query:   []Param{{"from", "string", "发生时间起（含），默认本年 1 月 1 日"}, {"to", "string", "发生时间止（不含），默认现在"}},
		Summary: "事件统计：按类别、分级、月份的起数与伤亡、损失（演练不计入）"}, r.stats)
	s.route(Op{Method: http.MethodGet, Path: "/incidents/pending-approvals", Tag: tag, Resp: ResponseActions{},
		Summary: "待本人审批的响应建议（本人为预案指定的审批领导）"}, r.pending)
	s.route(Op{Method: http.MethodPost, Path: "/incidents", Tag: tag, Body: incident.Incident{}, Example: incidentExample,
		Resp: incident.Incident{}, Status: http.StatusCreated, Summary: "接报录入事件（编号、状态由服务器生成）"}, r.create)
	s.route(Op{Method: http.MethodGet, Path: "/incidents/:id", Tag: tag, Resp: incident.Incident{}, Summary: "事件详情"}, r.get)
	s.route(Op{Method: http.MethodPatch, Path: "/incidents/:id", Tag: tag, Body: incident.Patch{}, Resp: incident.Incident{},
		Summary: "续报：修改事件的位置、伤亡、损失、危化品等（只改给出的字段；已终止的事件不能修改）"}, r.update)
	s.route(Op{Method: http.MethodGet, Path: "/incidents/:id/match", Tag: tag, Resp: incident.Match{},
		Summary: "预案匹配：适用的已发布预案、各自应启动的响应级别及依据（命中的启动条件）、指挥部与现场指挥部成员及电话、相关专家"}, r.match)
	s.route(Op{Method: http.MethodGet, Path: "/incidents/:id/members", Tag: tag, Resp: IncidentMembers{},
		Query: []Param{{"all", "boolean", "true 含已退出的成员"}}, Summary: "事件指挥群组成员（应急指挥部、现场指挥部、救援队伍、群组成员）"}, r.members)
	s.route(Op{Method: http.MethodGet, Path: "/incidents/:id/responses", Tag: tag, Resp: ResponseActions{},
		Summary: "事件的响应步骤（启动、提升、降低、终止）及审批情况"}, r.responses)
	s.route(Op{Method: http.MethodPost, Path: "/incidents/:id/responses", Tag: tag, Body: incident.Proposal{}, Resp: incident.Action{},
		Status: http.StatusCreated, Example: map[string]any{"kind": "start", "level": 3, "plan_id": "plan-id", "reason": ""},
		Summary: "值班员提出响应建议（启动/提升/降低/终止），经预案指定的领导审批后生效；所选预案或级别与匹配结果不同时须填理由"}, r.propose)
	s.route(Op{Method: http.MethodPost, Path: "/responses/:id/approve", Tag: tag, Body: Decision{}, Resp: incident.Action{},
		Summary: "审批通过响应建议（只有指定的审批领导可以）：事件状态与响应级别随之改变，启动时组建指挥群组并通知成员"}, r.decide(incident.StateApproved))
	s.route(Op{Method: http.MethodPost, Path: "/responses/:id/reject", Tag: tag, Body: Decision{}, Resp: incident.Action{},
		Summary: "驳回响应建议（只有指定的审批领导可以）"}, r.decide(incident.StateRejected))
	s.route(Op{Method: http.MethodGet, Path: "/incidents/:id/messages", Tag: tag, Resp: IncidentMessages{},
		Query:   []Param{{"after", "string", "只返回该消息之后的消息"}, {"limit", "integer", "条数，默认 200，最大 500"}},
		Summary: "事件群组消息（按发送时间排序）"}, r.messages)
	s.route(Op{Method: http.MethodPost, Path: "/incidents/:id/messages", Tag: tag, Body: MessageInput{}, Resp: incident.Message{},
		Status: http.StatusCreated, Example: map[string]any{"kind": "text", "text": "现场风向东南，请下风向人员撤离"},
		Summary: "在事件群组发消息：文字、图片（媒体 SHA-256）或位置"}, r.post)
	s.route(Op{Method: http.MethodPost, Path: "/alerts/:id/incident", Tag: tag, Body: incident.Incident{}, Resp: incident.Incident{},
		Status: http.StatusCreated, Example: map[string]any{"class": "accident", "sub_type": "危险化学品事故", "grade": "一般"},
		Summary: "预警一键转事件：事件继承预警的企业、位置和开始时间（可覆盖），预警与事件互相关联，预警时间线记一条"}, r.fromAlert)
}

func incidentFilter(c echo.Context) (incident.Filter, error) {
	f := incident.Filter{Status: c.QueryParam("status"), Class: c.QueryParam("class"), Grade: c.QueryParam("grade"), Query: c.QueryParam("q")}
	var err error
	if f.Exercise, err = boolQuery(c, "exercise"); err != nil {
		return f, err
	}
	for _, n := range []string{"from", "to"} {
		t, err := timeQuery(c, n)
		if err != nil {
			return f, err
		}
		if t != nil {
			if n == "from" {
				f.From = t.Format(time.RFC3339)
			} else {
				f.To = t.Format(time.RFC3339)
			}
		}
	}
	return f, nil
}

func (r *incidentAPI) list(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	f, err := incidentFilter(c)
	if err != nil {
		return err
	}
	page, err := r.svc.List(c.Request().Context(), actor(c), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

var incidentSheet = sheet.Spec{Sheet: "事件", Columns: []sheet.Column{
	{Title: "事件编号", Width: 16}, {Title: "标题", Width: 30}, {Title: "类别"}, {Title: "类型", Width: 16}, {Title: "分级"},
	{Title: "状态"}, {Title: "响应级别"}, {Title: "发生时间", Width: 18}, {Title: "接报时间", Width: 18}, {Title: "来源"},
	{Title: "地址", Width: 30}, {Title: "死亡"}, {Title: "受伤"}, {Title: "失踪"}, {Title: "被困"}, {Title: "受影响人数"},
	{Title: "直接经济损失（万元）"}, {Title: "涉及危化品", Width: 24}, {Title: "演练"}, {Title: "报告人"}, {Title: "报告人电话", Text: true},
}}

func (r *incidentAPI) export(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	f, err := incidentFilter(c)
	if err != nil {
		return err
	}
	w, err := sheet.NewWriter(incidentSheet)
	if err != nil {
		return err
	}
	defer w.Close()
	truncated := false
	local := func(s string) string {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return s
		}
		return t.In(shanghai).Format("2006-01-02 15:04")
	}
	for p := (yingji.ListParams{Page: 1, PageSize: yingji.MaxPageSize}); ; p.Page++ {
		page, err := r.svc.List(ctx, a, f, p)
		if err != nil {
			return err
		}
		for _, x := range page.Items {
			if w.Rows() >= maxExportRows {
				truncated = true
				break
			}
			mats := make([]string, len(x.Materials))
			for i, m := range x.Materials {
				mats[i] = m.Name
				if m.CAS != "" {
					mats[i] += "（CAS " + m.CAS + "）"
				}
			}
			level := ""
			if x.ResponseLevel > 0 {
				level = plan.LevelName(x.ResponseLevel)
			}
			if err := w.Add(x.Code, x.Title, plan.EventClass(x.Class).Name(), x.SubType, x.Grade, incident.StatusName(x.Status), level,
				local(x.OccurredAt), local(x.ReportedAt), incident.SourceName(x.Source), x.Address, x.Dead, x.Injured, x.Missing, x.Trapped,
				x.Affected, x.EconomicLoss, strings.Join(mats, "、"), x.Exercise, x.ReporterName, x.ReporterPhone); err != nil {
				return err
			}
		}
		if truncated || len(page.Items) < p.PageSize || p.Page*p.PageSize >= page.Total {
			break
		}
	}
	if truncated {
		w.Note(fmt.Sprintf("超过单次导出上限 %d 条，只导出了前 %d 条；请缩小筛选范围后分批导出。", maxExportRows, maxExportRows))
	}
	r.recordExport(c, "incident.export_list", "incident", w.Rows(), truncated)
	zh, ascii := r.exportName("事件", "incidents")
	return sendWorkbook(c, w, zh, ascii)
}

func (r *incidentAPI) stats(c echo.Context) error {
	now := time.Now().In(shanghai)
	from, to := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, shanghai), now
	if t, err := timeQuery(c, "from"); err != nil {
		return err
	} else if t != nil {
		from = *t
	}
	if t, err := timeQuery(c, "to"); err != nil {
		return err
	} else if t != nil {
		to = *t
	}
	if !to.After(from) || to.Sub(from) > 10*366*24*time.Hour {
		return yingji.Invalid("request.bad_query", "to", "统计区间应为 10 年以内，且止时间晚于起时间")
	}
	st, err := r.svc.Stats(c.Request().Context(), actor(c), from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (r *incidentAPI) pending(c echo.Context) error {
	xs, err := r.svc.PendingFor(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ResponseActions{Items: xs})
}

func (r *incidentAPI) create(c echo.Context) error {
	var in incident.Incident
	if err := r.bind(c, &in); err != nil {
		return err
	}
	x, err := r.svc.Create(c.Request().Context(), actor(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, x)
}

func (r *incidentAPI) get(c echo.Context) error {
	x, err := r.svc.Read(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, x)
}

func (r *incidentAPI) update(c echo.Context) error {
	var in incident.Patch
	if err := r.bind(c, &in); err != nil {
		return err
	}
	x, err := r.svc.Update(c.Request().Context(), actor(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, x)
}

func (r *incidentAPI) match(c echo.Context) error {
	m, err := r.svc.MatchFor(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

func (r *incidentAPI) members(c echo.Context) error {
	ctx := c.Request().Context()
	all, err := boolQuery(c, "all")
	if err != nil {
		return err
	}
	x, err := r.svc.Read(ctx, actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	ms, err := r.svc.Members(ctx, r.svc.DB, x.ID, all != nil && *all)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, IncidentMembers{Items: ms})
}

func (r *incidentAPI) responses(c echo.Context) error {
	ctx := c.Request().Context()
	x, err := r.svc.Read(ctx, actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	xs, err := r.svc.Actions(ctx, r.svc.DB, x.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ResponseActions{Items: xs})
}

func (r *incidentAPI) propose(c echo.Context) error {
	var in incident.Proposal
	if err := r.bind(c, &in); err != nil {
		return err
	}
	x, err := r.svc.Propose(c.Request().Context(), actor(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, x)
}

func (r *incidentAPI) decide(state string) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in Decision
		if err := r.bind(c, &in); err != nil {
			return err
		}
		x, err := r.svc.Decide(c.Request().Context(), actor(c), c.Param("id"), state, in.Comment)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, x)
	}
}

func (r *incidentAPI) messages(c echo.Context) error {
	limit := 0
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return yingji.Invalid("request.bad_query", "limit", "查询参数 limit 应为正整数")
		}
		limit = n
	}
	ms, err := r.svc.Messages(c.Request().Context(), actor(c), c.Param("id"), c.QueryParam("after"), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, IncidentMessages{Items: ms})
}

func (r *incidentAPI) post(c echo.Context) error {
	var in MessageInput
	if err := r.bind(c, &in); err != nil {
		return err
	}
	m, err := r.svc.Post(c.Request().Context(), actor(c), incident.Message{IncidentID: c.Param("id"), Kind: in.Kind, Text: in.Text,
		Photos: in.Photos, Location: in.Location})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m)
}

func (r *incidentAPI) fromAlert(c echo.Context) error {
	var in incident.Incident
	if c.Request().ContentLength != 0 {
		if err := r.bind(c, &in); err != nil {
			return err
		}
	}
	x, err := r.svc.FromAlert(c.Request().Context(), actor(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, x)
}
