package api

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/sheet"
)

// The Excel sheets of resources: one per kind, the shared columns and the kind's own.

const (
	colResName       = "名称"
	colResCategory   = "类别"
	colResSubtype    = "类型"
	colResCode       = "编号"
	colResOwner      = "归属"
	colResUnit       = "所属单位代码"
	colResEnterprise = "所属企业统一社会信用代码"
	colResStatus     = "状态"
	colResHolder     = "所属储备库或队伍"
	colResQuantity   = "数量"
	colResMeasure    = "计量单位"
	colResSpec       = "规格型号"
	colResMembers    = "队员人数"
	colResEquipment  = "主要装备"
	colResAccidents  = "处置事故类型"
	colResSex        = "性别"
	colResBirth      = "出生年月"
	colResEmployer   = "工作单位"
	colResTitle      = "职称"
	colResSpecialty  = "专业特长"
	colResArea       = "面积（平方米）"
	colResCapacity   = "可容纳人数"
	colResOccupancy  = "当前安置人数"
	colResAmbulances = "救护车"
	colResBeds       = "床位"
	colResDoctors    = "医生"
	colResNurses     = "护士"
	colResPeople     = "人数"
	colResVehicles   = "车辆"
	colResContact    = "负责人"
	colResPhone      = "联系电话"
	colResAddress    = "地址"
	colResLat        = "纬度"
	colResLng        = "经度"
	colResRemark     = "备注"
	colResExternal   = "外部编号"
)

// resourceColumns maps the fields named by validation errors to their columns.
var resourceColumns = map[string]string{"name": colResName, "category": colResCategory, "subtype": colResSubtype, "code": colResCode,
	"owner": colResOwner, "org_unit_id": colResUnit, "enterprise_id": colResEnterprise, "status": colResStatus, "holder_id": colResHolder,
	"quantity": colResQuantity, "unit": colResMeasure, "spec": colResSpec, "members": colResMembers, "equipment": colResEquipment,
	"accident_types": colResAccidents, "sex": colResSex, "birth_month": colResBirth, "employer": colResEmployer, "area": colResArea,
	"capacity": colResCapacity, "occupancy": colResOccupancy, "ambulances": colResAmbulances, "beds": colResBeds, "doctors": colResDoctors,
	"nurses": colResNurses, "people": colResPeople, "vehicles": colResVehicles, "contact": colResContact, "phone": colResPhone,
	"address": colResAddress, "lat": colResLat, "lng": colResLng, "remark": colResRemark, "external_id": colResExternal,
	"org_unit_code": colResUnit, "enterprise_credit_code": colResEnterprise, "holder_external_id": colResHolder}

func statusOptions(k resource.Kind) []string {
	out := make([]string, len(resource.Statuses))
	for i, s := range resource.Statuses {
		out[i] = s.Name(k)
	}
	return out
}

