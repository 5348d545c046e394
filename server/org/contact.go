package org

import (
	"regexp"
	"strings"
	"time"

	"github.com/yingji/yingji/server/yingji"
)

// Contact is a safety contact of an enterprise. At most one per enterprise is primary.
type Contact struct {
	ID           string    `json:"id"`
	EnterpriseID string    `json:"enterprise_id"`
	Name         string    `json:"name"`
	Title        string    `json:"title"`
	Phone        string    `json:"phone"`
	IsPrimary    bool      `json:"is_primary"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

var (
	mobileRe   = regexp.MustCompile(`^1[0-9]{10}$`)
	landlineRe = regexp.MustCompile(`^0[0-9]{2,3}-?[0-9]{7,8}(-[0-9]{1,6})?$`)
)

// ValidPhone reports whether s is a mainland mobile number (11 digits starting with 1) or a
// landline with its area code, e.g. 0571-88888888 (an extension may follow: -123).
func ValidPhone(s string) bool { return mobileRe.MatchString(s) || landlineRe.MatchString(s) }

func badPhone(code, field string) error {
	return yingji.Invalid(code, field, "电话号码应为以 1 开头的 11 位手机号，或带区号的固定电话（如 0571-88888888）")
}

// Normalize trims the text fields.
func (c *Contact) Normalize() {
	c.Name = strings.TrimSpace(c.Name)
	c.Title = strings.TrimSpace(c.Title)
	c.Phone = strings.TrimSpace(c.Phone)
}

// Validate checks the contact's own fields.
func (c *Contact) Validate() error {
	if c.EnterpriseID == "" {
		return yingji.Invalid("contact.enterprise_required", "enterprise_id", "必须指定所属企业")
	}
	if c.Name == "" || len([]rune(c.Name)) > 50 {
		return yingji.Invalid("contact.bad_name", "name", "联系人姓名不能为空，且不超过 50 个字")
	}
	if len([]rune(c.Title)) > 50 {
		return yingji.Invalid("contact.bad_title", "title", "职务不超过 50 个字")
	}
	if !ValidPhone(c.Phone) {
		return badPhone("contact.bad_phone", "phone")
	}
	return nil
}

func (c *Contact) fields() map[string]any {
	return map[string]any{"enterprise_id": c.EnterpriseID, "name": c.Name, "title": c.Title, "phone": c.Phone, "is_primary": c.IsPrimary}
}
