package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/yingji"
)

// Lists of the org domain.
type (
	UnitPage       = yingji.Page[org.Unit]
	EnterprisePage = yingji.Page[org.Enterprise]
	ContactPage    = yingji.Page[org.Contact]
	TeamPage       = yingji.Page[org.Team]
)

// UnitInput creates an org unit.
type UnitInput struct {
	ParentID string    `json:"parent_id"`
	Level    org.Level `json:"level"`
	Code     string    `json:"code"`
	Name     string    `json:"name"`
	Sort     int       `json:"sort"`
}

// UnitPatch changes an org unit; absent fields stay unchanged. Units do not move.
type UnitPatch struct {
	Code *string `json:"code"`
	Name *string `json:"name"`
	Sort *int    `json:"sort"`
}

// EnterpriseInput creates an enterprise.
type EnterpriseInput struct {
	Name               string   `json:"name"`
	CreditCode         string   `json:"credit_code"`
	Industry           string   `json:"industry"`
	TownshipID         string   `json:"township_id"`
	GridID             string   `json:"grid_id"`
	Address            string   `json:"address"`
	Lat                *float64 `json:"lat"`
	Lng                *float64 `json:"lng"`
	HazardousChemicals bool     `json:"hazardous_chemicals"`
	MajorHazard        bool     `json:"major_hazard"`
	LegalPerson        string   `json:"legal_person"`
	Phone              string   `json:"phone"`
}

// EnterprisePatch changes an enterprise; absent (or null) fields stay unchanged. An empty
// grid_id takes the enterprise out of its grid.
type EnterprisePatch struct {
	Name               *string  `json:"name"`
	CreditCode         *string  `json:"credit_code"`
	Industry           *string  `json:"industry"`
	TownshipID         *string  `json:"township_id"`
	GridID             *string  `json:"grid_id"`
	Address            *string  `json:"address"`
	Lat                *float64 `json:"lat"`
	Lng                *float64 `json:"lng"`
	HazardousChemicals *bool    `json:"hazardous_chemicals"`
	MajorHazard        *bool    `json:"major_hazard"`
	LegalPerson        *string  `json:"legal_person"`
	Phone              *string  `json:"phone"`
}

// ContactInput creates a contact of the enterprise in the path.
type ContactInput struct {
	Name      string `json:"name"`
	Title     string `json:"title"`
	Phone     string `json:"phone"`
	IsPrimary bool   `json:"is_primary"`
}

// ContactPatch changes a contact; absent fields stay unchanged.
type ContactPatch struct {
	Name      *string `json:"name"`
	Title     *string `json:"title"`
	Phone     *string `json:"phone"`
	IsPrimary *bool   `json:"is_primary"`
}

// TeamInput creates a rescue team.
type TeamInput struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	OrgUnitID string `json:"org_unit_id"`
}

var enterpriseQuery = []Param{
	{"q", "string", "企业名称或统一社会信用代码包含"}, {"township_id", "string", "所属乡镇（街道）"},
	{"grid_id", "string", "所属网格"}, {"industry", "string", "行业"},
	{"hazardous_chemicals", "boolean", "是否涉及危险化学品"}, {"major_hazard", "boolean", "是否构成重大危险源"},
	{"page", "integer", "页码，从 1 开始"}, {"page_size", "integer", "每页条数，默认 20，最大 500"},
	{"sort", "string", "排序字段：name、credit_code、industry、created_at、updated_at，前缀 - 表示倒序，默认 name"},
}