// resourceSheet is the workbook of a kind; external adds the 外部编号 column (packages from
// outside systems, where 所属储备库或队伍 is the holder's external id).
func resourceSheet(k resource.Kind, external bool) sheet.Spec {
	cats, fixed := resource.Categories[k]
	catNote := "从下拉列表中选择"
	if !fixed {
		cats, catNote = nil, "不超过 50 个字，如 "+strings.Join(resource.Suggestions[k], "、")
	}
	code := sheet.Column{Title: colResCode, Text: true, Width: 14, Note: "单位内部编号，可留空", Example: ""}
	if k == resource.KindSupply {
		code = sheet.Column{Title: colResCode, Text: true, Width: 14, Note: "GB/T 38565 应急物资编码：1、3、5 或 7 位数字，首位 1–3，可留空", Example: "2030101"}
	}
	cols := []sheet.Column{
		{Title: colResName, Required: true, Width: 24, Note: "不超过 100 个字", Example: map[resource.Kind]string{resource.KindSupply: "救生衣",
			resource.KindTeam: "临港园区危化品救援队", resource.KindExpert: "张明", resource.KindShelter: "滨江中学应急避难场所"}[k]},
		{Title: colResCategory, Required: fixed, Width: 14, Options: cats, Note: catNote},
		{Title: colResSubtype, Width: 14, Note: "细分类型，不超过 50 个字（如队伍的危化品救援、目标的学校）"},
		code,
		{Title: colResOwner, Options: []string{"政府", "企业"}, Note: "政府或企业，留空为政府；企业资源须填所属企业", Example: "政府"},
		{Title: colResUnit, Text: true, Width: 18, Note: "政府资源的所属单位代码；网格写作“乡镇（街道）代码/网格编号”", Example: "339901002"},
		{Title: colResEnterprise, Text: true, Width: 24, Note: "企业资源填写所属企业的统一社会信用代码"},
		{Title: colResStatus, Options: statusOptions(k), Note: "留空为" + resource.StatusAvailable.Name(k)},
	}
	switch k {
	case resource.KindSupply:
		holder := "存放的储备库或救援队伍的名称，可留空；物资位置随之"
		if external {
			holder = "存放的储备库或救援队伍在来源系统中的外部编号"
		}
		cols = append(cols,
			sheet.Column{Title: colResHolder, Width: 24, Note: holder},
			sheet.Column{Title: colResQuantity, Required: true, Note: "不小于 0 的数", Example: "500"},
			sheet.Column{Title: colResMeasure, Required: true, Note: "如 件、台、吨", Example: "件"},
			sheet.Column{Title: colResSpec, Width: 16, Note: "不超过 100 个字"})
	case resource.KindTeam:
		cols = append(cols,
			sheet.Column{Title: colResMembers, Note: "整数", Example: "36"},
			sheet.Column{Title: colResEquipment, Width: 30, Note: "不超过 500 个字"},
			sheet.Column{Title: colResAccidents, Width: 24, Note: "多个事故类型用顿号“、”分隔", Example: "火灾、爆炸、中毒和窒息"})
	case resource.KindExpert:
		cols = append(cols,
			sheet.Column{Title: colResSex, Options: []string{"男", "女"}},
			sheet.Column{Title: colResBirth, Text: true, Note: "年-月，如 1975-06", Example: "1975-06"},
			sheet.Column{Title: colResEmployer, Width: 24, Note: "不超过 100 个字"},
			sheet.Column{Title: colResTitle, Note: "不超过 50 个字", Example: "高级工程师"},
			sheet.Column{Title: colResSpecialty, Width: 24, Note: "不超过 200 个字"})
	case resource.KindDepot:
		cols = append(cols, sheet.Column{Title: colResArea, Note: "不小于 0 的数"})
	case resource.KindShelter:
		cols = append(cols, sheet.Column{Title: colResArea, Note: "不小于 0 的数"},
			sheet.Column{Title: colResCapacity, Note: "整数", Example: "2000"},
			sheet.Column{Title: colResOccupancy, Note: "整数", Example: "0"})
	case resource.KindMedical:
		cols = append(cols, sheet.Column{Title: colResAmbulances, Note: "整数"}, sheet.Column{Title: colResBeds, Note: "整数"},
			sheet.Column{Title: colResDoctors, Note: "整数"}, sheet.Column{Title: colResNurses, Note: "整数"})
	case resource.KindPolice, resource.KindFire:
		cols = append(cols, sheet.Column{Title: colResPeople, Note: "整数"}, sheet.Column{Title: colResVehicles, Note: "整数"})
	}
	cols = append(cols,
		sheet.Column{Title: colResContact, Width: 12, Note: "不超过 50 个字"},
		sheet.Column{Title: colResPhone, Text: true, Width: 16, Note: "11 位手机号，或带区号的固定电话（如 0571-88888888）"},
		sheet.Column{Title: colResAddress, Width: 30, Note: "不超过 200 个字"},
		sheet.Column{Title: colResLat, Width: 12, Note: "WGS84 纬度", Example: "30.2201"},
		sheet.Column{Title: colResLng, Width: 12, Note: "WGS84 经度", Example: "120.3466"},
		sheet.Column{Title: colResRemark, Width: 24, Note: "不超过 500 个字"})
	if external {
		cols = append([]sheet.Column{{Title: colResExternal, Required: true, Text: true, Width: 20, Note: "来源系统中的编号，同一来源内唯一"}}, cols...)
	}
	return sheet.Spec{Sheet: k.Name(), Columns: cols, Notes: []string{
		"经纬度使用 WGS84 坐标（GPS 坐标），须同时填写或同时留空；存放于储备库或队伍的物资使用其位置。",
		"只能为您管辖范围内的单位（企业用户为本企业）导入资源；全部行校验通过才导入，否则不导入任何一行。",
	}}
}

