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
	"fmt"
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

// newIncident makes an incident of the 江南区 and puts rescue01 and a second rescue member
// (rescue02, of the other demo team, made here) on it.
//
// Until the incidents module (branch inc, migration 00016) is merged, the incident and its
// members are written with SQL into stand-in tables shaped by the shared contract; at merge
// this helper uses incident.Service (Create, AddMembers) instead.
func newIncident(t *testing.T, s *apptest.Server) fixture {
	t.Helper()
	ctx := context.Background()
	db := s.DB
	ensureIncidentTables(t, s)
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
	if err := db.QueryRow(ctx, `SELECT path FROM org_units WHERE code = '339901'`).Scan(&f.OrgPath); err != nil {
		t.Fatal(err)
	}
	f.IncidentID = yingji.NewID()
	f.occurred = time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Millisecond)
	f.reported = f.occurred.Add(5 * time.Minute)
	if _, err := db.Exec(ctx, `INSERT INTO incidents (id, code, title, class, status, org_path, alert_id, enterprise_id, lat, lng, occurred_at, reported_at, created_at, updated_at)
		VALUES ($1, 'SJ-TEST-0001', '临港石化储罐区液氯泄漏', 'accident', 'responding', $2, '', '', 30.2231, 120.3512, $3, $4, $4, $4)`,
		f.IncidentID, f.OrgPath, f.occurred, f.reported); err != nil {
		t.Fatal(err)
	}
	for _, m := range [][2]string{{f.Rescue1, f.Team1}, {f.Rescue2, f.Team2}} {
		if _, err := db.Exec(ctx, `INSERT INTO incident_members (incident_id, user_id, grp, role_title, team_id, added_at) VALUES ($1, $2, 'team', '', $3, $4)`,
			f.IncidentID, m[0], m[1], f.reported); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// ensureIncidentTables creates stand-ins of the incidents module's tables (shared contract)
// when they are not there yet.
func ensureIncidentTables(t *testing.T, s *apptest.Server) {
	t.Helper()
	ctx := context.Background()
	var n int
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM incidents`).Scan(&n); err == nil {
		return
	}
	ts := "TIMESTAMP"
	if s.DB.Engine() == "postgres" {
		ts = "TIMESTAMPTZ"
	}
	for _, q := range []string{
		fmt.Sprintf(`CREATE TABLE incidents (id TEXT PRIMARY KEY, code TEXT NOT NULL, title TEXT NOT NULL, class TEXT NOT NULL DEFAULT '',
			status TEXT NOT NULL, org_path TEXT NOT NULL, alert_id TEXT NOT NULL DEFAULT '', enterprise_id TEXT NOT NULL DEFAULT '',
			lat REAL NOT NULL DEFAULT 0, lng REAL NOT NULL DEFAULT 0, occurred_at %[1]s, reported_at %[1]s, terminated_at %[1]s,
			created_at %[1]s NOT NULL, updated_at %[1]s NOT NULL)`, ts),
		fmt.Sprintf(`CREATE TABLE incident_members (incident_id TEXT NOT NULL, user_id TEXT NOT NULL, grp TEXT NOT NULL, role_title TEXT NOT NULL DEFAULT '',
			team_id TEXT NOT NULL DEFAULT '', added_at %[1]s NOT NULL, removed_at %[1]s)`, ts),
	} {
		if _, err := s.DB.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}
