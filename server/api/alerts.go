package api

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/sheet"
	"github.com/yingji/yingji/server/yingji"
)

// Alerts (预警): lists, details, timelines and deliveries, handling from the portal, receiver
// configuration, phones' push tokens and statistics.

// AlertPage is a page of alerts.
type AlertPage = yingji.Page[alert.Alert]

// AlertHandleInput is the body of dispose, close and false-alarm.
type AlertHandleInput struct {
	Reason   string   `json:"reason"`
	Measures string   `json:"measures"`
	Photos   []string `json:"photos"`
}

// AlertActionInput records a comment or a tier's feedback.
type AlertActionInput struct {
	Kind string `json:"kind"` // comment, feedback
	Text string `json:"text"`
}

// AlertActionCreated answers a recorded action.
type AlertActionCreated struct {
	ID string `json:"id"`
}

// AlertReceiverInput creates or replaces a receiver.
type AlertReceiverInput struct {
	Tier            string   `json:"tier"`
	EnterpriseID    string   `json:"enterprise_id"`
	OrgUnitID       string   `json:"org_unit_id"`
	UserID          string   `json:"user_id"`
	Name            string   `json:"name"`
	Phone           string   `json:"phone"`
	ZZDAccountID    string   `json:"zzd_account_id"`
	DingTalkWebhook string   `json:"dingtalk_webhook"`
	DingTalkSecret  string   `json:"dingtalk_secret"`
	Channels        []string `json:"channels"`
	MinLevel        int      `json:"min_level"`
	Enabled         *bool    `json:"enabled"`
}

// AlertReceiverList is a page of receivers.
type AlertReceiverList = yingji.Page[alert.Receiver]

// AlertTimeline is an alert's timeline.
type AlertTimeline struct {
	Items []alert.TimelineItem `json:"items"`
}

// AlertDeliveries are an alert's delivery attempts.
type AlertDeliveries struct {
	Items []alert.Delivery `json:"items"`
}

var alertQuery = []Param{
	{"status", "string", "状态：new、acknowledged、disposing、closed、false_alarm"},
	{"open", "boolean", "只看未处置完毕的预警"},
	{"level", "integer", "预警级别"},
	{"kind", "string", "类型：threshold（超限）、offline（离线）、quality（数据异常）"},
	{"tier", "string", "当前层级：enterprise、township、county"},
	{"enterprise_id", "string", "所属企业"},
	{"org_unit_id", "string", "组织机构（含下级）"},
	{"from", "string", "开始时间不早于（RFC 3339 或 YYYY-MM-DD）"},
	{"to", "string", "开始时间早于（RFC 3339 或 YYYY-MM-DD）"},
	{"q", "string", "标题、内容或企业名称包含"},
}

var alertStatsQuery = append([]Param{
	{"group_by", "string", "分组：period（时间段，默认）、enterprise（企业）、township（乡镇街道）、industry（行业）、kind（类型）、level（级别）"},
	{"period", "string", "group_by=period 时：week（周，周一开始）、month（月，默认）、year（年）"},
}, statsRange...)

var alertStatsSheet = sheet.Spec{
	Sheet: "预警统计",
	Columns: []sheet.Column{
		{Title: "分组", Width: 28},
		{Title: "预警数", Width: 10},
		{Title: "未处置", Width: 10},
		{Title: "误报", Width: 10},
		{Title: "已上报", Width: 10, Note: "逾期未处置、已上报乡镇（街道）或区县的预警"},
		{Title: "按时处置", Width: 10, Note: "在处置期限内关闭或认定误报的预警"},
		{Title: "按时处置率", Width: 12, Note: "按时处置 ÷ 预警数"},
		{Title: "按时签收", Width: 10, Note: "在签收期限内确认的预警（按现场操作时间，离线确认也计入）"},
	},
}

var alertGroupNames = map[string]string{alert.ByPeriod: "时间段", alert.ByEnterprise: "企业", alert.ByTownship: "乡镇（街道）",
	alert.ByIndustry: "行业", alert.ByKind: "类型", alert.ByLevel: "级别"}

type alertAPI struct {
	*Server
	svc *alert.Service
}

