package org_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/sqlite"
	"github.com/yingji/yingji/server/store"
	"github.com/yingji/yingji/server/yingji"
)

// auditLog is an Auditor that keeps the events.
type auditLog struct {
	mu     sync.Mutex
	events []yingji.Event
}

func (l *auditLog) Record(_ context.Context, _ *yingji.Actor, e yingji.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *auditLog) last() yingji.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == 0 {
		return yingji.Event{}
	}
	return l.events[len(l.events)-1]
}

// env is a city with one district, townships A and B with a grid each, and an enterprise in
// each township (A's in its grid).
type env struct {
	svc                           *org.Service
	audit                         *auditLog
	city, district, townA, townB  org.Unit
	gridA, gridB                  org.Unit
	entA, entB                    org.Enterprise
	cityAdmin, districtAdmin      *yingji.Actor
	townAdmin, officer, principal *yingji.Actor
}

var now = time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)

func mustOpen(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "yingji.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{audit: &auditLog{}}
	e.svc = org.NewService(store.New(db), e.audit)
	e.svc.Now = func() time.Time { return now }
	sys := yingji.System
	unit := func(parent *org.Unit, level org.Level, code, name string) org.Unit {
		t.Helper()
		u := org.Unit{Level: level, Code: code, Name: name}
		if parent != nil {
			u.ParentID = parent.ID
		}
		got, err := e.svc.CreateUnit(ctx, sys, u)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return got
	}
	e.city = unit(nil, org.LevelCity, "330100", "杭州市")
	e.district = unit(&e.city, org.LevelDistrict, "330102", "上城区")
	e.townA = unit(&e.district, org.LevelTownship, "330102001", "清波街道")
	e.townB = unit(&e.district, org.LevelTownship, "330102002", "湖滨街道")
	e.gridA = unit(&e.townA, org.LevelGrid, "A01", "清波一网格")
	e.gridB = unit(&e.townB, org.LevelGrid, "B01", "湖滨一网格")
	if e.entA, err = e.svc.CreateEnterprise(ctx, sys, org.Enterprise{Name: "清波化工有限公司", CreditCode: "91330106MA27XL0E27",
		TownshipID: e.townA.ID, GridID: e.gridA.ID, HazardousChemicals: true}); err != nil {
		t.Fatal(err)
	}
	if e.entB, err = e.svc.CreateEnterprise(ctx, sys, org.Enterprise{Name: "湖滨食品有限公司", CreditCode: "91330110MA2CFXHW83",
		TownshipID: e.townB.ID}); err != nil {
		t.Fatal(err)
	}
	e.cityAdmin = &yingji.Actor{UserID: "u-city", Role: yingji.RoleCityAdmin, OrgPath: e.city.Path, OrgUnitID: e.city.ID}
	e.districtAdmin = &yingji.Actor{UserID: "u-district", Role: yingji.RoleDistrictAdmin, OrgPath: e.district.Path, OrgUnitID: e.district.ID}
	e.townAdmin = &yingji.Actor{UserID: "u-town-a", Role: yingji.RoleTownshipAdmin, OrgPath: e.townA.Path, OrgUnitID: e.townA.ID}
	e.officer = &yingji.Actor{UserID: "u-officer", Role: yingji.RoleSafetyOfficer, OrgPath: e.entA.OrgPath, EnterpriseID: e.entA.ID}
	e.principal = &yingji.Actor{UserID: "u-principal", Role: yingji.RoleEnterprisePrincipal, OrgPath: e.entA.OrgPath, EnterpriseID: e.entA.ID}
	return e
}

// wantErr fails unless err is a coded error of kind and code.
func wantErr(t *testing.T, err error, kind, code string) *yingji.Error {
	t.Helper()
	var ye *yingji.Error
	if !errors.As(err, &ye) || ye.Kind != kind || ye.Code != code {
		t.Fatalf("err = %v, want %s/%s", err, kind, code)
	}
	return ye
}

// wantDenied fails unless err is an out-of-scope refusal that was audited as denied.
func (e *env) wantDenied(t *testing.T, err error, action, objectID string) {
	t.Helper()
	wantErr(t, err, yingji.EFORBIDDEN, "auth.out_of_scope")
	ev := e.audit.last()
	if ev.Result != "denied" || ev.Action != action || ev.ObjectID != objectID {
		t.Fatalf("audit = %+v, want %s denied on %s", ev, action, objectID)
	}
}

