package app_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
)

// engines runs a scenario on SQLite and on PostgreSQL.
var engines = []struct {
	name  string
	start func(testing.TB, ...apptest.Option) *apptest.Server
}{
	{"sqlite", apptest.Start},
	{"postgres", apptest.StartPostgres},
}

// wantError is apptest.WantError.
func wantError(t *testing.T, r apptest.Response, status int, code string) map[string]any {
	t.Helper()
	return apptest.WantError(t, r, status, code)
}

func TestOperations(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := e.start(t)
			if r := s.Do(t, "GET", "/healthz", "", nil); r.Status != 200 {
				t.Fatalf("healthz %d", r.Status)
			}
			r := s.Do(t, "GET", "/readyz", "", nil)
			if r.Status != 200 || r.Map(t)["engine"] != e.name {
				t.Fatalf("readyz %d %s", r.Status, r.Body)
			}
			s.Do(t, "GET", "/api/v1/auth/password-policy", "", nil)
			r = s.Do(t, "GET", "/metrics", "", nil)
			body := string(r.Body)
			if !strings.Contains(body, `yingji_http_request_duration_seconds_bucket{method="GET",route="/api/v1/auth/password-policy",status="200"`) {
				t.Fatalf("no latency histogram by route in /metrics")
			}
			pool := `go_sql_open_connections{db_name="sqlite_write"}`
			if e.name == "postgres" {
				pool = "yingji_pg_pool_max_connections"
			}
			if !strings.Contains(body, pool) {
				t.Fatalf("no pool stats %s in /metrics", pool)
			}
			wantError(t, s.Do(t, "GET", "/api/v1/nope", "", nil), 404, "request.no_route")
		})
	}
}

func TestLogin(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := e.start(t)
			t.Run("OK", func(t *testing.T) {
				r := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "Admin", "password": apptest.Password, "client": "web", "device_id": "pc"})
				if r.Status != 200 {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				var out struct {
					Token     string
					ExpiresAt time.Time `json:"expires_at"`
					User      struct {
						ID, Username, Name, Role string
						Permissions              []string
					}
				}
				r.JSON(t, &out)
				if out.Token == "" || out.User.Username != "admin" || out.User.Role != "city_admin" || len(out.User.Permissions) == 0 {
					t.Fatalf("login answer %s", r.Body)
				}
				if d := time.Until(out.ExpiresAt); d < 11*time.Hour || d > 13*time.Hour {
					t.Fatalf("web session expires in %v, want the 12h default", d)
				}
				me := s.Do(t, "GET", "/api/v1/auth/me", out.Token, nil)
				if me.Status != 200 || me.Map(t)["name"] != "李管理" {
					t.Fatalf("me: %s", me.Body)
				}
			})
			t.Run("ErrWrongPassword", func(t *testing.T) {
				r := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "duty01", "password": "wrong-1", "client": "web"})
				wantError(t, r, 401, "auth.bad_credentials")
				r = s.Do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "nobody", "password": "wrong-1", "client": "web"})
				wantError(t, r, 401, "auth.bad_credentials")
			})
			t.Run("ErrSixthWrongAttemptLocks", func(t *testing.T) {
				try := func(pw string) apptest.Response {
					return s.Do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "expert01", "password": pw, "client": "web"})
				}
				for i := 1; i <= 5; i++ {
					m := wantError(t, try("bad-password-1"), 401, "auth.bad_credentials")
					if i >= 3 && !strings.Contains(m["message"].(string), "将被锁定") {
						t.Fatalf("attempt %d does not warn: %v", i, m["message"])
					}
				}
				m := wantError(t, try("bad-password-1"), 423, "auth.locked")
				if !strings.Contains(m["message"].(string), "15 分钟") {
					t.Fatalf("lock message does not say for how long: %v", m["message"])
				}
				wantError(t, try(apptest.Password), 423, "auth.locked")
				admin := s.Login(t, "admin")
				r := s.Do(t, "GET", "/api/v1/audit?action=auth.lockout&username=expert01", admin, nil)
				if r.Status != 200 || r.Map(t)["total"].(float64) != 1 {
					t.Fatalf("lockout not audited: %s", r.Body)
				}
			})
			t.Run("ErrBadClient", func(t *testing.T) {
				r := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": apptest.Password, "client": "tv"})
				wantError(t, r, 400, "auth.bad_client")
			})
		})
	}
}