// MountAlerts adds the alert routes on svc.
func (s *Server) MountAlerts(svc *alert.Service) {
	r := &alertAPI{Server: s, svc: svc}
	const tag = "预警"
	s.route(Op{Method: http.MethodGet, Path: "/alerts", Tag: tag, Query: append(append([]Param{}, alertQuery...), Paging...), Resp: AlertPage{},
		Summary: "预警列表（管辖范围内）"}, r.list)
	s.route(Op{Method: http.MethodGet, Path: "/alerts/home", Tag: tag, Resp: alert.Home{},
		Summary: "移动端首页预警数：管辖范围内未处置预警（按级别）、待确认、本级待处置、今日新增"}, r.home)
	s.route(Op{Method: http.MethodGet, Path: "/alerts/:id", Tag: tag, Resp: alert.Alert{}, Summary: "预警详情"}, r.get)
	s.route(Op{Method: http.MethodGet, Path: "/alerts/:id/timeline", Tag: tag, Resp: AlertTimeline{},
		Summary: "预警时间线：产生、升级、恢复、逾期上报、确认与处置、反馈和每一次通知发送，按时间排序"}, r.timeline)
	s.route(Op{Method: http.MethodGet, Path: "/alerts/:id/deliveries", Tag: tag, Resp: AlertDeliveries{},
		Summary: "预警通知记录：每个通道每次发送的接收人、时间、结果和错误（短信提醒记录）"}, r.deliveries)
	s.route(Op{Method: http.MethodPost, Path: "/alerts/:id/acknowledge", Tag: tag, Resp: alert.Alert{},
		Summary: "确认预警（与移动端同样的状态规则，记录确认人和时间）"}, r.handle(alert.StatusAcknowledged))
	s.route(Op{Method: http.MethodPost, Path: "/alerts/:id/dispose", Tag: tag, Body: AlertHandleInput{}, Resp: alert.Alert{},
		Summary: "开始处置预警：填写处置措施、照片"}, r.handle(alert.StatusDisposing))
	s.route(Op{Method: http.MethodPost, Path: "/alerts/:id/close", Tag: tag, Body: AlertHandleInput{}, Resp: alert.Alert{},
		Summary: "处置完毕并关闭预警（须填写处置原因），逾期上报随之停止"}, r.handle(alert.StatusClosed))
	s.route(Op{Method: http.MethodPost, Path: "/alerts/:id/false-alarm", Tag: tag, Body: AlertHandleInput{}, Resp: alert.Alert{},
		Summary: "认定为误报并关闭预警（须填写原因）"}, r.handle(alert.StatusFalseAlarm))
	s.route(Op{Method: http.MethodPost, Path: "/alerts/:id/actions", Tag: tag, Body: AlertActionInput{}, Resp: AlertActionCreated{},
		Status: http.StatusCreated, Summary: "记录评论或本级反馈（每一级都要反馈）"}, r.action)

	s.route(Op{Method: http.MethodGet, Path: "/alert-receivers", Tag: tag, Resp: AlertReceiverList{},
		Query: append([]Param{{"tier", "string", "层级：enterprise（企业）、township（乡镇街道）、county（区县）"}, {"enterprise_id", "string", "企业"},
			{"org_unit_id", "string", "组织机构"}, {"q", "string", "姓名或手机号包含"}, {"enabled", "boolean", "true：启用；false：停用"},
			{"mask_phone", "boolean", "true：手机号脱敏显示（138****5678），完整号码经 /alert-receivers/{id}/phone 查看并审计"}}, Paging...),
		Summary: "预警接收人配置（管辖范围内，分页；排序字段 name、phone、min_level、created_at；未配置的层级按角色默认通知：企业安全员和负责人、乡镇管理员、区县管理员）"}, r.receivers)
	s.route(Op{Method: http.MethodGet, Path: "/alert-receivers/:id/phone", Tag: tag, Resp: PhoneReveal{},
		Summary: "查看预警接收人完整手机号（列表中脱敏显示；每次查看记入审计日志）"}, r.revealReceiverPhone)
	s.route(Op{Method: http.MethodPost, Path: "/alert-receivers", Tag: tag, Body: AlertReceiverInput{}, Resp: alert.Receiver{},
		Status: http.StatusCreated, Summary: "新增预警接收人：层级、单位、通知方式（app、fcm、sms、zzd、dingtalk）和最低级别"}, r.createReceiver)
	s.route(Op{Method: http.MethodGet, Path: "/alert-receivers/:id", Tag: tag, Resp: alert.Receiver{}, Summary: "预警接收人详情"}, r.receiver)
	s.route(Op{Method: http.MethodPut, Path: "/alert-receivers/:id", Tag: tag, Body: AlertReceiverInput{}, Resp: alert.Receiver{},
		Summary: "修改预警接收人（钉钉密钥传回“******”表示不变）"}, r.updateReceiver)
	s.route(Op{Method: http.MethodDelete, Path: "/alert-receivers/:id", Tag: tag, Status: http.StatusNoContent,
		Summary: "删除预警接收人"}, r.deleteReceiver)

	s.route(Op{Method: http.MethodPut, Path: "/push-tokens", Tag: tag, Body: alert.PushToken{}, Status: http.StatusNoContent,
		Summary: "登记本人手机的推送令牌（FCM），每台设备一个；被推送服务判定失效的令牌自动删除"}, r.setToken)
	s.route(Op{Method: http.MethodDelete, Path: "/push-tokens/:device_id", Tag: tag, Status: http.StatusNoContent,
		Summary: "删除本人某台设备的推送令牌（退出登录时）"}, r.deleteToken)

	s.route(Op{Method: http.MethodGet, Path: "/stats/alerts", Tag: tag, Query: alertStatsQuery, Resp: alert.Stats{},
		Summary: "预警统计（管辖范围内）：按周、月、年或企业、乡镇街道、行业、类型、级别分组的预警数、未处置数、误报数、上报数和按时处置率"}, r.stats)
	s.route(Op{Method: http.MethodGet, Path: "/stats/alerts/export.xlsx", Tag: tag, Query: alertStatsQuery, Produces: sheet.ContentType,
		Summary: "导出预警统计（Excel，查询参数同预警统计）"}, r.exportStats)
}