func TestEnterpriseScope(t *testing.T) {
	ctx := context.Background()

	t.Run("ErrTownshipReadsOtherTownship", func(t *testing.T) {
		e := mustOpen(t)
		_, err := e.svc.GetEnterprise(ctx, e.townAdmin, e.entB.ID)
		e.wantDenied(t, err, "enterprise.read", e.entB.ID)
		_, err = e.svc.ListContacts(ctx, e.townAdmin, e.entB.ID)
		e.wantDenied(t, err, "contact.list", e.entB.ID)
		page, err := e.svc.ListEnterprises(ctx, e.townAdmin, org.EnterpriseFilter{}, yingji.ListParams{})
		if err != nil || page.Total != 1 || page.Items[0].ID != e.entA.ID {
			t.Fatalf("township A lists %+v %v", page, err)
		}
		page, _ = e.svc.ListEnterprises(ctx, e.townAdmin, org.EnterpriseFilter{TownshipID: e.townB.ID}, yingji.ListParams{})
		if page.Total != 0 {
			t.Fatalf("filter by township B leaked %+v", page.Items)
		}
	})

	t.Run("ErrTownshipUpdatesOtherTownship", func(t *testing.T) {
		e := mustOpen(t)
		in := e.entB
		in.Name = "改名"
		_, err := e.svc.UpdateEnterprise(ctx, e.townAdmin, e.entB.ID, in)
		e.wantDenied(t, err, "enterprise.update", e.entB.ID)
		err = e.svc.DeleteEnterprise(ctx, e.townAdmin, e.entB.ID)
		e.wantDenied(t, err, "enterprise.delete", e.entB.ID)
		got, _ := e.svc.GetEnterpriseSystem(ctx, e.entB.ID)
		if got.Name != e.entB.Name {
			t.Fatalf("changed anyway: %q", got.Name)
		}
		// Nor may he move his own enterprise to township B, or create one there.
		in = e.entA
		in.TownshipID, in.GridID = e.townB.ID, ""
		_, err = e.svc.UpdateEnterprise(ctx, e.townAdmin, e.entA.ID, in)
		e.wantDenied(t, err, "enterprise.update", e.entA.ID)
		_, err = e.svc.CreateEnterprise(ctx, e.townAdmin, org.Enterprise{Name: "新企业", CreditCode: "92330106MA28UBQ01W", TownshipID: e.townB.ID})
		wantErr(t, err, yingji.EFORBIDDEN, "auth.out_of_scope")
	})

	t.Run("OK_TownshipUpdatesOwn", func(t *testing.T) {
		e := mustOpen(t)
		in := e.entA
		in.Name, in.GridID = "清波化工股份有限公司", ""
		in.Lat, in.Lng = ptr(30.2431), ptr(120.1686)
		got, err := e.svc.UpdateEnterprise(ctx, e.townAdmin, e.entA.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if got.OrgPath != e.townA.Path || len(got.Cell) != org.CellZoom || got.UpdatedAt != now {
			t.Fatalf("derived fields: %+v", got)
		}
		ev := e.audit.last()
		d, _ := ev.Detail.(map[string]org.Change)
		if ev.Action != "enterprise.update" || ev.Result != "ok" || ev.ObjectID != e.entA.ID ||
			d["name"] != (org.Change{Before: e.entA.Name, After: in.Name}) || d["grid_id"].Before != e.gridA.ID || d["lat"].After != 30.2431 {
			t.Fatalf("audit %+v", ev)
		}
		if _, ok := d["credit_code"]; ok {
			t.Fatalf("unchanged field in detail: %+v", d)
		}
	})

	t.Run("OK_SafetyOfficerSeesOnlyHisEnterprise", func(t *testing.T) {
		e := mustOpen(t)
		page, err := e.svc.ListEnterprises(ctx, e.officer, org.EnterpriseFilter{}, yingji.ListParams{})
		if err != nil || page.Total != 1 || len(page.Items) != 1 || page.Items[0].ID != e.entA.ID {
			t.Fatalf("officer lists %+v %v", page, err)
		}
		if _, err := e.svc.GetEnterprise(ctx, e.officer, e.entA.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.GetEnterprise(ctx, e.officer, e.entB.ID)
		e.wantDenied(t, err, "enterprise.read", e.entB.ID)
		// An enterprise actor without an enterprise reads nothing.
		lost := &yingji.Actor{Role: yingji.RoleSafetyOfficer, OrgPath: e.townA.Path}
		if page, _ := e.svc.ListEnterprises(ctx, lost, org.EnterpriseFilter{}, yingji.ListParams{}); page.Total != 0 {
			t.Fatalf("no enterprise, yet lists %+v", page.Items)
		}
	})

	t.Run("OK_SafetyOfficerEditsOwnContacts", func(t *testing.T) {
		e := mustOpen(t)
		c, err := e.svc.CreateContact(ctx, e.officer, org.Contact{EnterpriseID: e.entA.ID, Name: "张三", Title: "安全主管", Phone: "13800138000", IsPrimary: true})
		if err != nil {
			t.Fatal(err)
		}
		if ev := e.audit.last(); ev.Action != "contact.create" || ev.Result != "ok" || ev.ObjectID != c.ID {
			t.Fatalf("audit %+v", ev)
		}
		c.Phone = "0571-88888888"
		if c, err = e.svc.UpdateContact(ctx, e.principal, c.ID, c); err != nil || c.Phone != "0571-88888888" {
			t.Fatalf("update: %+v %v", c, err)
		}
		if ev := e.audit.last(); ev.Detail.(map[string]org.Change)["phone"].After != "0571-88888888" {
			t.Fatalf("audit %+v", ev)
		}
		got, err := e.svc.GetEnterprise(ctx, e.officer, e.entA.ID)
		if err != nil || len(got.Contacts) != 1 || got.Contacts[0].Name != "张三" {
			t.Fatalf("enterprise with contacts: %+v %v", got, err)
		}
		if err := e.svc.DeleteContact(ctx, e.officer, c.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.UpdateContact(ctx, e.officer, c.ID, c)
		wantErr(t, err, yingji.ENOTFOUND, "contact.not_found")
	})

	t.Run("ErrSafetyOfficerOtherEnterprisesContacts", func(t *testing.T) {
		e := mustOpen(t)
		cb, err := e.svc.CreateContact(ctx, e.townAdmin, org.Contact{EnterpriseID: e.entA.ID, Name: "李四", Phone: "13900139000"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := e.svc.CreateContact(ctx, yingji.System, org.Contact{EnterpriseID: e.entB.ID, Name: "王五", Phone: "13700137000"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.CreateContact(ctx, e.officer, org.Contact{EnterpriseID: e.entB.ID, Name: "赵六", Phone: "13600136000"})
		e.wantDenied(t, err, "contact.create", e.entB.ID)
		_, err = e.svc.UpdateContact(ctx, e.officer, other.ID, other)
		e.wantDenied(t, err, "contact.update", e.entB.ID)
		err = e.svc.DeleteContact(ctx, e.officer, other.ID)
		e.wantDenied(t, err, "contact.delete", e.entB.ID)
		_, err = e.svc.ListContacts(ctx, e.officer, e.entB.ID)
		e.wantDenied(t, err, "contact.list", e.entB.ID)
		// Nor move his own contact to another enterprise.
		cb.EnterpriseID = e.entB.ID
		_, err = e.svc.UpdateContact(ctx, e.officer, cb.ID, cb)
		wantErr(t, err, yingji.EINVALID, "contact.move")
	})

	t.Run("ErrSafetyOfficerCannotEditEnterprise", func(t *testing.T) {
		e := mustOpen(t)
		in := e.entA
		in.Name = "改名"
		_, err := e.svc.UpdateEnterprise(ctx, e.officer, e.entA.ID, in)
		wantErr(t, err, yingji.EFORBIDDEN, "auth.forbidden")
		if ev := e.audit.last(); ev.Result != "denied" || ev.Action != "enterprise.update" {
			t.Fatalf("audit %+v", ev)
		}
		err = e.svc.DeleteEnterprise(ctx, e.principal, e.entA.ID)
		wantErr(t, err, yingji.EFORBIDDEN, "auth.forbidden")
		_, err = e.svc.CreateEnterprise(ctx, e.officer, org.Enterprise{Name: "x", CreditCode: "92330106MA28UBQ01W", TownshipID: e.townA.ID})
		wantErr(t, err, yingji.EFORBIDDEN, "auth.forbidden")
	})

	t.Run("ErrGridWorkerCannotEditContacts", func(t *testing.T) {
		e := mustOpen(t)
		gw := &yingji.Actor{Role: yingji.RoleGridWorker, OrgPath: e.gridA.Path}
		if _, err := e.svc.GetEnterprise(ctx, gw, e.entA.ID); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.CreateContact(ctx, gw, org.Contact{EnterpriseID: e.entA.ID, Name: "x", Phone: "13800138000"})
		wantErr(t, err, yingji.EFORBIDDEN, "auth.forbidden")
	})
}

func ptr(f float64) *float64 { return &f }

func TestEnterpriseValidation(t *testing.T) {
	ctx := context.Background()
	e := mustOpen(t)
	base := func() org.Enterprise {
		return org.Enterprise{Name: "测试企业", CreditCode: "92330106MA28UBQ01W", TownshipID: e.townA.ID}
	}
	for _, tc := range []struct {
		name       string
		edit       func(*org.Enterprise)
		kind, code string
		msg        string
	}{
		{"ErrCreditCodeCheck", func(x *org.Enterprise) { x.CreditCode = "92330106MA28UBQ01P" }, yingji.EINVALID, "enterprise.bad_credit_code", "第 18 位应为“W”"},
		{"ErrCreditCodeChar", func(x *org.Enterprise) { x.CreditCode = "92330106MA28UBQ0IW" }, yingji.EINVALID, "enterprise.bad_credit_code", "“I”不是允许的字符"},
		{"ErrCreditCodeLength", func(x *org.Enterprise) { x.CreditCode = "9233010" }, yingji.EINVALID, "enterprise.bad_credit_code", "应为 18 位"},
		{"ErrDuplicateCreditCode", func(x *org.Enterprise) { x.CreditCode = strings.ToLower(e.entA.CreditCode) }, yingji.ECONFLICT, "enterprise.duplicate_credit_code", "已被其他企业使用"},
		{"ErrGridOfOtherTownship", func(x *org.Enterprise) { x.GridID = e.gridB.ID }, yingji.EINVALID, "enterprise.bad_grid", "不属于"},
		{"ErrGridIsTownship", func(x *org.Enterprise) { x.GridID = e.townB.ID }, yingji.EINVALID, "enterprise.bad_grid", "不属于"},
		{"ErrTownshipIsDistrict", func(x *org.Enterprise) { x.TownshipID = e.district.ID }, yingji.EINVALID, "enterprise.bad_township", "不是乡镇"},
		{"ErrTownshipMissing", func(x *org.Enterprise) { x.TownshipID = "nope" }, yingji.EINVALID, "enterprise.township_not_found", "不存在"},
		{"ErrGridMissing", func(x *org.Enterprise) { x.GridID = "nope" }, yingji.EINVALID, "enterprise.grid_not_found", "不存在"},
		{"ErrLatWithoutLng", func(x *org.Enterprise) { x.Lat = ptr(30) }, yingji.EINVALID, "enterprise.bad_location", "同时"},
		{"ErrLatRange", func(x *org.Enterprise) { x.Lat, x.Lng = ptr(91), ptr(120) }, yingji.EINVALID, "enterprise.bad_location", "纬度"},
		{"ErrOutsideChina", func(x *org.Enterprise) { x.Lat, x.Lng = ptr(120.1), ptr(30.2) }, yingji.EINVALID, "enterprise.bad_location", "纬度"},
		{"ErrOutsideChinaInRange", func(x *org.Enterprise) { x.Lat, x.Lng = ptr(48.85), ptr(2.35) }, yingji.EINVALID, "enterprise.bad_location", "不在中国境内"},
		{"ErrPhone", func(x *org.Enterprise) { x.Phone = "12345" }, yingji.EINVALID, "enterprise.bad_phone", "电话"},
		{"ErrName", func(x *org.Enterprise) { x.Name = "  " }, yingji.EINVALID, "enterprise.bad_name", "名称"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.edit(&in)
			_, err := e.svc.CreateEnterprise(ctx, e.townAdmin, in)
			if ye := wantErr(t, err, tc.kind, tc.code); !strings.Contains(ye.Message, tc.msg) {
				t.Fatalf("message %q lacks %q", ye.Message, tc.msg)
			}
		})
	}
	t.Run("OK_LowerCaseCodeAndGrid", func(t *testing.T) {
		in := base()
		in.CreditCode, in.GridID = " 92330106ma28ubq01w ", e.gridA.ID
		in.Lat, in.Lng = ptr(30.2431), ptr(120.1686)
		got, err := e.svc.CreateEnterprise(ctx, e.townAdmin, in)
		if err != nil {
			t.Fatal(err)
		}
		if got.CreditCode != "92330106MA28UBQ01W" || got.OrgPath != e.gridA.Path || got.Cell != org.CellOf(30.2431, 120.1686) {
			t.Fatalf("got %+v", got)
		}
		if ev := e.audit.last(); ev.Action != "enterprise.create" || ev.Result != "ok" || ev.ObjectID != got.ID {
			t.Fatalf("audit %+v", ev)
		}
		_, err = e.svc.UpdateEnterprise(ctx, e.townAdmin, got.ID, func() org.Enterprise { x := got; x.CreditCode = e.entA.CreditCode; return x }())
		wantErr(t, err, yingji.ECONFLICT, "enterprise.duplicate_credit_code")
	})
	t.Run("ErrContactPhone", func(t *testing.T) {
		_, err := e.svc.CreateContact(ctx, e.officer, org.Contact{EnterpriseID: e.entA.ID, Name: "张三", Phone: "2381234"})
		wantErr(t, err, yingji.EINVALID, "contact.bad_phone")
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := e.svc.GetEnterprise(ctx, e.cityAdmin, "nope")
		wantErr(t, err, yingji.ENOTFOUND, "enterprise.not_found")
		_, err = e.svc.CreateContact(ctx, e.cityAdmin, org.Contact{EnterpriseID: "nope", Name: "x", Phone: "13800138000"})
		wantErr(t, err, yingji.ENOTFOUND, "enterprise.not_found")
		err = e.svc.DeleteEnterprise(ctx, e.cityAdmin, "nope")
		if !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("not found is not ErrNotFound: %v", err)
		}
	})
}

func TestUnits(t *testing.T) {
	ctx := context.Background()

	t.Run("OK_ReadSubtreeAndAncestors", func(t *testing.T) {
		e := mustOpen(t)
		us, err := e.svc.ListUnits(ctx, e.townAdmin, org.UnitFilter{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, u := range us {
			got[u.ID] = true
		}
		if len(us) != 4 || !got[e.city.ID] || !got[e.district.ID] || !got[e.townA.ID] || !got[e.gridA.ID] {
			t.Fatalf("township A reads %+v", us)
		}
		if _, err := e.svc.GetUnit(ctx, e.townAdmin, e.city.ID); err != nil {
			t.Fatalf("ancestor: %v", err)
		}
		_, err = e.svc.GetUnit(ctx, e.townAdmin, e.gridB.ID)
		e.wantDenied(t, err, "org_unit.read", e.gridB.ID)
		_, err = e.svc.GetUnit(ctx, e.townAdmin, "nope")
		wantErr(t, err, yingji.ENOTFOUND, "org.unit_not_found")
	})

	t.Run("OK_WriteStrictlyInside", func(t *testing.T) {
		e := mustOpen(t)
		g, err := e.svc.CreateUnit(ctx, e.townAdmin, org.Unit{ParentID: e.townA.ID, Level: org.LevelGrid, Code: "A02", Name: "清波二网格"})
		if err != nil {
			t.Fatal(err)
		}
		if g.Path != e.townA.Path+g.ID+"/" || g.CreatedAt != now {
			t.Fatalf("created %+v", g)
		}
		if ev := e.audit.last(); ev.Action != "org_unit.create" || ev.ObjectID != g.ID || ev.Result != "ok" {
			t.Fatalf("audit %+v", ev)
		}
		g.Name = "清波第二网格"
		if g, err = e.svc.UpdateUnit(ctx, e.townAdmin, g.ID, g); err != nil || g.Name != "清波第二网格" {
			t.Fatalf("update own grid: %+v %v", g, err)
		}
		// Not his own township, nor anything in township B.
		in := e.townA
		in.Name = "改名"
		_, err = e.svc.UpdateUnit(ctx, e.townAdmin, e.townA.ID, in)
		e.wantDenied(t, err, "org_unit.update", e.townA.ID)
		_, err = e.svc.CreateUnit(ctx, e.townAdmin, org.Unit{ParentID: e.townB.ID, Level: org.LevelGrid, Code: "B02", Name: "湖滨二网格"})
		wantErr(t, err, yingji.EFORBIDDEN, "auth.out_of_scope")
		err = e.svc.DeleteUnit(ctx, e.townAdmin, e.gridB.ID)
		e.wantDenied(t, err, "org_unit.delete", e.gridB.ID)
		// The district admin may rename township A; the city admin his own city, unlike the
		// district admin his own district.
		if _, err := e.svc.UpdateUnit(ctx, e.districtAdmin, e.townA.ID, in); err != nil {
			t.Fatal(err)
		}
		c := e.city
		c.Name = "杭州市（测试）"
		if _, err := e.svc.UpdateUnit(ctx, e.cityAdmin, e.city.ID, c); err != nil {
			t.Fatal(err)
		}
		d := e.district
		d.Name = "改名"
		_, err = e.svc.UpdateUnit(ctx, e.districtAdmin, e.district.ID, d)
		wantErr(t, err, yingji.EFORBIDDEN, "auth.out_of_scope")
		// Grid workers hold no org:write.
		gw := &yingji.Actor{Role: yingji.RoleGridWorker, OrgPath: e.townA.Path}
		_, err = e.svc.CreateUnit(ctx, gw, org.Unit{ParentID: e.townA.ID, Level: org.LevelGrid, Code: "A03", Name: "x"})
		wantErr(t, err, yingji.EFORBIDDEN, "auth.forbidden")
	})

	t.Run("ErrCodes", func(t *testing.T) {
		e := mustOpen(t)
		for _, tc := range []struct {
			name string
			u    org.Unit
			code string
		}{
			{"district of another city", org.Unit{ParentID: e.city.ID, Level: org.LevelDistrict, Code: "330206", Name: "x"}, "org.bad_code"},
			{"district ending 00", org.Unit{ParentID: e.city.ID, Level: org.LevelDistrict, Code: "330100", Name: "x"}, "org.bad_code"},
			{"township of another district", org.Unit{ParentID: e.district.ID, Level: org.LevelTownship, Code: "330105001", Name: "x"}, "org.bad_code"},
			{"township with 6 digits", org.Unit{ParentID: e.district.ID, Level: org.LevelTownship, Code: "330102", Name: "x"}, "org.bad_code"},
			{"grid code characters", org.Unit{ParentID: e.townA.ID, Level: org.LevelGrid, Code: "A 1", Name: "x"}, "org.bad_code"},
			{"grid code too long", org.Unit{ParentID: e.townA.ID, Level: org.LevelGrid, Code: strings.Repeat("A", 21), Name: "x"}, "org.bad_code"},
			{"township under the city", org.Unit{ParentID: e.city.ID, Level: org.LevelTownship, Code: "330100001", Name: "x"}, "org.bad_parent"},
			{"grid under a district", org.Unit{ParentID: e.district.ID, Level: org.LevelGrid, Code: "A1", Name: "x"}, "org.bad_parent"},
			{"missing parent", org.Unit{ParentID: "nope", Level: org.LevelGrid, Code: "A1", Name: "x"}, "org.parent_not_found"},
			{"unknown level", org.Unit{ParentID: e.townA.ID, Level: "village", Code: "A1", Name: "x"}, "org.bad_level"},
		} {
			_, err := e.svc.CreateUnit(ctx, e.cityAdmin, tc.u)
			if yingji.ErrorKind(err) != yingji.EINVALID || yingji.ErrorCode(err) != tc.code {
				t.Errorf("%s: err = %v, want %s", tc.name, err, tc.code)
			}
		}
		_, err := e.svc.CreateUnit(ctx, e.cityAdmin, org.Unit{ParentID: e.district.ID, Level: org.LevelTownship, Code: "330102002", Name: "重复"})
		wantErr(t, err, yingji.ECONFLICT, "org.duplicate_code")
		_, err = e.svc.CreateUnit(ctx, e.cityAdmin, org.Unit{ParentID: e.townA.ID, Level: org.LevelGrid, Code: "A01", Name: "重复"})
		wantErr(t, err, yingji.ECONFLICT, "org.duplicate_code")
		if _, err := e.svc.CreateUnit(ctx, e.cityAdmin, org.Unit{ParentID: e.townB.ID, Level: org.LevelGrid, Code: "A01", Name: "别处的 A01"}); err != nil {
			t.Fatalf("same grid code in another township: %v", err)
		}
		in := e.district
		in.ParentID = e.townA.ID
		_, err = e.svc.UpdateUnit(ctx, e.cityAdmin, e.district.ID, in)
		wantErr(t, err, yingji.EINVALID, "org.unit_move")
		in = e.district
		in.Code = "330103"
		_, err = e.svc.UpdateUnit(ctx, e.cityAdmin, e.district.ID, in)
		wantErr(t, err, yingji.ECONFLICT, "org.code_in_use")
	})

	t.Run("ErrDeleteInUse", func(t *testing.T) {
		e := mustOpen(t)
		err := e.svc.DeleteUnit(ctx, e.districtAdmin, e.townA.ID)
		ye := wantErr(t, err, yingji.ECONFLICT, "org.unit_in_use")
		if !strings.Contains(ye.Message, "1 个下级单位") || !strings.Contains(ye.Message, "1 家企业") {
			t.Fatalf("message %q", ye.Message)
		}
		err = e.svc.DeleteUnit(ctx, e.districtAdmin, e.gridA.ID)
		wantErr(t, err, yingji.ECONFLICT, "org.unit_in_use")
		if err := e.svc.DeleteEnterprise(ctx, e.districtAdmin, e.entA.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.DeleteUnit(ctx, e.districtAdmin, e.gridA.ID); err != nil {
			t.Fatal(err)
		}
		if ev := e.audit.last(); ev.Action != "org_unit.delete" || ev.Result != "ok" {
			t.Fatalf("audit %+v", ev)
		}
		_, err = e.svc.GetUnit(ctx, e.districtAdmin, e.gridA.ID)
		wantErr(t, err, yingji.ENOTFOUND, "org.unit_not_found")
	})
}

func TestImport(t *testing.T) {
	ctx := context.Background()

	t.Run("OK_UnitsWithParentsInBatch", func(t *testing.T) {
		e := mustOpen(t)
		tc := yingji.NewID()
		err := e.svc.ImportUnits(ctx, e.districtAdmin, []org.Unit{
			{ID: tc, ParentID: e.district.ID, Level: org.LevelTownship, Code: "330102003", Name: "小营街道"},
			{ParentID: tc, Level: org.LevelGrid, Code: "C01", Name: "小营一网格"},
			{ParentID: e.townA.ID, Level: org.LevelGrid, Code: "A02", Name: "清波二网格"},
		})
		if err != nil {
			t.Fatal(err)
		}
		us, _ := e.svc.ListUnits(ctx, e.districtAdmin, org.UnitFilter{Level: org.LevelGrid})
		if len(us) != 4 {
			t.Fatalf("grids after import: %+v", us)
		}
		if ev := e.audit.last(); ev.Action != "org_unit.import" || ev.Result != "ok" || ev.Detail.(map[string]any)["count"] != 3 {
			t.Fatalf("audit %+v", ev)
		}
	})

	t.Run("ErrUnitRowOutOfScope", func(t *testing.T) {
		e := mustOpen(t)
		err := e.svc.ImportUnits(ctx, e.townAdmin, []org.Unit{
			{ParentID: e.townA.ID, Level: org.LevelGrid, Code: "A02", Name: "清波二网格"},
			{ParentID: e.townB.ID, Level: org.LevelGrid, Code: "B02", Name: "湖滨二网格"},
		})
		ye := wantErr(t, err, yingji.EFORBIDDEN, "auth.out_of_scope")
		if ye.Data.(map[string]any)["index"] != 1 || !strings.HasPrefix(ye.Message, "第 2 条") {
			t.Fatalf("error %+v", ye)
		}
		if ev := e.audit.last(); ev.Result != "denied" || ev.Action != "org_unit.import" {
			t.Fatalf("audit %+v", ev)
		}
		us, _ := e.svc.ListUnits(ctx, e.townAdmin, org.UnitFilter{Code: "A02"})
		if len(us) != 0 {
			t.Fatalf("row 0 was inserted: %+v", us)
		}
	})

	t.Run("ErrUnitDuplicateRollsBack", func(t *testing.T) {
		e := mustOpen(t)
		err := e.svc.ImportUnits(ctx, e.townAdmin, []org.Unit{
			{ParentID: e.townA.ID, Level: org.LevelGrid, Code: "A02", Name: "清波二网格"},
			{ParentID: e.townA.ID, Level: org.LevelGrid, Code: "A01", Name: "重复"},
		})
		ye := wantErr(t, err, yingji.ECONFLICT, "org.duplicate_code")
		if ye.Data.(map[string]any)["index"] != 1 {
			t.Fatalf("error %+v", ye)
		}
		if us, _ := e.svc.ListUnits(ctx, e.townAdmin, org.UnitFilter{Code: "A02"}); len(us) != 0 {
			t.Fatalf("row 0 was inserted: %+v", us)
		}
	})

	t.Run("OK_Enterprises", func(t *testing.T) {
		e := mustOpen(t)
		err := e.svc.ImportEnterprises(ctx, e.townAdmin, []org.Enterprise{
			{Name: "甲", CreditCode: "92330106ma28ubq01w", TownshipID: e.townA.ID},
			{Name: "乙", CreditCode: "52330108MJ9A1B2C3B", TownshipID: e.townA.ID, GridID: e.gridA.ID},
		})
		if err != nil {
			t.Fatal(err)
		}
		page, _ := e.svc.ListEnterprises(ctx, e.townAdmin, org.EnterpriseFilter{}, yingji.ListParams{})
		if page.Total != 3 {
			t.Fatalf("after import: %+v", page)
		}
	})

	t.Run("ErrEnterpriseRows", func(t *testing.T) {
		e := mustOpen(t)
		good := org.Enterprise{Name: "甲", CreditCode: "92330106MA28UBQ01W", TownshipID: e.townA.ID}
		for _, tc := range []struct {
			name       string
			bad        org.Enterprise
			kind, code string
		}{
			{"out of scope", org.Enterprise{Name: "乙", CreditCode: "52330108MJ9A1B2C3B", TownshipID: e.townB.ID}, yingji.EFORBIDDEN, "auth.out_of_scope"},
			{"existing credit code", org.Enterprise{Name: "乙", CreditCode: e.entA.CreditCode, TownshipID: e.townA.ID}, yingji.ECONFLICT, "enterprise.duplicate_credit_code"},
			{"credit code twice", org.Enterprise{Name: "乙", CreditCode: good.CreditCode, TownshipID: e.townA.ID}, yingji.ECONFLICT, "enterprise.duplicate_credit_code"},
			{"bad credit code", org.Enterprise{Name: "乙", CreditCode: "52330108MJ9A1B2C3C", TownshipID: e.townA.ID}, yingji.EINVALID, "enterprise.bad_credit_code"},
			{"grid of another township", org.Enterprise{Name: "乙", CreditCode: "52330108MJ9A1B2C3B", TownshipID: e.townA.ID, GridID: e.gridB.ID}, yingji.EINVALID, "enterprise.bad_grid"},
		} {
			err := e.svc.ImportEnterprises(ctx, e.townAdmin, []org.Enterprise{good, tc.bad})
			var ye *yingji.Error
			if !errors.As(err, &ye) || ye.Kind != tc.kind || ye.Code != tc.code || ye.Data.(map[string]any)["index"] != 1 {
				t.Errorf("%s: err = %v (%+v)", tc.name, err, ye)
			}
		}
		page, _ := e.svc.ListEnterprises(ctx, e.townAdmin, org.EnterpriseFilter{}, yingji.ListParams{})
		if page.Total != 1 {
			t.Fatalf("a failed import left rows: %+v", page.Items)
		}
	})
}

func TestTeamsAndPaths(t *testing.T) {
	ctx := context.Background()
	e := mustOpen(t)
	cityTeam, err := e.svc.CreateTeam(ctx, e.cityAdmin, org.Team{Name: "市综合救援队", Kind: "综合救援", OrgUnitID: e.city.ID})
	if err != nil {
		t.Fatal(err)
	}
	teamA, err := e.svc.CreateTeam(ctx, e.townAdmin, org.Team{Name: "清波应急分队", OrgUnitID: e.townA.ID})
	if err != nil {
		t.Fatal(err)
	}
	teamB, err := e.svc.CreateTeam(ctx, e.cityAdmin, org.Team{Name: "湖滨应急分队", OrgUnitID: e.townB.ID})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK_TeamScope", func(t *testing.T) {
		if _, err := e.svc.GetTeam(ctx, e.townAdmin, cityTeam.ID); err != nil {
			t.Fatalf("a team above him: %v", err)
		}
		_, err := e.svc.GetTeam(ctx, e.townAdmin, teamB.ID)
		e.wantDenied(t, err, "team.read", teamB.ID)
		ts, err := e.svc.ListTeams(ctx, e.townAdmin, org.TeamFilter{})
		if err != nil || len(ts) != 2 {
			t.Fatalf("township A's teams: %+v %v", ts, err)
		}
		_, err = e.svc.CreateTeam(ctx, e.townAdmin, org.Team{Name: "越权队", OrgUnitID: e.townB.ID})
		wantErr(t, err, yingji.EFORBIDDEN, "auth.out_of_scope")
		member := &yingji.Actor{Role: yingji.RoleRescueMember, OrgPath: teamA.OrgPath, TeamID: teamA.ID}
		if _, err := e.svc.GetTeam(ctx, member, teamA.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("OK_SystemPaths", func(t *testing.T) {
		path, level, err := e.svc.UnitPath(ctx, e.gridA.ID)
		if err != nil || path != e.gridA.Path || level != "grid" {
			t.Fatalf("unit path %q %q %v", path, level, err)
		}
		if p, err := e.svc.EnterprisePath(ctx, e.entA.ID); err != nil || p != e.gridA.Path {
			t.Fatalf("enterprise path %q %v", p, err)
		}
		if p, err := e.svc.TeamPath(ctx, teamA.ID); err != nil || p != e.townA.Path {
			t.Fatalf("team path %q %v", p, err)
		}
		if _, _, err := e.svc.UnitPath(ctx, "nope"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("missing unit: %v", err)
		}
		if _, err := e.svc.EnterprisePath(ctx, "nope"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("missing enterprise: %v", err)
		}
		if _, err := e.svc.TeamPath(ctx, "nope"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("missing team: %v", err)
		}
		if u, err := e.svc.GetUnitSystem(ctx, e.townB.ID); err != nil || u.Code != "330102002" {
			t.Fatalf("unit %+v %v", u, err)
		}
		if _, err := e.svc.GetEnterpriseSystem(ctx, "nope"); yingji.ErrorCode(err) != "enterprise.not_found" {
			t.Fatalf("missing enterprise: %v", err)
		}
	})
}
