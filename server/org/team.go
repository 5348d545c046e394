package org

import (
	"strings"
	"time"

	"github.com/yingji/yingji/server/yingji"
)

// Team is a rescue team attached to an org unit. OrgPath is that unit's path (read from it).
type Team struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"` // free text, e.g. "综合救援", "危化品救援"
	OrgUnitID string    `json:"org_unit_id"`
	OrgPath   string    `json:"org_path"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Normalize trims the text fields.
func (t *Team) Normalize() {
	t.Name = strings.TrimSpace(t.Name)
	t.Kind = strings.TrimSpace(t.Kind)
	t.OrgUnitID = strings.TrimSpace(t.OrgUnitID)
}

// Validate checks the team's own fields.
func (t *Team) Validate() error {
	if t.Name == "" || len([]rune(t.Name)) > 100 {
		return yingji.Invalid("team.bad_name", "name", "队伍名称不能为空，且不超过 100 个字")
	}
	if len([]rune(t.Kind)) > 50 {
		return yingji.Invalid("team.bad_kind", "kind", "队伍类型不超过 50 个字")
	}
	if t.OrgUnitID == "" {
		return yingji.Invalid("team.org_required", "org_unit_id", "必须指定队伍所属单位")
	}
	return nil
}

func (t *Team) fields() map[string]any {
	return map[string]any{"name": t.Name, "kind": t.Kind, "org_unit_id": t.OrgUnitID}
}
