package api

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/hazard"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// The rectification loop over REST, for systems and scripts that do not speak syncproto. Each
// call is turned into the mutation a phone would push and goes through the sync service's Push:
// the same role and scope checks (hazard.Collection.Authorize, hazard.MayTake), the same
// workflow rules (hazard.StepOf, hazard.Requires), the same change log, pokes, timeline and
// audit rows. Nothing here decides who may do what.

// HazardReport reports a hazard (上报).
type HazardReport struct {
	// ID is optional: with a client-made UUID, a retry after a lost answer reports the same
	// hazard again instead of a second one (like a replayed create from a phone); the server
	// makes one when it is empty.
	ID           string          `json:"id,omitempty"`
	EnterpriseID string          `json:"enterprise_id"`
	Title        string          `json:"title"`
	Description  string          `json:"description,omitempty"`
	Level        string          `json:"level,omitempty"`
	Photos       []string        `json:"photos,omitempty"`
	Location     *HazardLocation `json:"location,omitempty"`
}

// HazardLocation is where a hazard is (WGS84).
type HazardLocation struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// HazardAssign assigns a reported hazard (交办).
type HazardAssign struct {
	Deadline    string `json:"deadline"`
	RectifierID string `json:"rectifier_id"`
	Note        string `json:"note,omitempty"`
}

// HazardSubmit submits a rectification for acceptance (提交验收) with after-photos.
type HazardSubmit struct {
	Photos []string `json:"photos"`
	Note   string   `json:"note,omitempty"`
}

// HazardNote is the optional remark of a step (开始整改, 验收通过, 退回整改).
type HazardNote struct {
	Note string `json:"note,omitempty"`
}

// restDevice is the device id REST steps carry on the timeline and in the audit log.
const restDevice = "rest-api"

// hazardWriteRoutes registers the REST writes of the rectification loop.
func (s *Server) hazardWriteRoutes() {
	if s.Sync == nil {
		return
	}
	const rules = "与手机同步提交同一规则：角色、管辖范围、状态流转与必填项不符时拒绝（403 sync.forbidden、409 sync.bad_transition、400 sync.missing_field 等），成功与拒绝均记入审计日志和隐患时间线。"
	s.route(Op{Method: http.MethodPost, Path: "/hazards", Tag: "hazards", Status: http.StatusCreated,
		Summary: "上报隐患（网格员、企业安全员、企业负责人、管理员、值班员）。" + rules, Body: HazardReport{}, Resp: hazard.Hazard{}}, s.reportHazard)
	s.route(Op{Method: http.MethodPost, Path: "/hazards/:id/assign", Tag: "hazards",
		Summary: "交办隐患：reported → assigned，须给出整改期限与整改责任人（乡镇、区县、市级管理员或本企业负责人）。" + rules,
		Body:    HazardAssign{}, Resp: hazard.Hazard{}}, s.hazardStep(hazard.StepAssign))
	s.route(Op{Method: http.MethodPost, Path: "/hazards/:id/rectify", Tag: "hazards",
		Summary: "开始整改：reported/assigned → rectifying（本企业安全员、负责人或管理员）。" + rules,
		Body:    HazardNote{}, Resp: hazard.Hazard{}}, s.hazardStep(hazard.StepRectify))
	s.route(Op{Method: http.MethodPost, Path: "/hazards/:id/submit", Tag: "hazards",
		Summary: "提交验收：rectifying → submitted，须附整改后照片（本企业安全员或负责人）。" + rules,
		Body:    HazardSubmit{}, Resp: hazard.Hazard{}}, s.hazardStep(hazard.StepSubmit))
	s.route(Op{Method: http.MethodPost, Path: "/hazards/:id/accept", Tag: "hazards",
		Summary: "验收通过：submitted → accepted（乡镇、区县、市级管理员；重大隐患须区县或市级）。" + rules,
		Body:    HazardNote{}, Resp: hazard.Hazard{}}, s.hazardStep(hazard.StepAccept))
	s.route(Op{Method: http.MethodPost, Path: "/hazards/:id/send-back", Tag: "hazards",
		Summary: "退回整改：submitted → rectifying（乡镇、区县、市级管理员），note 写明退回原因。" + rules,
		Body:    HazardNote{}, Resp: hazard.Hazard{}}, s.hazardStep(hazard.StepSendBack))
}

func (s *Server) reportHazard(c echo.Context) error {
	var req HazardReport
	if err := s.bind(c, &req); err != nil {
		return err
	}
	if req.ID == "" {
		req.ID = yingji.NewID()
	}
	f := map[string]any{"enterprise_id": req.EnterpriseID, "title": req.Title, "description": req.Description}
	if req.Level != "" {
		f["level"] = req.Level
	}
	if req.Photos != nil {
		f["photos"] = req.Photos
	}
	if req.Location != nil {
		f["location"] = req.Location
	}
	m := syncproto.Mutation{Collection: "hazards", ID: req.ID, Op: syncproto.OpCreate, Fields: rawFields(f)}
	if err := s.pushOne(c, m); err != nil {
		return err
	}
	h, err := hazard.Get(c.Request().Context(), s.DB, actor(c), req.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, h)
}

