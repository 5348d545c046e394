// Package e2etasks_test is the responders' part of issue 15 end to end: the real server on
// SQLite and PostgreSQL, real field clients (the yingji-field binary and the SDK) going
// offline and online; tasks, check-ins and scene feedback with photos; the timeline replay
// and its tamper evidence.
//
//	go test -race -count=1 ./mobile-sdk/e2etasks/
package e2etasks_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/yingji/yingji/mobile-sdk/internal/e2etest"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// The shared end-to-end helpers, under this package's names.
var (
	field     = e2etest.Field
	mustField = e2etest.MustField
	want      = e2etest.Want
	sum       = e2etest.Sum
)

func photo(t *testing.T, seed uint64, w, h int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := uint8(rng.IntN(64))
			img.Set(x, y, color.RGBA{uint8(x*255/w) ^ n, uint8(y*255/h) + n, uint8(seed*37) + n, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fixture is an incident with two rescue members of two teams on it.
type fixture struct {
	IncidentID         string
	OrgPath            string
	Rescue1, Rescue2   string // user ids
	Team1, Team2       string
	rescue2Name        string
	occurred, reported time.Time
}

// newIncident makes an incident of the 江南区 through the incidents module and puts rescue01
// and a second rescue member (rescue02, of the other demo team, made here) on it.
func newIncident(t testing.TB, s *apptest.Server) fixture {
	t.Helper()
	ctx := context.Background()
	db := s.DB
	var f fixture
	if err := db.QueryRow(ctx, `SELECT id, team_id FROM users WHERE username = 'rescue01'`).Scan(&f.Rescue1, &f.Team1); err != nil {
		t.Fatal(err)
	}
	var path2 string
	if err := db.QueryRow(ctx, `SELECT t.id, o.path FROM teams t JOIN org_units o ON o.id = t.org_unit_id WHERE t.id <> $1`, f.Team1).Scan(&f.Team2, &path2); err != nil {
		t.Fatal(err)
	}
	f.Rescue2 = yingji.NewID()
	if _, err := db.Exec(ctx, `INSERT INTO users (id, username, name, phone, role, team_id, org_path, password_hash, password_changed_at, created_at, updated_at)
		SELECT $1, 'rescue02', '林队员', '13957119999', role, $2, $3, password_hash, password_changed_at, created_at, updated_at FROM users WHERE username = 'rescue01'`,
		f.Rescue2, f.Team2, path2); err != nil {
		t.Fatal(err)
	}
	var unit string
	if err := db.QueryRow(ctx, `SELECT id, path FROM org_units WHERE code = '339901'`).Scan(&unit, &f.OrgPath); err != nil {
		t.Fatal(err)
	}
	f.IncidentID = yingji.NewID()
	f.occurred = time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	f.reported = f.occurred.Add(5 * time.Minute)
	svc := incident.New(db, s.Sync, nil, nil)
	svc.ScopesChanged = s.Sync.ScopesChanged
	lat, lng := 30.2231, 120.3512
	x := incident.Incident{ID: f.IncidentID, Title: "临港石化储罐区液氯泄漏", Class: "accident", SubType: "危险化学品事故", Grade: "一般",
		Status: incident.StatusResponding, ResponseLevel: 4, Lat: &lat, Lng: &lng, OrgPath: f.OrgPath, OrgUnitID: unit,
		OccurredAt: incident.FormatTime(f.occurred), ReportedAt: incident.FormatTime(f.reported), ReceivedAt: incident.FormatTime(f.reported),
		Source: incident.SourcePhone, ReporterName: "沈国强"}
	err := db.InTx(ctx, func(q sqldb.Querier) error {
		if err := svc.Insert(ctx, q, &x); err != nil {
			return err
		}
		if err := svc.AddTeam(ctx, q, f.IncidentID, f.Team1); err != nil {
			return err
		}
		return svc.AddTeam(ctx, q, f.IncidentID, f.Team2)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}