func sheetRead(data []byte, spec sheet.Spec, maxRows int, maxImport int64) ([]*sheet.Row, error) {
	return sheet.Read(bytes.NewReader(data), spec, sheet.Limits{MaxRows: maxRows, MaxUnzipped: max(sheet.DefaultMaxUnzipped, 10*maxImport)})
}

func asErr(err error, target any) bool { return errors.As(err, target) }

// rowCommon reads the shared and kind columns into r (not the unit, enterprise or holder).
func rowCommon(k resource.Kind, row *sheet.Row, r *resource.Resource) {
	r.Kind, r.Name, r.Category, r.Subtype, r.Code = k, row.Text(colResName), row.Text(colResCategory), row.Text(colResSubtype), row.Text(colResCode)
	r.Contact, r.Phone, r.Address, r.Remark = row.Text(colResContact), row.Text(colResPhone), row.Text(colResAddress), row.Text(colResRemark)
	owner, ok := resource.OwnerByName(row.Text(colResOwner))
	if !ok {
		row.Fail(colResOwner, "归属应为政府或企业，而不是“%s”", row.Text(colResOwner))
	}
	r.Owner = owner
	if row.Blank(colResOwner) && !row.Blank(colResEnterprise) {
		r.Owner = resource.OwnerEnterprise
	}
	st, ok := resource.StatusByName(k, row.Text(colResStatus))
	if !ok {
		row.Fail(colResStatus, "状态应为%s之一，而不是“%s”", strings.Join(statusOptions(k), "、"), row.Text(colResStatus))
		st = resource.StatusAvailable
	}
	r.Status = st
	lat, lng := row.Float(colResLat), row.Float(colResLng)
	switch {
	case (lat == nil) != (lng == nil):
		row.Fail(colResLat, "经度和纬度须同时填写或同时留空")
	case lat != nil:
		r.Location = &resource.Location{Lat: *lat, Lng: *lng}
	}
	switch k {
	case resource.KindSupply:
		if q := row.Float(colResQuantity); q != nil {
			r.Quantity = *q
		}
		r.Unit, r.Spec = row.Text(colResMeasure), row.Text(colResSpec)
	case resource.KindTeam:
		r.Members, r.Equipment, r.AccidentTypes = row.Int(colResMembers), row.Text(colResEquipment), splitAccidentTypes(row.Text(colResAccidents))
	case resource.KindExpert:
		r.Sex, r.BirthMonth, r.Employer = row.Text(colResSex), row.Text(colResBirth), row.Text(colResEmployer)
		r.Title, r.Specialty = row.Text(colResTitle), row.Text(colResSpecialty)
		if t := r.BirthMonth; len(t) == 7 && t[4] == '/' || len(t) == 7 && t[4] == '.' {
			r.BirthMonth = t[:4] + "-" + t[5:]
		}
	case resource.KindDepot, resource.KindShelter:
		if a := row.Float(colResArea); a != nil {
			r.Area = *a
		}
		r.Capacity, r.Occupancy = row.Int(colResCapacity), row.Int(colResOccupancy)
	case resource.KindMedical:
		r.Ambulances, r.Beds, r.Doctors, r.Nurses = row.Int(colResAmbulances), row.Int(colResBeds), row.Int(colResDoctors), row.Int(colResNurses)
	case resource.KindPolice, resource.KindFire:
		r.People, r.Vehicles = row.Int(colResPeople), row.Int(colResVehicles)
	}
}