// orgRoutes registers org units, teams, enterprises and contacts (written with the org domain).
func (s *Server) orgRoutes() {
	s.route(Op{Method: http.MethodGet, Path: "/org-units", Tag: "org", Summary: "组织单位列表（本级及下级、上级单位）",
		Query: []Param{{"parent_id", "string", "上级单位"}, {"level", "string", "层级：city、district、township、grid"},
			{"code", "string", "代码（精确）"}, {"q", "string", "名称包含"}, {"subtree", "string", "单位 ID：只列该单位及其下级"}},
		Resp: UnitPage{}}, s.listUnits)
	s.route(Op{Method: http.MethodGet, Path: "/org-units/:id", Tag: "org", Summary: "组织单位详情", Resp: org.Unit{}}, s.getUnit)
	s.route(Op{Method: http.MethodPost, Path: "/org-units", Tag: "org", Summary: "新建组织单位",
		Body: UnitInput{}, Resp: org.Unit{}, Status: http.StatusCreated}, s.createUnit)
	s.route(Op{Method: http.MethodPatch, Path: "/org-units/:id", Tag: "org", Summary: "修改组织单位（代码、名称、排序）",
		Body: UnitPatch{}, Resp: org.Unit{}}, s.updateUnit)
	s.route(Op{Method: http.MethodDelete, Path: "/org-units/:id", Tag: "org", Summary: "删除组织单位（须无下级、企业、队伍和用户）",
		Status: http.StatusNoContent}, s.deleteUnit)

	s.route(Op{Method: http.MethodGet, Path: "/enterprises", Tag: "enterprises", Summary: "企业列表（管辖范围内）",
		Query: enterpriseQuery, Resp: EnterprisePage{}}, s.listEnterprises)
	s.route(Op{Method: http.MethodGet, Path: "/enterprises/:id", Tag: "enterprises", Summary: "企业详情（含联系人）",
		Resp: org.Enterprise{}}, s.getEnterprise)
	s.route(Op{Method: http.MethodPost, Path: "/enterprises", Tag: "enterprises", Summary: "新建企业",
		Body: EnterpriseInput{}, Resp: org.Enterprise{}, Status: http.StatusCreated}, s.createEnterprise)
	s.route(Op{Method: http.MethodPatch, Path: "/enterprises/:id", Tag: "enterprises", Summary: "修改企业",
		Body: EnterprisePatch{}, Resp: org.Enterprise{}}, s.updateEnterprise)
	s.route(Op{Method: http.MethodDelete, Path: "/enterprises/:id", Tag: "enterprises", Summary: "删除企业及其联系人",
		Status: http.StatusNoContent}, s.deleteEnterprise)

	s.route(Op{Method: http.MethodGet, Path: "/enterprises/:id/contacts", Tag: "enterprises", Summary: "企业联系人列表",
		Resp: ContactPage{}}, s.listContacts)
	s.route(Op{Method: http.MethodPost, Path: "/enterprises/:id/contacts", Tag: "enterprises", Summary: "新增企业联系人",
		Body: ContactInput{}, Resp: org.Contact{}, Status: http.StatusCreated}, s.createContact)
	s.route(Op{Method: http.MethodPatch, Path: "/contacts/:id", Tag: "enterprises", Summary: "修改企业联系人",
		Body: ContactPatch{}, Resp: org.Contact{}}, s.updateContact)
	s.route(Op{Method: http.MethodDelete, Path: "/contacts/:id", Tag: "enterprises", Summary: "删除企业联系人",
		Status: http.StatusNoContent}, s.deleteContact)

	s.route(Op{Method: http.MethodGet, Path: "/teams", Tag: "org", Summary: "救援队伍列表",
		Query: []Param{{"org_unit_id", "string", "所属单位"}, {"q", "string", "名称包含"}}, Resp: TeamPage{}}, s.listTeams)
	s.route(Op{Method: http.MethodGet, Path: "/teams/:id", Tag: "org", Summary: "救援队伍详情", Resp: org.Team{}}, s.getTeam)
	s.route(Op{Method: http.MethodPost, Path: "/teams", Tag: "org", Summary: "新建救援队伍",
		Body: TeamInput{}, Resp: org.Team{}, Status: http.StatusCreated}, s.createTeam)
}

// patchField copies *p into *dst when p is given.
func patchField[T any](dst *T, p *T) {
	if p != nil {
		*dst = *p
	}
}

// ---- units ----

func (s *Server) listUnits(c echo.Context) error {
	f := org.UnitFilter{ParentID: c.QueryParam("parent_id"), Level: org.Level(c.QueryParam("level")),
		Code: c.QueryParam("code"), Q: c.QueryParam("q")}
	if f.Level != "" && !f.Level.Valid() {
		return yingji.Invalid("request.bad_query", "level", "查询参数 level 应为 city、district、township 或 grid")
	}
	ctx, a := c.Request().Context(), actor(c)
	if id := c.QueryParam("subtree"); id != "" {
		root, err := s.Org.GetUnit(ctx, a, id)
		if err != nil {
			return err
		}
		f.Subtree = root.Path
	}
	units, err := s.Org.ListUnits(ctx, a, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, UnitPage{Items: units, Total: len(units)})
}

