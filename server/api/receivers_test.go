package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/yingji/yingji/server/api"
	"github.com/yingji/yingji/server/app/apptest"
)

// TestAlertReceiverList: the receivers list pages, filters and sorts on the server, masks the
// phone numbers on request (the portal always asks), and the full number is read one receiver at
// a time, in scope, each reading audited. On SQLite and PostgreSQL.
func TestAlertReceiverList(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			var s *apptest.Server
			if engine == "sqlite" {
				s = apptest.Start(t)
			} else {
				s = apptest.StartPostgres(t)
			}
			ctx := context.Background()
			var townID string
			if err := s.DB.QueryRow(ctx, `SELECT id FROM org_units WHERE code = '339901002'`).Scan(&townID); err != nil {
				t.Fatal(err)
			}
			town1, town2 := s.Login(t, "township01"), s.Login(t, "township02")
			ids := map[string]string{}
			for i := range 25 {
				name := fmt.Sprintf("值班员%02d", i)
				in := api.AlertReceiverInput{Tier: "township", OrgUnitID: townID, Name: name, Phone: fmt.Sprintf("139%08d", 10000000+i), Channels: []string{"sms"}}
				var r struct{ ID string }
				want(t, s.Do(t, "POST", "/api/v1/alert-receivers", town1, in), http.StatusCreated, &r)
				ids[name] = r.ID
			}
			var page api.AlertReceiverList
			want(t, s.Do(t, "GET", "/api/v1/alert-receivers?tier=township&mask_phone=true&sort=-name", town1, nil), http.StatusOK, &page)
			if page.Total != 25 || len(page.Items) != 20 || page.Items[0].Name != "值班员24" {
				t.Fatalf("first page: total %d, %d items, first %q", page.Total, len(page.Items), page.Items[0].Name)
			}
			if p := page.Items[0].Phone; p != "139****0024" {
				t.Errorf("masked phone %q", p)
			}
			want(t, s.Do(t, "GET", "/api/v1/alert-receivers?tier=township&page=2&sort=name", town1, nil), http.StatusOK, &page)
			if len(page.Items) != 5 || page.Items[0].Name != "值班员20" || page.Items[0].Phone != "13910000020" {
				t.Fatalf("second page unmasked: %+v", page.Items)
			}
			want(t, s.Do(t, "GET", "/api/v1/alert-receivers?q=0000007&mask_phone=true", town1, nil), http.StatusOK, &page)
			if page.Total != 1 || page.Items[0].Name != "值班员07" {
				t.Fatalf("q by phone: %+v", page)
			}
			wantError(t, s.Do(t, "GET", "/api/v1/alert-receivers?tier=city", town1, nil), http.StatusBadRequest, "request.bad_query")
			wantError(t, s.Do(t, "GET", "/api/v1/alert-receivers?sort=secret", town1, nil), http.StatusBadRequest, "list.bad_sort")
			want(t, s.Do(t, "GET", "/api/v1/alert-receivers", town2, nil), http.StatusOK, &page)
			if page.Total != 0 {
				t.Fatalf("township02 sees %d receivers of township01", page.Total)
			}

			id := ids["值班员07"]
			var full api.PhoneReveal
			want(t, s.Do(t, "GET", "/api/v1/alert-receivers/"+id+"/phone", town1, nil), http.StatusOK, &full)
			if full.Phone != "13910000007" {
				t.Fatalf("revealed %q", full.Phone)
			}
			wantError(t, s.Do(t, "GET", "/api/v1/alert-receivers/"+id+"/phone", town2, nil), http.StatusForbidden, "auth.out_of_scope")
			wantError(t, s.Do(t, "GET", "/api/v1/alert-receivers/"+id+"/phone", s.Login(t, "grid01"), nil), http.StatusForbidden, "auth.forbidden")
			var n int
			if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'alert_receiver.reveal_phone' AND object_id = $1 AND username = 'township01'`, id).Scan(&n); err != nil || n != 1 {
				t.Fatalf("reveal audited %d times (%v), want 1", n, err)
			}
		})
	}
}
