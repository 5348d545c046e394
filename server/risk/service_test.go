package risk_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/risk"
	"github.com/yingji/yingji/server/risk/qrtoken"
	"github.com/yingji/yingji/server/sqlite"
	"github.com/yingji/yingji/server/store"
	"github.com/yingji/yingji/server/yingji"
)

type auditLog struct {
	mu     sync.Mutex
	events []yingji.Event
}

func (l *auditLog) Record(_ context.Context, _ *yingji.Actor, e yingji.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *auditLog) has(action, result string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if e.Action == action && e.Result == result {
			return true
		}
	}
	return false
}

// env: townships A and B with an enterprise each; admins and officers of each.
type env struct {
	svc                    *risk.Service
	audit                  *auditLog
	entA, entB             org.Enterprise
	townAdminA, townAdminB *yingji.Actor
	officerA, officerB     *yingji.Actor
	gridA                  *yingji.Actor
}

func mustOpen(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "yingji.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := store.New(db)
	os := org.NewService(st, nil)
	unit := func(parent *org.Unit, level org.Level, code, name string) org.Unit {
		t.Helper()
		u := org.Unit{Level: level, Code: code, Name: name}
		if parent != nil {
			u.ParentID = parent.ID
		}
		got, err := os.CreateUnit(ctx, yingji.System, u)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	city := unit(nil, org.LevelCity, "330100", "杭州市")
	district := unit(&city, org.LevelDistrict, "330102", "上城区")
	townA := unit(&district, org.LevelTownship, "330102001", "清波街道")
	townB := unit(&district, org.LevelTownship, "330102002", "湖滨街道")
	e := &env{audit: &auditLog{}}
	if e.entA, err = os.CreateEnterprise(ctx, yingji.System, org.Enterprise{Name: "清波化工有限公司", CreditCode: "91330106MA27XL0E27", TownshipID: townA.ID}); err != nil {
		t.Fatal(err)
	}
	if e.entB, err = os.CreateEnterprise(ctx, yingji.System, org.Enterprise{Name: "湖滨食品有限公司", CreditCode: "91330110MA2CFXHW83", TownshipID: townB.ID}); err != nil {
		t.Fatal(err)
	}
	e.svc = risk.NewService(st, e.audit)
	if err := e.svc.Open(ctx); err != nil {
		t.Fatal(err)
	}
	e.townAdminA = &yingji.Actor{UserID: "ta", Role: yingji.RoleTownshipAdmin, OrgPath: townA.Path}
	e.townAdminB = &yingji.Actor{UserID: "tb", Role: yingji.RoleTownshipAdmin, OrgPath: townB.Path}
	e.officerA = &yingji.Actor{UserID: "oa", Role: yingji.RoleSafetyOfficer, OrgPath: e.entA.OrgPath, EnterpriseID: e.entA.ID}
	e.officerB = &yingji.Actor{UserID: "ob", Role: yingji.RoleSafetyOfficer, OrgPath: e.entB.OrgPath, EnterpriseID: e.entB.ID}
	e.gridA = &yingji.Actor{UserID: "ga", Role: yingji.RoleGridWorker, OrgPath: townA.Path}
	return e
}

func point(ent string) risk.RiskPoint {
	return risk.RiskPoint{EnterpriseID: ent, Code: "FX-001", Name: "液氨储罐区", Level: risk.LevelRed,
		AccidentTypes: []string{"火灾", "爆炸"}, Location: &risk.Location{Lat: 30.2, Lng: 120.1},
		Measures: []risk.Measure{{Kind: risk.KindEngineering, Text: "设置可燃气体报警器",
			HazardTemplate: &risk.HazardTemplate{Title: "可燃气体报警器失效"}}}}
}

func wantKind(t *testing.T, err error, kind string) {
	t.Helper()
	if yingji.ErrorKind(err) != kind {
		t.Fatalf("err %v, want kind %s", err, kind)
	}
}

func TestScope(t *testing.T) {
	ctx := context.Background()
	e := mustOpen(t)
	p, err := e.svc.Create(ctx, e.officerA, point(e.entA.ID))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		if p.QRVersion != 1 || p.OrgPath != e.entA.OrgPath || len(p.Measures) != 1 || !yingji.ValidID(p.Measures[0].ID) ||
			p.Measures[0].HazardTemplate.Level != risk.HazardGeneral {
			t.Fatalf("created %+v", p)
		}
		in := p
		in.Name = "一号液氨储罐区"
		in.Measures = append(in.Measures, risk.Measure{Kind: risk.KindPPE, Text: "佩戴防毒面具"})
		up, err := e.svc.Update(ctx, e.townAdminA, p.ID, in)
		if err != nil || up.Measures[0].ID != p.Measures[0].ID || len(up.Measures) != 2 {
			t.Fatalf("update: %+v %v", up, err)
		}
		if _, err := e.svc.Get(ctx, e.gridA, p.ID); err != nil {
			t.Fatalf("grid worker reads: %v", err)
		}
		if !e.audit.has("risk_point.create", "ok") || !e.audit.has("risk_point.update", "ok") {
			t.Fatal("writes not audited")
		}
	})
	t.Run("ErrOtherTownshipAdmin", func(t *testing.T) {
		_, err := e.svc.Update(ctx, e.townAdminB, p.ID, p)
		wantKind(t, err, yingji.EFORBIDDEN)
		_, err = e.svc.Get(ctx, e.townAdminB, p.ID)
		wantKind(t, err, yingji.EFORBIDDEN)
		_, err = e.svc.Create(ctx, e.townAdminB, point(e.entA.ID))
		wantKind(t, err, yingji.EFORBIDDEN)
		if !e.audit.has("risk_point.update", "denied") {
			t.Fatal("refusal not audited")
		}
	})
	t.Run("ErrOtherEnterpriseOfficer", func(t *testing.T) {
		_, err := e.svc.Create(ctx, e.officerB, point(e.entA.ID))
		wantKind(t, err, yingji.EFORBIDDEN)
		_, _, err = e.svc.ReissueQR(ctx, e.officerB, p.ID)
		wantKind(t, err, yingji.EFORBIDDEN)
		err = e.svc.Delete(ctx, e.officerB, p.ID)
		wantKind(t, err, yingji.EFORBIDDEN)
		page, err := e.svc.List(ctx, e.officerB, risk.Filter{}, yingji.ListParams{})
		if err != nil || page.Total != 0 {
			t.Fatalf("officer B lists %d, %v", page.Total, err)
		}
	})
	t.Run("ErrGridWorkerWrites", func(t *testing.T) {
		_, err := e.svc.Create(ctx, e.gridA, point(e.entA.ID))
		wantKind(t, err, yingji.EFORBIDDEN)
	})
	t.Run("ErrDuplicateCode", func(t *testing.T) {
		_, err := e.svc.Create(ctx, e.officerA, point(e.entA.ID))
		wantKind(t, err, yingji.ECONFLICT)
		q := point(e.entB.ID) // same code in another enterprise is fine
		if _, err := e.svc.Create(ctx, e.officerB, q); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, mut := range []func(*risk.RiskPoint){
			func(p *risk.RiskPoint) { p.Level = "purple" },
			func(p *risk.RiskPoint) { p.Code = "has space" },
			func(p *risk.RiskPoint) { p.Measures[0].Kind = "magic" },
			func(p *risk.RiskPoint) { p.Location = &risk.Location{Lat: 120, Lng: 30} },
		} {
			q := point(e.entA.ID)
			q.Code = "X-2"
			mut(&q)
			_, err := e.svc.Create(ctx, e.officerA, q)
			wantKind(t, err, yingji.EINVALID)
		}
	})
	t.Run("Reissue", func(t *testing.T) {
		pub, _ := e.svc.PublicKey()
		cur, _ := e.svc.Get(ctx, e.officerA, p.ID)
		old := e.svc.Token(cur)
		np, tok, err := e.svc.ReissueQR(ctx, e.officerA, p.ID)
		if err != nil || np.QRVersion != cur.QRVersion+1 {
			t.Fatalf("reissue %+v %v", np, err)
		}
		if _, err := qrtoken.Verify(pub, tok, p.ID, np.QRVersion); err != nil {
			t.Fatal(err)
		}
		if _, err := qrtoken.Verify(pub, old, p.ID, np.QRVersion); !errors.Is(err, qrtoken.ErrStale) {
			t.Fatalf("old code after reissue: %v", err)
		}
		if _, err := e.svc.Verify(ctx, e.gridA, old); yingji.ErrorCode(err) != "risk.qr_stale" {
			t.Fatalf("server verify old: %v", err)
		}
		if !e.audit.has("risk_point.qr_reissue", "ok") {
			t.Fatal("reissue not audited")
		}
	})
}
