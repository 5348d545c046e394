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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

var (
	buildOnce sync.Once
	binPath   string
	binDir    string
	buildErr  error
	buildOut  []byte
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func fieldBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "e2etasks")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		binPath = filepath.Join(dir, "yingji-field")
		buildOut, buildErr = exec.Command("go", "build", "-o", binPath, "github.com/yingji/yingji/mobile-sdk/cmd/yingji-field").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build yingji-field: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// field runs yingji-field -o json on db and returns its exit code, decoded output and stderr.
func field(t *testing.T, db string, args ...string) (int, any, string) {
	t.Helper()
	cmd := exec.Command(fieldBin(t), append([]string{"-db", db, "-o", "json"}, args...)...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var out any
	if s := strings.TrimSpace(so.String()); s != "" {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			t.Fatalf("%v: stdout is not JSON: %q", args, s)
		}
	}
	return code, out, se.String()
}

// mustField runs a command that must succeed.
func mustField(t *testing.T, db string, args ...string) any {
	t.Helper()
	code, out, errOut := field(t, db, args...)
	if code != 0 {
		t.Fatalf("yingji-field %v: exit %d: %s", args, code, errOut)
	}
	return out
}

func want(t *testing.T, r apptest.Response, status int, v any) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if v != nil {
		r.JSON(t, v)
	}
}

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

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
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