func TestLockoutExpires(t *testing.T) {
	var offset atomic.Int64
	s := apptest.Start(t, apptest.WithConfig(func(c *config.Config) { c.LockoutThreshold = 2 }), apptest.WithClock(func() time.Time {
		return time.Now().Add(time.Duration(offset.Load()))
	}))
	for range 2 {
		s.Do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "grid01", "password": "bad-password-1"})
	}
	r := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "grid01", "password": apptest.Password})
	wantError(t, r, 423, "auth.locked")
	offset.Store(int64(16 * time.Minute))
	s.Login(t, "grid01")
}

func TestSessions(t *testing.T) {
	var offset atomic.Int64
	s := apptest.Start(t, apptest.WithClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }))
	t.Run("ErrReplacedByNewerLogin", func(t *testing.T) {
		old := s.LoginAs(t, "duty01", apptest.Password, "web", "pc-1")
		phone := s.LoginAs(t, "duty01", apptest.Password, "mobile", "phone-1")
		newer := s.LoginAs(t, "duty01", apptest.Password, "web", "pc-2")
		wantError(t, s.Do(t, "GET", "/api/v1/auth/me", old, nil), 401, "auth.session_replaced")
		for _, tok := range []string{phone, newer} {
			if r := s.Do(t, "GET", "/api/v1/auth/me", tok, nil); r.Status != 200 {
				t.Fatalf("session of the other client kind or the newer one ended: %s", r.Body)
			}
		}
	})
	t.Run("ErrDeviceSwitchedToAnotherAccount", func(t *testing.T) {
		first := s.LoginAs(t, "safety01", apptest.Password, "mobile", "shared-phone")
		s.LoginAs(t, "principal01", apptest.Password, "mobile", "shared-phone")
		wantError(t, s.Do(t, "GET", "/api/v1/auth/me", first, nil), 401, "auth.device_switched")
	})
	t.Run("ErrLoggedOut", func(t *testing.T) {
		tok := s.Login(t, "auditor01")
		if r := s.Do(t, "POST", "/api/v1/auth/logout", tok, nil); r.Status != 204 {
			t.Fatalf("logout %d %s", r.Status, r.Body)
		}
		wantError(t, s.Do(t, "GET", "/api/v1/auth/me", tok, nil), 401, "auth.logged_out")
	})
	t.Run("ErrExpired", func(t *testing.T) {
		tok := s.Login(t, "grid01")
		offset.Store(int64(13 * time.Hour))
		defer offset.Store(0)
		wantError(t, s.Do(t, "GET", "/api/v1/auth/me", tok, nil), 401, "auth.session_expired")
	})
	t.Run("ErrNoOrBadToken", func(t *testing.T) {
		wantError(t, s.Do(t, "GET", "/api/v1/auth/me", "", nil), 401, "auth.no_token")
		wantError(t, s.Do(t, "GET", "/api/v1/users", "yj_forged", nil), 401, "auth.invalid_token")
	})
	t.Run("OK_ChangePasswordEndsOtherSessions", func(t *testing.T) {
		web := s.LoginAs(t, "rescue01", apptest.Password, "web", "pc-r")
		phone := s.LoginAs(t, "rescue01", apptest.Password, "mobile", "phone-r")
		wantError(t, s.Do(t, "POST", "/api/v1/auth/password", web, map[string]string{"old_password": "nope", "new_password": "Better-Pass-1"}), 400, "auth.bad_old_password")
		wantError(t, s.Do(t, "POST", "/api/v1/auth/password", web, map[string]string{"old_password": apptest.Password, "new_password": "short1"}), 400, "auth.weak_password")
		wantError(t, s.Do(t, "POST", "/api/v1/auth/password", web, map[string]string{"old_password": apptest.Password, "new_password": "onlyletters"}), 400, "auth.weak_password")
		if r := s.Do(t, "POST", "/api/v1/auth/password", web, map[string]string{"old_password": apptest.Password, "new_password": "Better-Pass-1"}); r.Status != 204 {
			t.Fatalf("change password: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, "GET", "/api/v1/auth/me", web, nil); r.Status != 200 {
			t.Fatalf("the session that changed the password ended: %s", r.Body)
		}
		wantError(t, s.Do(t, "GET", "/api/v1/auth/me", phone, nil), 401, "auth.password_changed")
		s.LoginAs(t, "rescue01", "Better-Pass-1", "mobile", "phone-r")
	})
}

