// Package org holds the organisation of the platform: the administrative hierarchy of org
// units (city → district/county → township/street → grid), rescue teams, enterprises and their
// safety contacts, with the permission and data-scope rules for reading and changing them.
package org

import (
	"regexp"
	"strings"
	"time"

	"github.com/yingji/yingji/server/yingji"
)

// Level is the rank of an org unit in the administrative hierarchy.
type Level string

const (
	LevelCity     Level = "city"
	LevelDistrict Level = "district"
	LevelTownship Level = "township"
	LevelGrid     Level = "grid"
)

// Levels lists the levels from the top down.
var Levels = []Level{LevelCity, LevelDistrict, LevelTownship, LevelGrid}

// Valid reports whether l is a known level.
func (l Level) Valid() bool { return l.rank() > 0 }

// Name is the level's Chinese name.
func (l Level) Name() string {
	switch l {
	case LevelCity:
		return "市"
	case LevelDistrict:
		return "区县"
	case LevelTownship:
		return "乡镇（街道）"
	case LevelGrid:
		return "网格"
	}
	return string(l)
}

// Parent is the level a unit of level l sits under ("" for a city).
func (l Level) Parent() Level {
	if r := l.rank(); r > 1 {
		return Levels[r-2]
	}
	return ""
}

func (l Level) rank() int {
	for i, v := range Levels {
		if v == l {
			return i + 1
		}
	}
	return 0
}

// Unit is an org unit. Path is the materialised path "/<ancestor ids>/<own id>/", so the units
// of a subtree are those whose path starts with the root's path.
type Unit struct {
	ID        string    `json:"id"`
	ParentID  string    `json:"parent_id,omitempty"`
	Level     Level     `json:"level"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Path      string    `json:"path"`
	Sort      int       `json:"sort"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var (
	digitsRe   = regexp.MustCompile(`^[0-9]+$`)
	gridCodeRe = regexp.MustCompile(`^[0-9A-Za-z-]{1,20}$`)
)

// Normalize trims the text fields.
func (u *Unit) Normalize() {
	u.Code = strings.TrimSpace(u.Code)
	u.Name = strings.TrimSpace(u.Name)
}

// Validate checks the unit against its parent (nil for a city): the level order and the code
// rules of GB/T 2260 and its township extension; grid codes are local to their township.
func (u *Unit) Validate(parent *Unit) error {
	if !u.Level.Valid() {
		return yingji.Invalid("org.bad_level", "level", "未知的组织层级“%s”", u.Level)
	}
	if u.Name == "" || len([]rune(u.Name)) > 100 {
		return yingji.Invalid("org.bad_name", "name", "名称不能为空，且不超过 100 个字")
	}
	want := u.Level.Parent()
	switch {
	case want == "" && parent != nil:
		return yingji.Invalid("org.bad_parent", "parent_id", "市级单位不能设上级单位")
	case want != "" && parent == nil:
		return yingji.Invalid("org.parent_required", "parent_id", "%s必须指定所属%s", u.Level.Name(), want.Name())
	case want != "" && parent.Level != want:
		return yingji.Invalid("org.bad_parent", "parent_id", "%s只能设在%s之下，不能设在%s“%s”之下",
			u.Level.Name(), want.Name(), parent.Level.Name(), parent.Name)
	}
	c := u.Code
	switch u.Level {
	case LevelCity:
		if len(c) != 6 || !digitsRe.MatchString(c) || !strings.HasSuffix(c, "00") {
			return yingji.Invalid("org.bad_code", "code", "市级行政区划代码应为 6 位数字，且以 00 结尾（如 330100）")
		}
	case LevelDistrict:
		if len(c) != 6 || !digitsRe.MatchString(c) || c[:4] != parent.Code[:4] || strings.HasSuffix(c, "00") {
			return yingji.Invalid("org.bad_code", "code", "区县行政区划代码应为 6 位数字，前 4 位与所属市“%s”一致，且不以 00 结尾", parent.Code)
		}
	case LevelTownship:
		if len(c) != 9 || !digitsRe.MatchString(c) || c[:6] != parent.Code || strings.HasSuffix(c, "000") {
			return yingji.Invalid("org.bad_code", "code", "乡镇（街道）代码应为 9 位数字，前 6 位为所属区县代码“%s”，且不以 000 结尾", parent.Code)
		}
	case LevelGrid:
		if !gridCodeRe.MatchString(c) {
			return yingji.Invalid("org.bad_code", "code", "网格编号应为 1–20 位字母、数字或短横线")
		}
	}
	return nil
}

// ChildPath is the path of a child with id under a unit with path parentPath ("" for a city).
func ChildPath(parentPath, id string) string {
	if parentPath == "" {
		parentPath = "/"
	}
	return parentPath + id + "/"
}

// PathIDs returns the unit ids on a path, from the top down.
func PathIDs(path string) []string {
	var ids []string
	for _, s := range strings.Split(path, "/") {
		if s != "" {
			ids = append(ids, s)
		}
	}
	return ids
}

// fields is the unit's audited view.
func (u *Unit) fields() map[string]any {
	return map[string]any{"parent_id": u.ParentID, "level": string(u.Level), "code": u.Code, "name": u.Name, "sort": u.Sort}
}
