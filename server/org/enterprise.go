package org

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/yingji/yingji/server/yingji"
)

// Enterprise is a supervised enterprise. It sits in a township and optionally in one of the
// township's grids; OrgPath is the path of that grid, else of the township, and decides who
// may see it. Cell indexes the location for nearby searches.
type Enterprise struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	CreditCode         string    `json:"credit_code"`
	Industry           string    `json:"industry"`
	TownshipID         string    `json:"township_id"`
	GridID             string    `json:"grid_id,omitempty"`
	OrgPath            string    `json:"org_path"`
	Address            string    `json:"address"`
	Lat                *float64  `json:"lat"`
	Lng                *float64  `json:"lng"`
	Cell               string    `json:"cell,omitempty"`
	HazardousChemicals bool      `json:"hazardous_chemicals"`
	MajorHazard        bool      `json:"major_hazard"`
	LegalPerson        string    `json:"legal_person"`
	Phone              string    `json:"phone"`
	Contacts           []Contact `json:"contacts,omitempty"` // filled by GetEnterprise only
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// CellZoom is the map tile zoom of Enterprise.Cell (about 150 m at China's latitudes).
const CellZoom = 18

// CellOf returns the quadkey (digits 0–3, one per zoom level) of the zoom-18 web-mercator tile
// holding the WGS84 point. The cell of a larger tile is a prefix of its sub-tiles' cells, so a
// nearby search is a few range scans.
func CellOf(lat, lng float64) string {
	k := maptile.At(orb.Point{lng, lat}, CellZoom).Quadkey()
	s := strconv.FormatUint(k, 4)
	return strings.Repeat("0", CellZoom-len(s)) + s
}

// Rough bounds of China's territory that a location must fall in.
const (
	chinaMinLat, chinaMaxLat = 3.0, 54.0
	chinaMinLng, chinaMaxLng = 73.0, 136.0
)

// Normalize trims the text fields, upper-cases the credit code and derives the cell.
func (e *Enterprise) Normalize() {
	e.Name = strings.TrimSpace(e.Name)
	e.CreditCode = NormalizeCreditCode(e.CreditCode)
	e.Industry = strings.TrimSpace(e.Industry)
	e.TownshipID = strings.TrimSpace(e.TownshipID)
	e.GridID = strings.TrimSpace(e.GridID)
	e.Address = strings.TrimSpace(e.Address)
	e.LegalPerson = strings.TrimSpace(e.LegalPerson)
	e.Phone = strings.TrimSpace(e.Phone)
	e.Cell = ""
	if e.Lat != nil && e.Lng != nil && inChina(*e.Lat, *e.Lng) {
		e.Cell = CellOf(*e.Lat, *e.Lng)
	}
}

func inChina(lat, lng float64) bool {
	return lat >= chinaMinLat && lat <= chinaMaxLat && lng >= chinaMinLng && lng <= chinaMaxLng
}

// Validate checks the enterprise's own fields; where it sits is checked by Place.
func (e *Enterprise) Validate() error {
	if e.Name == "" || len([]rune(e.Name)) > 200 {
		return yingji.Invalid("enterprise.bad_name", "name", "企业名称不能为空，且不超过 200 个字")
	}
	if err := ValidateCreditCode(e.CreditCode); err != nil {
		return err
	}
	if len([]rune(e.Industry)) > 100 {
		return yingji.Invalid("enterprise.bad_industry", "industry", "行业不超过 100 个字")
	}
	if e.TownshipID == "" {
		return yingji.Invalid("enterprise.township_required", "township_id", "必须指定所属乡镇（街道）")
	}
	if len([]rune(e.Address)) > 200 {
		return yingji.Invalid("enterprise.bad_address", "address", "地址不超过 200 个字")
	}
	if (e.Lat == nil) != (e.Lng == nil) {
		return yingji.Invalid("enterprise.bad_location", "lat", "经度和纬度须同时填写或同时留空")
	}
	if e.Lat != nil {
		lat, lng := *e.Lat, *e.Lng
		switch {
		case math.IsNaN(lat) || lat < -90 || lat > 90:
			return yingji.Invalid("enterprise.bad_location", "lat", "纬度应在 -90 到 90 之间")
		case math.IsNaN(lng) || lng < -180 || lng > 180:
			return yingji.Invalid("enterprise.bad_location", "lng", "经度应在 -180 到 180 之间")
		case !inChina(lat, lng):
			return yingji.Invalid("enterprise.bad_location", "lat",
				"坐标（纬度 %g，经度 %g）不在中国境内，请检查是否填反或未使用 WGS84 坐标", lat, lng)
		}
	}
	if len([]rune(e.LegalPerson)) > 50 {
		return yingji.Invalid("enterprise.bad_legal_person", "legal_person", "法定代表人不超过 50 个字")
	}
	if e.Phone != "" && !ValidPhone(e.Phone) {
		return badPhone("enterprise.bad_phone", "phone")
	}
	return nil
}

// Place checks that the township is a township and the grid (nil for none) is one of its
// grids, and sets OrgPath.
func (e *Enterprise) Place(township Unit, grid *Unit) error {
	if township.Level != LevelTownship {
		return yingji.Invalid("enterprise.bad_township", "township_id", "所属单位“%s”是%s，不是乡镇（街道）", township.Name, township.Level.Name())
	}
	e.OrgPath = township.Path
	if grid == nil {
		return nil
	}
	if grid.Level != LevelGrid || grid.ParentID != township.ID {
		return yingji.Invalid("enterprise.bad_grid", "grid_id", "网格“%s”不属于乡镇（街道）“%s”", grid.Name, township.Name)
	}
	e.OrgPath = grid.Path
	return nil
}

func (e *Enterprise) fields() map[string]any {
	return map[string]any{
		"name": e.Name, "credit_code": e.CreditCode, "industry": e.Industry,
		"township_id": e.TownshipID, "grid_id": e.GridID, "address": e.Address,
		"lat": floatOrNil(e.Lat), "lng": floatOrNil(e.Lng),
		"hazardous_chemicals": e.HazardousChemicals, "major_hazard": e.MajorHazard,
		"legal_person": e.LegalPerson, "phone": e.Phone,
	}
}

func floatOrNil(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