func (r *alertAPI) filter(c echo.Context) (alert.Filter, error) {
	f := alert.Filter{Status: c.QueryParam("status"), Kind: c.QueryParam("kind"), Tier: c.QueryParam("tier"),
		EnterpriseID: c.QueryParam("enterprise_id"), OrgUnitID: c.QueryParam("org_unit_id"), Q: c.QueryParam("q")}
	open, err := boolQuery(c, "open")
	if err != nil {
		return f, err
	}
	f.OpenOnly = open != nil && *open
	if f.Level, err = intQuery(c, "level"); err != nil {
		return f, err
	}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		t, err := timeQuery(c, name)
		if err != nil {
			return f, err
		}
		if t != nil {
			*dst = *t
		}
	}
	return f, nil
}

func (r *alertAPI) list(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	f, err := r.filter(c)
	if err != nil {
		return err
	}
	page, err := r.svc.List(c.Request().Context(), actor(c), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (r *alertAPI) home(c echo.Context) error {
	h, err := r.svc.Home(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h)
}

func (r *alertAPI) get(c echo.Context) error {
	a, err := r.svc.Get(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (r *alertAPI) timeline(c echo.Context) error {
	items, err := r.svc.Timeline(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	if items == nil {
		items = []alert.TimelineItem{}
	}
	return c.JSON(http.StatusOK, AlertTimeline{Items: items})
}

func (r *alertAPI) deliveries(c echo.Context) error {
	ds, err := r.svc.Deliveries(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, AlertDeliveries{Items: ds})
}

func (r *alertAPI) handle(status string) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in AlertHandleInput
		if c.Request().ContentLength != 0 {
			if err := r.bind(c, &in); err != nil {
				return err
			}
		}
		a, err := r.svc.Handle(c.Request().Context(), actor(c), c.Param("id"), alert.HandleInput{Status: status, Reason: in.Reason,
			Measures: in.Measures, Photos: in.Photos})
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, a)
	}
}

func (r *alertAPI) action(c echo.Context) error {
	var in AlertActionInput
	if err := r.bind(c, &in); err != nil {
		return err
	}
	if in.Kind != "comment" && in.Kind != "feedback" {
		return yingji.Invalid("alert.bad_action", "kind", "只能记录 comment（评论）或 feedback（反馈）")
	}
	id, err := r.svc.AddAction(c.Request().Context(), actor(c), c.Param("id"), in.Kind, in.Text)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, AlertActionCreated{ID: id})
}

func (r *alertAPI) receivers(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	mask, err := maskPhones(c)
	if err != nil {
		return err
	}
	enabled, err := boolQuery(c, "enabled")
	if err != nil {
		return err
	}
	tier := c.QueryParam("tier")
	if tier != "" && !slices.Contains(alert.Tiers, tier) {
		return yingji.Invalid("request.bad_query", "tier", "查询参数 tier 应为 enterprise、township 或 county")
	}
	page, err := r.svc.ReceiverPage(c.Request().Context(), actor(c), alert.ReceiverFilter{Tier: tier,
		EnterpriseID: c.QueryParam("enterprise_id"), OrgUnitID: c.QueryParam("org_unit_id"), Q: c.QueryParam("q"), Enabled: enabled}, p)
	if err != nil {
		return err
	}
	if mask {
		for i := range page.Items {
			page.Items[i].Phone = MaskPhone(page.Items[i].Phone)
		}
	}
	return c.JSON(http.StatusOK, page)
}

// revealReceiverPhone answers a receiver's full phone number (scope checked) and audits it.
func (r *alertAPI) revealReceiverPhone(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	x, err := r.svc.Receiver(ctx, a, c.Param("id"))
	if err != nil {
		return err
	}
	r.Audit.Record(ctx, a, yingji.Event{Action: "alert_receiver.reveal_phone", ObjectType: "alert_receiver", ObjectID: x.ID, Result: "ok",
		Detail: map[string]string{"name": x.Name}})
	return c.JSON(http.StatusOK, PhoneReveal{Phone: x.Phone})
}

func (r *alertAPI) receiver(c echo.Context) error {
	x, err := r.svc.Receiver(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, x)
}

func (r *alertAPI) saveReceiver(c echo.Context, id string, status int) error {
	var in AlertReceiverInput
	if err := r.bind(c, &in); err != nil {
		return err
	}
	enabled := in.Enabled == nil || *in.Enabled
	x, err := r.svc.SaveReceiver(c.Request().Context(), actor(c), alert.Receiver{ID: id, Tier: in.Tier, EnterpriseID: in.EnterpriseID,
		OrgUnitID: in.OrgUnitID, UserID: in.UserID, Name: in.Name, Phone: in.Phone, ZZDAccountID: in.ZZDAccountID,
		DingTalkWebhook: in.DingTalkWebhook, DingTalkSecret: in.DingTalkSecret, Channels: in.Channels, MinLevel: in.MinLevel, Enabled: enabled})
	if err != nil {
		return err
	}
	return c.JSON(status, x)
}

func (r *alertAPI) createReceiver(c echo.Context) error {
	return r.saveReceiver(c, "", http.StatusCreated)
}

func (r *alertAPI) updateReceiver(c echo.Context) error {
	return r.saveReceiver(c, c.Param("id"), http.StatusOK)
}

func (r *alertAPI) deleteReceiver(c echo.Context) error {
	if err := r.svc.DeleteReceiver(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (r *alertAPI) setToken(c echo.Context) error {
	var in alert.PushToken
	if err := r.bind(c, &in); err != nil {
		return err
	}
	if err := r.svc.SetPushToken(c.Request().Context(), actor(c), in); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (r *alertAPI) deleteToken(c echo.Context) error {
	if err := r.svc.DeletePushToken(c.Request().Context(), actor(c), c.Param("device_id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (r *alertAPI) statsQuery(c echo.Context) (alert.StatsQuery, error) {
	from, to, err := statsDays(c, time.Time{}, time.Time{})
	return alert.StatsQuery{GroupBy: c.QueryParam("group_by"), Period: c.QueryParam("period"), From: from, To: to}, err
}

func (r *alertAPI) stats(c echo.Context) error {
	q, err := r.statsQuery(c)
	if err != nil {
		return err
	}
	out, err := r.svc.Stats(c.Request().Context(), actor(c), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (r *alertAPI) exportStats(c echo.Context) error {
	q, err := r.statsQuery(c)
	if err != nil {
		return err
	}
	out, err := r.svc.Stats(c.Request().Context(), actor(c), q)
	if err != nil {
		return err
	}
	spec := alertStatsSheet
	spec.Columns = append([]sheet.Column(nil), spec.Columns...)
	spec.Columns[0].Title = alertGroupNames[out.GroupBy]
	w, err := sheet.NewWriter(spec)
	if err != nil {
		return err
	}
	defer w.Close()
	w.Note("预警按开始时间统计，只含您管辖范围内的预警。" + rangeNote(q.From, q.To))
	for _, row := range append(out.Rows, out.Total) {
		if err := w.Add(row.Label, row.Count, row.Open, row.FalseAlarms, row.Escalated, row.HandledInTime,
			formatRate(row.InTimeRate), row.AcknowledgedInTime); err != nil {
			return err
		}
	}
	r.recordExport(c, "stats.export", "alert_stats", len(out.Rows), false)
	name, ascii := r.exportName("预警统计", "alert-stats")
	return sendWorkbook(c, w, name, ascii)
}

func formatRate(v float64) string {
	return fmt.Sprintf("%.1f%%", v*100)
}