// resourceFromRow reads one import row, resolving its unit, enterprise and holder by name.
func resourceFromRow(k resource.Kind, row *sheet.Row, l *sheetLookups) resource.Resource {
	var r resource.Resource
	rowCommon(k, row, &r)
	if code := org.NormalizeCreditCode(row.Text(colResEnterprise)); code != "" {
		if e, ok := l.enterprises[code]; ok {
			r.EnterpriseID = e.ID
		} else {
			row.Fail(colResEnterprise, "统一社会信用代码为“%s”的企业不存在或不在您的管辖范围内", code)
		}
	} else if code := row.Text(colResUnit); code != "" {
		if u, ok := l.units[code]; ok {
			r.OrgUnitID = u.ID
		} else {
			row.Fail(colResUnit, "代码为“%s”的单位不存在或不在您的管辖范围内", code)
		}
	} else if r.Owner == resource.OwnerGovernment {
		row.Fail(colResUnit, "请填写所属单位代码（企业资源填写所属企业统一社会信用代码）")
	}
	if name := row.Text(colResHolder); name != "" && k == resource.KindSupply {
		switch hs := l.holders[name]; len(hs) {
		case 0:
			row.Fail(colResHolder, "名为“%s”的储备库或救援队伍不存在或不在您的管辖范围内", name)
		case 1:
			r.HolderID = hs[0].ID
		default:
			row.Fail(colResHolder, "有 %d 个名为“%s”的储备库或队伍，请先在系统中区分其名称", len(hs), name)
		}
	}
	return r
}

// externalItemFromRow reads one row of an Excel package from an outside system.
func externalItemFromRow(k resource.Kind, row *sheet.Row) resource.ExternalItem {
	var r resource.Resource
	rowCommon(k, row, &r)
	if row.Blank(colResExternal) {
		row.Fail(colResExternal, "请填写外部编号")
	}
	return resource.ExternalItem{ExternalID: row.Text(colResExternal), Kind: k, Name: r.Name, Code: r.Code, Category: r.Category,
		Subtype: r.Subtype, OrgUnitCode: row.Text(colResUnit), EnterpriseCreditCode: row.Text(colResEnterprise),
		HolderExternalID: row.Text(colResHolder), Status: r.Status, Quantity: r.Quantity, Unit: r.Unit, AccidentTypes: r.AccidentTypes,
		Contact: r.Contact, Phone: r.Phone, Address: r.Address, Location: r.Location, Details: r.Details, Remark: r.Remark}
}

// resourceRow is the export row of a resource, in the sheet's column order.
func resourceRow(k resource.Kind, x resource.Resource, l *sheetLookups) []any {
	spec := resourceSheet(k, false)
	var lat, lng any
	if x.Location != nil {
		lat, lng = x.Location.Lat, x.Location.Lng
	}
	unit := ""
	if x.Owner == resource.OwnerGovernment {
		unit = l.unitCode[x.OrgUnitID]
	}
	v := map[string]any{colResName: x.Name, colResCategory: x.Category, colResSubtype: x.Subtype, colResCode: x.Code,
		colResOwner: x.Owner.Name(), colResUnit: unit, colResEnterprise: l.credit[x.EnterpriseID], colResStatus: x.Status.Name(k),
		colResHolder: l.holderName[x.HolderID], colResQuantity: x.Quantity, colResMeasure: x.Unit, colResSpec: x.Spec,
		colResMembers: x.Members, colResEquipment: x.Equipment, colResAccidents: strings.Join(x.AccidentTypes, "、"), colResSex: x.Sex,
		colResBirth: x.BirthMonth, colResEmployer: x.Employer, colResTitle: x.Title, colResSpecialty: x.Specialty, colResArea: x.Area,
		colResCapacity: x.Capacity, colResOccupancy: x.Occupancy, colResAmbulances: x.Ambulances, colResBeds: x.Beds,
		colResDoctors: x.Doctors, colResNurses: x.Nurses, colResPeople: x.People, colResVehicles: x.Vehicles, colResContact: x.Contact,
		colResPhone: x.Phone, colResAddress: x.Address, colResLat: lat, colResLng: lng, colResRemark: x.Remark}
	out := make([]any, len(spec.Columns))
	for i, c := range spec.Columns {
		val, ok := v[c.Title]
		if !ok {
			panic(fmt.Sprintf("resource sheet column %s has no value", c.Title))
		}
		out[i] = val
	}
	return out
}