func TestBadInput(t *testing.T) {
	s := apptest.Start(t, apptest.WithConfig(func(c *config.Config) { c.MaxBodyBytes = 4096 }))
	admin := s.Login(t, "admin")
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"ErrMalformedJSON", `{"username": "x",`, 400, "request.bad_json"},
		{"ErrUnknownField", `{"username":"newuser1","name":"新用户","role":"expert","password":"Abcdef-123","colour":"red"}`, 400, "request.unknown_field"},
		{"ErrWrongType", `{"username":"newuser1","name":42}`, 400, "request.bad_type"},
		{"ErrNotAnObject", `[1,2]`, 400, "request.bad_type"},
		{"ErrEmpty", ``, 400, "request.empty_body"},
		{"ErrTooLarge", `{"name":"` + strings.Repeat("长", 3000) + `"}`, 413, "request.too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := wantError(t, s.Do(t, "POST", "/api/v1/users", admin, c.body), c.status, c.code)
			if c.status == 413 && !strings.Contains(m["message"].(string), "4 KiB") {
				t.Fatalf("413 does not name the limit: %v", m["message"])
			}
		})
	}
	t.Run("ErrBadQuery", func(t *testing.T) {
		wantError(t, s.Do(t, "GET", "/api/v1/users?page=abc", admin, nil), 400, "request.bad_query")
		wantError(t, s.Do(t, "GET", "/api/v1/users?sort=password_hash", admin, nil), 400, "list.bad_sort")
	})
	t.Run("OK_NothingLost", func(t *testing.T) {
		r := s.Do(t, "GET", "/api/v1/users?q=newuser1", admin, nil)
		if r.Map(t)["total"].(float64) != 0 {
			t.Fatalf("a refused request created a user: %s", r.Body)
		}
	})
}

