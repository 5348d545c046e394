package resource

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/yingji"
)

// The interface for outside systems (the provincial 救援物资 system and the like): a package
// of resources keyed by the outside system's own ids. Importing the same package again changes
// nothing; a changed item updates the resource it created; a bad item is answered on its own
// and does not stop the others.

// ExternalItem is one resource in a package. Units are named by code (区划代码; a grid as
// “乡镇代码/网格编号”), enterprises by unified social credit code, and a supply's depot or team
// by its external id in the same source (earlier in the package, or in an earlier package).
type ExternalItem struct {
	ExternalID           string    `json:"external_id"`
	Kind                 Kind      `json:"kind"`
	Name                 string    `json:"name"`
	Code                 string    `json:"code"`
	Category             string    `json:"category"`
	Subtype              string    `json:"subtype"`
	OrgUnitCode          string    `json:"org_unit_code"`
	EnterpriseCreditCode string    `json:"enterprise_credit_code"`
	HolderExternalID     string    `json:"holder_external_id"`
	Status               Status    `json:"status"`
	Quantity             float64   `json:"quantity"`
	Unit                 string    `json:"unit"`
	AccidentTypes        []string  `json:"accident_types"`
	Contact              string    `json:"contact"`
	Phone                string    `json:"phone"`
	Address              string    `json:"address"`
	Location             *Location `json:"location"`
	Details
	Remark string `json:"remark"`
}

// ExternalPackage is what an outside system sends.
type ExternalPackage struct {
	Source string         `json:"source"` // the system's name, e.g. 浙江省应急物资管理系统
	Items  []ExternalItem `json:"items"`
}

// Results of one item.
const (
	ExternalCreated   = "created"
	ExternalUpdated   = "updated"
	ExternalUnchanged = "unchanged"
	ExternalRejected  = "rejected"
)