// stepTargets are the status each step moves a hazard to.
var stepTargets = map[string]string{hazard.StepAssign: "assigned", hazard.StepRectify: "rectifying",
	hazard.StepSubmit: "submitted", hazard.StepAccept: "accepted", hazard.StepSendBack: "rectifying"}

// stepActionKinds are the hazard_actions kinds that record a step's note.
var stepActionKinds = map[string]string{hazard.StepAssign: "assign", hazard.StepRectify: "rectify",
	hazard.StepSubmit: "submit", hazard.StepAccept: "accept", hazard.StepSendBack: "reject"}

// hazardStep takes one step of the loop on the hazard of the path.
func (s *Server) hazardStep(step string) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		a := actor(c)
		var (
			note   string
			fields = map[string]any{"status": stepTargets[step]}
			base   map[string]json.RawMessage
		)
		h, err := hazard.Get(ctx, s.DB, a, c.Param("id"))
		if err != nil {
			return err
		}
		switch step {
		case hazard.StepAssign:
			var req HazardAssign
			if err := s.bind(c, &req); err != nil {
				return err
			}
			// What is not given is not sent: hazard.Requires names what the step lacks.
			if req.Deadline != "" {
				fields["deadline"] = req.Deadline
			}
			if req.RectifierID != "" {
				fields["rectifier_id"] = req.RectifierID
			}
			note = req.Note
		case hazard.StepSubmit:
			var req HazardSubmit
			if err := s.bind(c, &req); err != nil {
				return err
			}
			// photos is a set field: send the union with what the hazard holds, and what it held.
			photos := slices.Clone(h.Photos)
			for _, p := range req.Photos {
				if !slices.Contains(photos, p) {
					photos = append(photos, p)
				}
			}
			if len(req.Photos) > 0 {
				fields["photos"] = photos
				base = rawFields(map[string]any{"photos": h.Photos})
			}
			note = req.Note
		default:
			var req HazardNote
			if c.Request().ContentLength != 0 {
				if err := s.bind(c, &req); err != nil {
					return err
				}
			}
			note = req.Note
		}
		// The step this status change is, by the workflow's own rule: refusing here a change the
		// merge would drop (an older status) or read as another step (rectify on a submitted
		// hazard is a send-back).
		if hazard.StepOf(h.Status, stepTargets[step]) != step {
			e := yingji.Errorf(yingji.ECONFLICT, syncproto.CodeBadTransition, "隐患当前状态为“%s”，不能%s",
				hazardStatusNames[h.Status], hazard.StepName(step))
			return e.WithData(map[string]any{"status": h.Status, "step": step})
		}
		m := syncproto.Mutation{Collection: "hazards", ID: h.ID, Op: syncproto.OpUpdate, Fields: rawFields(fields), Base: base}
		if err := s.pushOne(c, m); err != nil {
			return err
		}
		if note != "" {
			act := map[string]any{"hazard_id": h.ID, "kind": stepActionKinds[step], "text": note}
			if id, ok := fields["rectifier_id"].(string); ok {
				act["assignee"] = id
			}
			if err := s.pushOne(c, syncproto.Mutation{Collection: "hazard_actions", ID: yingji.NewID(), Op: syncproto.OpCreate, Fields: rawFields(act)}); err != nil {
				return err
			}
		}
		h, err = hazard.Get(ctx, s.DB, a, h.ID)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, h)
	}
}

var hazardStatusNames = map[string]string{"reported": "已上报", "assigned": "已交办", "rectifying": "整改中",
	"submitted": "待验收", "accepted": "已验收"}

// pushOne pushes one mutation as the caller and turns a rejection into the coded error of the
// same code and message.
func (s *Server) pushOne(c echo.Context, m syncproto.Mutation) error {
	m.MutationID = yingji.NewID()
	m.HLC = s.Sync.Clock.Now().String()
	resp, err := s.Sync.Push(c.Request().Context(), actor(c), syncproto.PushRequest{
		Protocol: syncproto.Protocol, DeviceID: restDevice, Mutations: []syncproto.Mutation{m}})
	if err != nil {
		return err
	}
	if len(resp.Results) != 1 {
		return yingji.Errorf(yingji.EINTERNAL, "sync.no_answer", "push answered %d results", len(resp.Results))
	}
	r := resp.Results[0]
	if r.Status != syncproto.StatusRejected {
		return nil
	}
	kind := yingji.EINVALID
	switch r.Code {
	case syncproto.CodeForbidden, syncproto.CodeServerOwned:
		kind = yingji.EFORBIDDEN
	case syncproto.CodeBadTransition, syncproto.CodeExists, syncproto.CodeDeleted:
		kind = yingji.ECONFLICT
	case syncproto.CodeNotFound:
		kind = yingji.ENOTFOUND
	}
	return yingji.Errorf(kind, r.Code, "%s", r.Message)
}

func rawFields(f map[string]any) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(f))
	for k, v := range f {
		b, _ := json.Marshal(v)
		out[k] = b
	}
	return out
}
