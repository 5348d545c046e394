package api_test

import (
	"net/http"
	"testing"

	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/api"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/yingji"
)

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{"13957110000": "139****0000", "0571-88888888": "057******8888", "": "", "12345": "***45", "7": "*"} {
		if got := api.MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRevealUserPhone: a list asked with mask_phone=true hides the middle of every number; the
// full number is read one user at a time, within the caller's scope, and each reveal is audited.
func TestRevealUserPhone(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		admin := s.Login(t, "admin")
		var page struct {
			Items []account.User `json:"items"`
		}
		want(t, s.Do(t, "GET", "/api/v1/users?q=township01&mask_phone=true", admin, nil), http.StatusOK, &page)
		if len(page.Items) != 1 {
			t.Fatalf("users %+v", page.Items)
		}
		u := page.Items[0]
		if len(u.Phone) != 11 || u.Phone[3:7] != "****" {
			t.Fatalf("masked phone %q", u.Phone)
		}
		var full api.PhoneReveal
		want(t, s.Do(t, "GET", "/api/v1/users/"+u.ID+"/phone", admin, nil), http.StatusOK, &full)
		if len(full.Phone) != 11 || full.Phone[:3] != u.Phone[:3] || full.Phone[7:] != u.Phone[7:] || full.Phone[3:7] == "****" {
			t.Fatalf("revealed %q for masked %q", full.Phone, u.Phone)
		}
		var log struct {
			Items []audit.Entry `json:"items"`
		}
		want(t, s.Do(t, "GET", "/api/v1/audit?action=user.reveal_phone", admin, nil), http.StatusOK, &log)
		if len(log.Items) != 1 || log.Items[0].ObjectID != u.ID || log.Items[0].Username != "admin" || log.Items[0].Result != "ok" {
			t.Fatalf("audit %+v", log.Items)
		}
		// without mask_phone the list is as before; a bad flag is a 400 with a Chinese message
		want(t, s.Do(t, "GET", "/api/v1/users?q=township01", admin, nil), http.StatusOK, &page)
		if page.Items[0].Phone != full.Phone {
			t.Fatalf("unmasked list %q", page.Items[0].Phone)
		}
		wantError(t, s.Do(t, "GET", "/api/v1/users?mask_phone=maybe", admin, nil), http.StatusBadRequest, "request.bad_query")
		// outside the caller's scope: refused; without user:read: refused
		wantError(t, s.Do(t, "GET", "/api/v1/users/"+u.ID+"/phone", s.Login(t, "township02"), nil), http.StatusForbidden, "auth.out_of_scope")
		wantError(t, s.Do(t, "GET", "/api/v1/users/"+u.ID+"/phone", s.Login(t, "safety01"), nil), http.StatusForbidden, "auth.forbidden")
		wantError(t, s.Do(t, "GET", "/api/v1/users/"+yingji.NewID()+"/phone", admin, nil), http.StatusNotFound, "user.not_found")
	})
}