// ExternalResult answers one item of a package.
type ExternalResult struct {
	Index      int    `json:"index"`
	ExternalID string `json:"external_id"`
	ID         string `json:"id,omitempty"`
	Result     string `json:"result"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
	Field      string `json:"field,omitempty"`
}

// ExternalSummary answers a package.
type ExternalSummary struct {
	Source    string           `json:"source"`
	Created   int              `json:"created"`
	Updated   int              `json:"updated"`
	Unchanged int              `json:"unchanged"`
	Rejected  int              `json:"rejected"`
	Results   []ExternalResult `json:"results"`
}

// MaxExternalItems bounds a package.
const MaxExternalItems = 5000

// ImportExternal lands a package: each item is created, updated or left as it is by
// (source, external_id), or rejected with a stable code and a Chinese message.
func (s *Service) ImportExternal(ctx context.Context, a *yingji.Actor, pkg ExternalPackage) (ExternalSummary, error) {
	const action = "resource.external_import"
	if err := s.require(ctx, a, yingji.PermResourceWrite, action, ""); err != nil {
		return ExternalSummary{}, err
	}
	pkg.Source = strings.TrimSpace(pkg.Source)
	if pkg.Source == "" || tooLong(pkg.Source, 50) {
		return ExternalSummary{}, yingji.Invalid("resource.bad_source", "source", "请填写来源系统名称（source），不超过 50 个字")
	}
	if len(pkg.Items) == 0 || len(pkg.Items) > MaxExternalItems {
		return ExternalSummary{}, yingji.Invalid("resource.bad_package", "items", "一个数据包应有 1 到 %d 条资源", MaxExternalItems)
	}
	sum := ExternalSummary{Source: pkg.Source, Results: make([]ExternalResult, 0, len(pkg.Items))}
	units := map[string]org.Unit{}
	seen := map[string]int{}
	for i, it := range pkg.Items {
		res := ExternalResult{Index: i, ExternalID: strings.TrimSpace(it.ExternalID)}
		if n, dup := seen[res.ExternalID]; dup && res.ExternalID != "" {
			res.Result, res.Code, res.Message, res.Field = ExternalRejected, "resource.duplicate_external_id",
				fmt.Sprintf("外部编号“%s”与第 %d 条重复", res.ExternalID, n+1), "external_id"
		} else {
			seen[res.ExternalID] = i
			id, result, err := s.importItem(ctx, a, pkg.Source, it, units)
			if err != nil {
				var ye *yingji.Error
				if !errors.As(err, &ye) || ye.Kind == yingji.EINTERNAL {
					return ExternalSummary{}, err
				}
				res.Result, res.Code, res.Message = ExternalRejected, ye.Code, ye.Message
				if m, ok := ye.Data.(map[string]any); ok {
					res.Field, _ = m["field"].(string)
				}
			} else {
				res.ID, res.Result = id, result
			}
		}
		switch res.Result {
		case ExternalCreated:
			sum.Created++
		case ExternalUpdated:
			sum.Updated++
		case ExternalUnchanged:
			sum.Unchanged++
		default:
			sum.Rejected++
		}
		sum.Results = append(sum.Results, res)
	}
	s.ok(ctx, a, action, "", map[string]any{"source": pkg.Source, "created": sum.Created, "updated": sum.Updated,
		"unchanged": sum.Unchanged, "rejected": sum.Rejected})
	return sum, nil
}

// unitByCode finds a unit by code; a grid is “乡镇代码/网格编号”.
func (s *Service) unitByCode(ctx context.Context, code string, cache map[string]org.Unit) (org.Unit, error) {
	if u, ok := cache[code]; ok {
		return u, nil
	}
	notFound := yingji.Invalid("resource.org_not_found", "org_unit_code", "代码为“%s”的单位不存在", code)
	f := org.UnitFilter{Code: code}
	if town, grid, ok := strings.Cut(code, "/"); ok {
		t, err := s.unitByCode(ctx, town, cache)
		if err != nil {
			return org.Unit{}, notFound
		}
		f = org.UnitFilter{Code: grid, ParentID: t.ID, Level: org.LevelGrid}
	}
	us, err := s.Store.ListUnits(ctx, f)
	if err != nil {
		return org.Unit{}, err
	}
	for _, u := range us {
		if u.Code == f.Code && (f.Level != "" || u.Level != org.LevelGrid) {
			cache[code] = u
			return u, nil
		}
	}
	return org.Unit{}, notFound
}

func (s *Service) importItem(ctx context.Context, a *yingji.Actor, source string, it ExternalItem, units map[string]org.Unit) (string, string, error) {
	const action = "resource.external_import"
	ext := strings.TrimSpace(it.ExternalID)
	if ext == "" {
		return "", "", yingji.Invalid("resource.bad_external_id", "external_id", "缺少外部编号（external_id）")
	}
	r := Resource{Kind: it.Kind, Name: it.Name, Code: it.Code, Category: it.Category, Subtype: it.Subtype, Status: it.Status,
		Quantity: it.Quantity, Unit: it.Unit, AccidentTypes: it.AccidentTypes, Contact: it.Contact, Phone: it.Phone,
		Address: it.Address, Location: it.Location, Details: it.Details, Source: source, ExternalID: ext, Remark: it.Remark}
	if code := strings.TrimSpace(it.EnterpriseCreditCode); code != "" {
		e, err := s.Store.GetEnterpriseByCreditCode(ctx, org.NormalizeCreditCode(code))
		if errors.Is(err, yingji.ErrNotFound) {
			return "", "", yingji.Invalid("resource.enterprise_not_found", "enterprise_credit_code", "统一社会信用代码为“%s”的企业不存在", code)
		} else if err != nil {
			return "", "", err
		}
		r.Owner, r.EnterpriseID = OwnerEnterprise, e.ID
	} else if code := strings.TrimSpace(it.OrgUnitCode); code != "" {
		u, err := s.unitByCode(ctx, code, units)
		if err != nil {
			return "", "", err
		}
		r.OrgUnitID = u.ID
	} else {
		return "", "", yingji.Invalid("resource.org_required", "org_unit_code", "须填写所属单位代码（org_unit_code）或所属企业统一社会信用代码（enterprise_credit_code）")
	}
	if h := strings.TrimSpace(it.HolderExternalID); h != "" {
		holder, err := s.Store.GetResourceByExternalID(ctx, source, h)
		if errors.Is(err, yingji.ErrNotFound) {
			return "", "", yingji.Invalid("resource.holder_not_found", "holder_external_id", "外部编号为“%s”的储备库或队伍不存在（须在本数据包中排在前面或已导入）", h)
		} else if err != nil {
			return "", "", err
		}
		r.HolderID = holder.ID
	}
	old, err := s.Store.GetResourceByExternalID(ctx, source, ext)
	if errors.Is(err, yingji.ErrNotFound) {
		if err := s.prepare(ctx, a, action, &r); err != nil {
			return "", "", err
		}
		v, err := s.Store.CreateResources(ctx, []Resource{r})
		if err != nil {
			if errors.Is(err, yingji.ErrDuplicate) {
				return "", "", dupExternal(r)
			}
			return "", "", err
		}
		s.applied(v, []Resource{r})
		s.ok(ctx, a, "resource.create", r.ID, map[string]any{"after": r.fields(), "source": source})
		return r.ID, ExternalCreated, nil
	} else if err != nil {
		return "", "", err
	}
	if !CanWrite(a, old.OrgPath, old.EnterpriseID) {
		return "", "", s.deny(ctx, a, action, old.ID, yingji.Forbidden("资源"))
	}
	// Unchanged: the item, normalized and placed as it would be saved, equals the stored one.
	probe := r
	probe.ID, probe.Kind = old.ID, old.Kind
	probe.Normalize()
	if err := probe.Validate(); err != nil {
		return "", "", err
	}
	if it.Kind != old.Kind {
		return "", "", yingji.Invalid("resource.kind_immutable", "kind", "外部编号“%s”已是%s，资源种类不能修改", ext, old.Kind.Name())
	}
	if err := s.place(ctx, a, &probe); err != nil {
		return "", "", err
	}
	if reflect.DeepEqual(probe.fields(), old.fields()) {
		return old.ID, ExternalUnchanged, nil
	}
	if _, err := s.update(ctx, a, "resource.update", old, r); err != nil {
		return "", "", err
	}
	return old.ID, ExternalUpdated, nil
}
