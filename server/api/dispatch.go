package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/dispatch"
	"github.com/yingji/yingji/server/route"
	"github.com/yingji/yingji/server/yingji"
)

// Dispatch (救援资源调度): nearby resources with travel times, dispatch orders and resource
// requests of incidents, route planning, and one-click contact (一键短信/浙政钉/传真).

// DispatchOrderPage is a page of dispatch orders.
type DispatchOrderPage = yingji.Page[dispatch.Order]

type dispatchAPI struct {
	*Server
	svc      *dispatch.Service
	contacts *dispatch.Contacts
	router   route.Router
}

var orderExample = map[string]any{"kind": "supply", "resource_id": "0193a2c4-0000-7000-8000-000000000001", "quantity": 50,
	"to_address": "临港化工园区纬一路 8 号", "note": "送至东门集结点"}

// MountDispatch adds the dispatch, route and contact routes.
func (s *Server) MountDispatch(svc *dispatch.Service, contacts *dispatch.Contacts, router route.Router) {
	d := &dispatchAPI{Server: s, svc: svc, contacts: contacts, router: router}
	const tag = "dispatch"
	s.route(Op{Method: http.MethodGet, Path: "/incidents/:id/nearby", Tag: tag, Resp: dispatch.Nearby{},
		Query: []Param{{"kinds", "string", "资源种类，逗号分隔（team、supply、depot、expert、shelter、medical、police、fire）；不填为这八种"},
			{"n", "integer", "每种返回条数，1–50，默认 5"}, {"routed", "integer", "每种前几个规划路径并给出行程时间，0–n，默认 3"}},
		Summary: "事件周边资源：每种资源最近的 N 个（大圆距离），前几个附从资源到事发地的路径与行程时间；物资附可调拨数量"}, d.nearby)
	s.route(Op{Method: http.MethodGet, Path: "/incidents/:id/dispatch-orders", Tag: tag, Resp: DispatchOrderPage{},
		Query:   append([]Param{{"kind", "string", "team 或 supply"}, {"status", "string", "ordered、departed、arrived、returned、cancelled"}}, Paging...),
		Summary: "事件的调度指令（新的在前）"}, d.incidentOrders)
	s.route(Op{Method: http.MethodPost, Path: "/incidents/:id/dispatch-orders", Tag: tag, Body: dispatch.OrderInput{}, Example: orderExample,
		Resp: dispatch.Order{}, Status: http.StatusCreated,
		Summary: "下达调度指令：调派救援队伍（队员加入事件，手机收到事件）或调拨物资（从储备库预留库存，不足时 409 dispatch.stock_short）；规划从资源到目的地的路径"}, d.createOrder)
	s.route(Op{Method: http.MethodGet, Path: "/dispatch-orders", Tag: tag, Resp: DispatchOrderPage{},
		Query: append([]Param{{"incident_id", "string", "事件"}, {"kind", "string", "team 或 supply"},
			{"status", "string", "ordered、departed、arrived、returned、cancelled"}, {"open", "boolean", "只列未结束的（已下达、已出发、已到达）"}}, Paging...),
		Summary: "调度指令列表（管辖范围内的事件；救援队员为所参与的事件）"}, d.orders)
	s.route(Op{Method: http.MethodGet, Path: "/dispatch-orders/:id", Tag: tag, Resp: dispatch.Order{}, Summary: "调度指令详情"}, d.order)
	s.route(Op{Method: http.MethodPost, Path: "/dispatch-orders/:id/status", Tag: tag, Body: dispatch.StatusInput{}, Resp: dispatch.Order{},
		Example: map[string]any{"status": "cancelled", "reason": "险情已控制"},
		Summary: "更新调度状态：已下达 → 已出发 → 已到达 → 已返回，到达前可取消（须填原因）；取消或返回时释放物资库存，取消队伍时队员退出事件"}, d.setStatus)
	s.route(Op{Method: http.MethodGet, Path: "/incidents/:id/resource-requests", Tag: tag, Resp: []dispatch.Request{},
		Query: []Param{{"status", "string", "open、accepted、fulfilled、rejected、cancelled"}}, Summary: "事件现场的资源需求（新的在前）"}, d.requests)
	s.route(Op{Method: http.MethodPost, Path: "/incidents/:id/resource-requests", Tag: tag, Body: dispatch.RequestInput{}, Resp: dispatch.Request{},
		Status: http.StatusCreated, Example: map[string]any{"kind": "supply", "item": "沙袋", "quantity": 500, "unit": "条", "urgency": "urgent"},
		Summary: "登记现场资源需求（现场人员也可在手机上离线提出）"}, d.createRequest)
	s.route(Op{Method: http.MethodPost, Path: "/resource-requests/:id/handle", Tag: tag, Body: dispatch.HandleInput{}, Resp: dispatch.Request{},
		Example: map[string]any{"status": "accepted", "reply": "已调拨，预计 30 分钟到达"},
		Summary: "受理（accepted）、驳回（rejected）或标记已满足（fulfilled）资源需求"}, d.handleRequest)
	s.route(Op{Method: http.MethodGet, Path: "/route", Tag: tag, Resp: route.Route{},
		Query:   []Param{{"from", "string", "起点“纬度,经度”，必填"}, {"to", "string", "终点“纬度,经度”，必填"}},
		Summary: "路径规划：OSRM 服务（如已配置）、城市路网，均未在时限内应答时按直线估算（estimate 为 true）"}, d.route)
	s.route(Op{Method: http.MethodPost, Path: "/contact/:channel", Tag: tag, Body: dispatch.ContactInput{}, Resp: dispatch.ContactMessage{},
		Status: http.StatusCreated, Example: map[string]any{"target_kind": "resource", "target_id": "0193a2c4-0000-7000-8000-000000000001",
			"incident_id": "0193a2c4-0000-7000-8000-0000000000aa", "text": "请立即带队前往临港化工园区纬一路 8 号集结。"},
		Summary: "一键发送：channel 为 sms（短信，经短信网关，留发送记录）、zzd（浙政钉工作通知）或 fax（传真网关）；渠道拒绝时记录为 failed 并返回错误码"}, d.contact)
	s.route(Op{Method: http.MethodGet, Path: "/contact/messages", Tag: tag, Resp: []dispatch.ContactMessage{},
		Query: []Param{{"incident_id", "string", "事件"}, {"limit", "integer", "条数，默认 100，最大 500"}}, Summary: "一键发送记录（新的在前）"}, d.messages)
}

