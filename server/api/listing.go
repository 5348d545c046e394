package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/sheet"
	"github.com/yingji/yingji/server/yingji"
)

// listPage answers a paged list: the page parameters and the filter (filter) from the query,
// then the page that list returns, as JSON.
func listPage[F, T any](c echo.Context, filter func(echo.Context) (F, error),
	list func(context.Context, *yingji.Actor, F, yingji.ListParams) (yingji.Page[T], error)) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	f, err := filter(c)
	if err != nil {
		return err
	}
	page, err := list(c.Request().Context(), actor(c), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// exportPages adds a row (row) for each item of every page that list returns, at most
// maxExportRows in all; when it stops there it adds a note saying so and reports truncated.
func exportPages[T any](w *sheet.Writer, list func(yingji.ListParams) (yingji.Page[T], error), row func(T) error) (truncated bool, err error) {
	for p := (yingji.ListParams{Page: 1, PageSize: yingji.MaxPageSize}); ; p.Page++ {
		page, err := list(p)
		if err != nil {
			return false, err
		}
		for _, it := range page.Items {
			if w.Rows() >= maxExportRows {
				truncated = true
				break
			}
			if err := row(it); err != nil {
				return false, err
			}
		}
		if truncated || len(page.Items) < p.PageSize || p.Page*p.PageSize >= page.Total {
			break
		}
	}
	if truncated {
		w.Note(fmt.Sprintf("超过单次导出上限 %d 条，只导出了前 %d 条；请缩小筛选范围后分批导出。", maxExportRows, maxExportRows))
	}
	return truncated, nil
}