func TestUsers(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := e.start(t)
			admin := s.Login(t, "admin")
			town1 := s.Login(t, "township01")
			var town1User struct {
				OrgUnitID string `json:"org_unit_id"`
			}
			s.Do(t, "GET", "/api/v1/auth/me", town1, nil).JSON(t, &town1User)
			var town2User struct {
				OrgUnitID string `json:"org_unit_id"`
			}
			s.Do(t, "GET", "/api/v1/auth/me", s.Login(t, "township02"), nil).JSON(t, &town2User)

			t.Run("OK_CreateInOwnTownship", func(t *testing.T) {
				r := s.Do(t, "POST", "/api/v1/users", town1, map[string]any{"username": "grid99", "name": "新网格员", "role": "grid_worker",
					"org_unit_id": town1User.OrgUnitID, "password": "Initial-Pass-1", "phone": "13900000001"})
				if r.Status != 201 {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				u := r.Map(t)
				if u["must_change_password"] != true || u["role_name"] != "网格员" {
					t.Fatalf("created user %s", r.Body)
				}
				if strings.Contains(string(r.Body), "argon2") {
					t.Fatal("password hash in the answer")
				}
				tok := s.LoginAs(t, "grid99", "Initial-Pass-1", "mobile", "p99")
				if me := s.Do(t, "GET", "/api/v1/auth/me", tok, nil).Map(t); me["must_change_password"] != true {
					t.Fatalf("me: %v", me)
				}
			})
			t.Run("ErrDuplicateUsername", func(t *testing.T) {
				r := s.Do(t, "POST", "/api/v1/users", admin, map[string]any{"username": "grid01", "name": "重复", "role": "grid_worker",
					"org_unit_id": town1User.OrgUnitID, "password": "Initial-Pass-1"})
				wantError(t, r, 409, "user.duplicate_username")
			})
			t.Run("ErrOtherTownship", func(t *testing.T) {
				r := s.Do(t, "POST", "/api/v1/users", town1, map[string]any{"username": "intruder", "name": "越权", "role": "grid_worker",
					"org_unit_id": town2User.OrgUnitID, "password": "Initial-Pass-1"})
				wantError(t, r, 403, "auth.out_of_scope")
			})
			t.Run("ErrRoleTooHigh", func(t *testing.T) {
				r := s.Do(t, "POST", "/api/v1/users", town1, map[string]any{"username": "boss", "name": "越级", "role": "district_admin",
					"org_unit_id": town1User.OrgUnitID, "password": "Initial-Pass-1"})
				if r.Status != 400 && r.Status != 403 {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
			})
			t.Run("ErrWeakPassword", func(t *testing.T) {
				r := s.Do(t, "POST", "/api/v1/users", admin, map[string]any{"username": "weak1", "name": "弱密码", "role": "grid_worker",
					"org_unit_id": town1User.OrgUnitID, "password": "123"})
				wantError(t, r, 400, "auth.weak_password")
			})
			t.Run("OK_ListScoped", func(t *testing.T) {
				var page struct {
					Items []struct{ Username string }
					Total int
				}
				s.Do(t, "GET", "/api/v1/users?page_size=100", town1, nil).JSON(t, &page)
				names := map[string]bool{}
				for _, u := range page.Items {
					names[u.Username] = true
				}
				if !names["township01"] || !names["grid01"] || names["township02"] || names["admin"] || names["safety02"] {
					t.Fatalf("township01 sees %v", names)
				}
				s.Do(t, "GET", "/api/v1/users?page_size=100", admin, nil).JSON(t, &page)
				if page.Total < 12 {
					t.Fatalf("admin sees %d users", page.Total)
				}
			})
			t.Run("ErrReadOtherTownshipUser", func(t *testing.T) {
				var page struct {
					Items []struct{ ID, Username string }
				}
				s.Do(t, "GET", "/api/v1/users?q=township02", admin, nil).JSON(t, &page)
				wantError(t, s.Do(t, "GET", "/api/v1/users/"+page.Items[0].ID, town1, nil), 403, "auth.out_of_scope")
				wantError(t, s.Do(t, "PATCH", "/api/v1/users/"+page.Items[0].ID, town1, map[string]any{"disabled": true}), 403, "auth.out_of_scope")
				r := s.Do(t, "GET", "/api/v1/audit?result=denied&object_id="+page.Items[0].ID, admin, nil)
				if r.Map(t)["total"].(float64) < 2 {
					t.Fatalf("refusals not audited: %s", r.Body)
				}
			})
			t.Run("OK_DisableEndsSessions", func(t *testing.T) {
				tok := s.Login(t, "expert01")
				var page struct{ Items []struct{ ID string } }
				s.Do(t, "GET", "/api/v1/users?q=expert01", admin, nil).JSON(t, &page)
				r := s.Do(t, "PATCH", "/api/v1/users/"+page.Items[0].ID, admin, map[string]any{"disabled": true})
				if r.Status != 200 {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				wantError(t, s.Do(t, "GET", "/api/v1/auth/me", tok, nil), 401, "auth.disabled")
				r = s.Do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "expert01", "password": apptest.Password})
				wantError(t, r, 403, "auth.disabled")
			})
			t.Run("ErrNoPermission", func(t *testing.T) {
				grid := s.Login(t, "grid01")
				wantError(t, s.Do(t, "GET", "/api/v1/users", grid, nil), 403, "auth.forbidden")
				wantError(t, s.Do(t, "GET", "/api/v1/audit", grid, nil), 403, "auth.forbidden")
			})
			t.Run("OK_AuditorReadsAudit", func(t *testing.T) {
				aud := s.Login(t, "auditor01")
				r := s.Do(t, "GET", "/api/v1/audit?action=user.create", aud, nil)
				if r.Status != 200 || r.Map(t)["total"].(float64) < 1 {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
			})
		})
	}
}