func (d *dispatchAPI) nearby(c echo.Context) error {
	n, err := intQuery(c, "n")
	if err != nil {
		return err
	}
	routed := 3
	if c.QueryParam("routed") != "" {
		if routed, err = intQuery(c, "routed"); err != nil {
			return err
		}
	}
	out, err := d.svc.Nearby(c.Request().Context(), actor(c), c.Param("id"), kindsQuery(c), n, routed)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (d *dispatchAPI) listOrders(c echo.Context, f dispatch.OrderFilter) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	f.Kind, f.Status = c.QueryParam("kind"), c.QueryParam("status")
	f.Open = c.QueryParam("open") == "true"
	page, err := d.svc.ListOrders(c.Request().Context(), actor(c), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (d *dispatchAPI) incidentOrders(c echo.Context) error {
	return d.listOrders(c, dispatch.OrderFilter{IncidentID: c.Param("id")})
}

func (d *dispatchAPI) orders(c echo.Context) error {
	return d.listOrders(c, dispatch.OrderFilter{IncidentID: c.QueryParam("incident_id")})
}

func (d *dispatchAPI) order(c echo.Context) error {
	o, err := d.svc.GetOrder(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

func (d *dispatchAPI) createOrder(c echo.Context) error {
	var in dispatch.OrderInput
	if err := d.bind(c, &in); err != nil {
		return err
	}
	o, err := d.svc.CreateOrder(c.Request().Context(), actor(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, o)
}

func (d *dispatchAPI) setStatus(c echo.Context) error {
	var in dispatch.StatusInput
	if err := d.bind(c, &in); err != nil {
		return err
	}
	o, err := d.svc.SetStatus(c.Request().Context(), actor(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

func (d *dispatchAPI) requests(c echo.Context) error {
	out, err := d.svc.ListRequests(c.Request().Context(), actor(c), c.Param("id"), c.QueryParam("status"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (d *dispatchAPI) createRequest(c echo.Context) error {
	var in dispatch.RequestInput
	if err := d.bind(c, &in); err != nil {
		return err
	}
	r, err := d.svc.CreateRequest(c.Request().Context(), actor(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

func (d *dispatchAPI) handleRequest(c echo.Context) error {
	var in dispatch.HandleInput
	if err := d.bind(c, &in); err != nil {
		return err
	}
	r, err := d.svc.HandleRequest(c.Request().Context(), actor(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func latLngQuery(c echo.Context, name string) (route.LatLng, error) {
	parts := strings.Split(c.QueryParam(name), ",")
	if len(parts) != 2 {
		return route.LatLng{}, yingji.Invalid("request.bad_query", name, "查询参数 %s 应为“纬度,经度”", name)
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
	lng, err2 := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
	p := route.LatLng{Lat: lat, Lng: lng}
	if err1 != nil || err2 != nil || !p.Valid() {
		return route.LatLng{}, yingji.Invalid("request.bad_query", name, "查询参数 %s 应为“纬度,经度”", name)
	}
	return p, nil
}

func (d *dispatchAPI) route(c echo.Context) error {
	if err := actor(c).Require(yingji.PermDispatchRead); err != nil {
		return err
	}
	from, err := latLngQuery(c, "from")
	if err != nil {
		return err
	}
	to, err := latLngQuery(c, "to")
	if err != nil {
		return err
	}
	r, err := d.router.Route(c.Request().Context(), from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (d *dispatchAPI) contact(c echo.Context) error {
	var in dispatch.ContactInput
	if err := d.bind(c, &in); err != nil {
		return err
	}
	m, err := d.contacts.Send(c.Request().Context(), actor(c), c.Param("channel"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m)
}

func (d *dispatchAPI) messages(c echo.Context) error {
	limit, err := intQuery(c, "limit")
	if err != nil {
		return err
	}
	out, err := d.contacts.List(c.Request().Context(), actor(c), c.QueryParam("incident_id"), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