func (s *Server) getUnit(c echo.Context) error {
	u, err := s.Org.GetUnit(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

func (s *Server) createUnit(c echo.Context) error {
	var in UnitInput
	if err := s.bind(c, &in); err != nil {
		return err
	}
	u, err := s.Org.CreateUnit(c.Request().Context(), actor(c),
		org.Unit{ParentID: in.ParentID, Level: in.Level, Code: in.Code, Name: in.Name, Sort: in.Sort})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, u)
}

func (s *Server) updateUnit(c echo.Context) error {
	var p UnitPatch
	if err := s.bind(c, &p); err != nil {
		return err
	}
	ctx := c.Request().Context()
	// UpdateUnit replaces code, name and sort: start from the current values. The service
	// checks the actor (and audits a refusal as an update).
	cur, err := s.Org.GetUnitSystem(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	in := org.Unit{Code: cur.Code, Name: cur.Name, Sort: cur.Sort}
	patchField(&in.Code, p.Code)
	patchField(&in.Name, p.Name)
	patchField(&in.Sort, p.Sort)
	u, err := s.Org.UpdateUnit(ctx, actor(c), cur.ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

func (s *Server) deleteUnit(c echo.Context) error {
	if err := s.Org.DeleteUnit(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// ---- enterprises ----

func (s *Server) listEnterprises(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	f := org.EnterpriseFilter{Q: c.QueryParam("q"), TownshipID: c.QueryParam("township_id"),
		GridID: c.QueryParam("grid_id"), Industry: c.QueryParam("industry")}
	if f.HazardousChemicals, err = boolQuery(c, "hazardous_chemicals"); err != nil {
		return err
	}
	if f.MajorHazard, err = boolQuery(c, "major_hazard"); err != nil {
		return err
	}
	page, err := s.Org.ListEnterprises(c.Request().Context(), actor(c), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) getEnterprise(c echo.Context) error {
	e, err := s.Org.GetEnterprise(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (s *Server) createEnterprise(c echo.Context) error {
	var in EnterpriseInput
	if err := s.bind(c, &in); err != nil {
		return err
	}
	e, err := s.Org.CreateEnterprise(c.Request().Context(), actor(c), org.Enterprise{
		Name: in.Name, CreditCode: in.CreditCode, Industry: in.Industry, TownshipID: in.TownshipID, GridID: in.GridID,
		Address: in.Address, Lat: in.Lat, Lng: in.Lng, HazardousChemicals: in.HazardousChemicals,
		MajorHazard: in.MajorHazard, LegalPerson: in.LegalPerson, Phone: in.Phone})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, e)
}

func (s *Server) updateEnterprise(c echo.Context) error {
	var p EnterprisePatch
	if err := s.bind(c, &p); err != nil {
		return err
	}
	ctx := c.Request().Context()
	// UpdateEnterprise replaces every field: start from the current record. The service
	// checks the actor against both the old and the new place and audits a refusal.
	e, err := s.Org.GetEnterpriseSystem(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	moved := p.TownshipID != nil && *p.TownshipID != e.TownshipID
	patchField(&e.Name, p.Name)
	patchField(&e.CreditCode, p.CreditCode)
	patchField(&e.Industry, p.Industry)
	patchField(&e.TownshipID, p.TownshipID)
	patchField(&e.GridID, p.GridID)
	patchField(&e.Address, p.Address)
	if p.Lat != nil {
		e.Lat = p.Lat
	}
	if p.Lng != nil {
		e.Lng = p.Lng
	}
	patchField(&e.HazardousChemicals, p.HazardousChemicals)
	patchField(&e.MajorHazard, p.MajorHazard)
	patchField(&e.LegalPerson, p.LegalPerson)
	patchField(&e.Phone, p.Phone)
	if moved && p.GridID == nil {
		e.GridID = "" // the old grid belongs to the old township
	}
	out, err := s.Org.UpdateEnterprise(ctx, actor(c), e.ID, e)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) deleteEnterprise(c echo.Context) error {
	if err := s.Org.DeleteEnterprise(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// ---- contacts ----

func (s *Server) listContacts(c echo.Context) error {
	cs, err := s.Org.ListContacts(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ContactPage{Items: cs, Total: len(cs)})
}

func (s *Server) createContact(c echo.Context) error {
	var in ContactInput
	if err := s.bind(c, &in); err != nil {
		return err
	}
	ct, err := s.Org.CreateContact(c.Request().Context(), actor(c), org.Contact{EnterpriseID: c.Param("id"),
		Name: in.Name, Title: in.Title, Phone: in.Phone, IsPrimary: in.IsPrimary})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, ct)
}

func (s *Server) updateContact(c echo.Context) error {
	var p ContactPatch
	if err := s.bind(c, &p); err != nil {
		return err
	}
	ctx := c.Request().Context()
	// UpdateContact replaces name, title, phone and is_primary: start from the current values.
	// The service has no unchecked contact getter; it checks the actor in UpdateContact.
	cur, err := s.Org.Store.GetContact(ctx, c.Param("id"))
	if errors.Is(err, yingji.ErrNotFound) {
		return &yingji.Error{Kind: yingji.ENOTFOUND, Code: "contact.not_found", Message: "联系人不存在", Err: err}
	}
	if err != nil {
		return err
	}
	in := org.Contact{Name: cur.Name, Title: cur.Title, Phone: cur.Phone, IsPrimary: cur.IsPrimary}
	patchField(&in.Name, p.Name)
	patchField(&in.Title, p.Title)
	patchField(&in.Phone, p.Phone)
	patchField(&in.IsPrimary, p.IsPrimary)
	ct, err := s.Org.UpdateContact(ctx, actor(c), cur.ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ct)
}

func (s *Server) deleteContact(c echo.Context) error {
	if err := s.Org.DeleteContact(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// ---- teams ----

func (s *Server) listTeams(c echo.Context) error {
	ts, err := s.Org.ListTeams(c.Request().Context(), actor(c), org.TeamFilter{OrgUnitID: c.QueryParam("org_unit_id"), Q: c.QueryParam("q")})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, TeamPage{Items: ts, Total: len(ts)})
}

func (s *Server) getTeam(c echo.Context) error {
	t, err := s.Org.GetTeam(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (s *Server) createTeam(c echo.Context) error {
	var in TeamInput
	if err := s.bind(c, &in); err != nil {
		return err
	}
	t, err := s.Org.CreateTeam(c.Request().Context(), actor(c), org.Team{Name: in.Name, Kind: in.Kind, OrgUnitID: in.OrgUnitID})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, t)
}
