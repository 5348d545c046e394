package api

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/assess"
	"github.com/yingji/yingji/server/plan/plandoc"
	"github.com/yingji/yingji/server/yingji"
)

// Assessment reports (应急评估), 恢复重建.

// AssessmentPage is a page of assessment reports.
type AssessmentPage = yingji.Page[assess.Assessment]

// MountAssessments registers the assessment routes.
func (s *Server) MountAssessments(svc *assess.Service) {
	const tag = "assessments"
	s.route(Op{Method: http.MethodGet, Path: "/assessments", Tag: tag, Resp: AssessmentPage{},
		Query:   append([]Param{{"incident_id", "string", "突发事件"}, {"status", "string", "draft 草稿、final 定稿"}}, Paging...),
		Summary: "评估报告列表（管辖范围内，最新的在前）"}, func(c echo.Context) error {
		p, err := listParams(c)
		if err != nil {
			return err
		}
		page, err := svc.List(c.Request().Context(), actor(c), assess.Filter{IncidentID: c.QueryParam("incident_id"), Status: c.QueryParam("status")}, p)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, page)
	})
	s.route(Op{Method: http.MethodPost, Path: "/incidents/:id/assessments", Tag: tag, Status: http.StatusCreated, Resp: assess.Assessment{},
		Summary: "为突发事件新建评估报告草稿：按时间线统计接报至响应、到场、终止的时间，任务完成与按期情况，伤亡与损失，预填四个部分（本级及上级管理员、值班员）"},
		func(c echo.Context) error {
			x, err := svc.Create(c.Request().Context(), actor(c), c.Param("id"))
			if err != nil {
				return err
			}
			return c.JSON(http.StatusCreated, x)
		})
	s.route(Op{Method: http.MethodGet, Path: "/assessments/:id", Tag: tag, Resp: assess.Assessment{}, Summary: "评估报告详情"},
		func(c echo.Context) error {
			x, err := svc.Get(c.Request().Context(), actor(c), c.Param("id"))
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, x)
		})
	s.route(Op{Method: http.MethodPatch, Path: "/assessments/:id", Tag: tag, Body: assess.AssessmentPatch{}, Resp: assess.Assessment{},
		Summary: "修改评估报告草稿（定稿后不能修改）"}, func(c echo.Context) error {
		var p assess.AssessmentPatch
		if err := s.bind(c, &p); err != nil {
			return err
		}
		x, err := svc.Update(c.Request().Context(), actor(c), c.Param("id"), p)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, x)
	})
	s.route(Op{Method: http.MethodPost, Path: "/assessments/:id/finalize", Tag: tag, Resp: assess.Assessment{},
		Summary: "评估报告定稿（须已填写事件原因），记入审计日志"}, func(c echo.Context) error {
		x, err := svc.Finalize(c.Request().Context(), actor(c), c.Param("id"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, x)
	})
	s.route(Op{Method: http.MethodGet, Path: "/assessments/:id/export.docx", Tag: tag, Produces: plandoc.DocxContentType,
		Summary: "导出评估报告 Word 文档"}, s.exportAssessment(svc, "docx"))
	s.route(Op{Method: http.MethodGet, Path: "/assessments/:id/export.pdf", Tag: tag, Produces: "application/pdf",
		Summary: "导出评估报告 PDF（服务器须有中文字体，否则 409 assessment.no_cjk_font）"}, s.exportAssessment(svc, "pdf"))
}

func (s *Server) exportAssessment(svc *assess.Service, format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		x, b, err := svc.Export(c.Request().Context(), actor(c), c.Param("id"), format)
		if err != nil {
			return err
		}
		ct := plandoc.DocxContentType
		if format == "pdf" {
			ct = "application/pdf"
		}
		c.Response().Header().Set(echo.HeaderContentDisposition, attachmentDisposition(fmt.Sprintf("%s.%s", x.Title, format),
			fmt.Sprintf("assessment-%s.%s", x.ID[:8], format)))
		return c.Blob(http.StatusOK, ct, b)
	}
}
