package e2eresources_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/yingji"
)

// Offline nearest: a grid worker's and a rescue member's phones, synced once and then cut off,
// answer "the nearest N resources of these kinds with these filters" from their replicas
// exactly as the server's GET /resources/nearest answers the same users (same resources, same
// order, same distances) — through the SDK and through the real yingji-field binary — on
// SQLite and PostgreSQL. What a phone holds is what the API lets the same user read.
//
//	go test -race -count=1 -run Nearest ./mobile-sdk/e2eresources/

func TestNearestOffline(t *testing.T)         { runNearest(t, apptest.Start(t)) }
func TestNearestOfflinePostgres(t *testing.T) { runNearest(t, apptest.StartPostgres(t)) }

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// fieldBin builds yingji-field once for the package (into a folder removed after the run).
func fieldBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "e2eresources")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "yingji-field")
		buildOut, buildErr = exec.Command("go", "build", "-o", binPath, "github.com/yingji/yingji/mobile-sdk/cmd/yingji-field").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build yingji-field: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// field runs yingji-field -o json and returns the exit code, stdout and stderr.
func field(t *testing.T, db string, args ...string) (int, []byte, string) {
	t.Helper()
	cmd := exec.Command(fieldBin(t), append([]string{"-db", db, "-o", "json"}, args...)...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), so.Bytes(), se.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, so.Bytes(), se.String()
}

type answer struct {
	Items []struct {
		ID        string  `json:"id"`
		Name      string  `json:"name"`
		DistanceM float64 `json:"distance_m"`
	} `json:"items"`
}

func runNearest(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	admin := s.Login(t, "admin")
	var units yingji.Page[org.Unit]
	s.Do(t, http.MethodGet, "/api/v1/org-units", admin, nil).JSON(t, &units)
	byCode, byID := map[string]string{}, map[string]org.Unit{}
	for _, u := range units.Items {
		byID[u.ID] = u
	}
	for _, u := range units.Items {
		key := u.Code
		if u.Level == org.LevelGrid {
			key = byID[u.ParentID].Code + "/" + u.Code
		}
		byCode[key] = u.ID
	}
	codes := []string{"339900", "339901", "339902", "339901001", "339901002", "339902001", "339901002/G01"}
	for _, c := range codes {
		if byCode[c] == "" {
			t.Fatalf("unit %s missing from %d units", c, len(units.Items))
		}
	}
	// Random teams and shelters around the city in units above, beside and below the users.
	rng := rand.New(rand.NewPCG(14, 14))
	accidents := []string{"火灾", "爆炸", "洪涝", "坍塌"}
	statuses := []string{"available", "available", "busy", "maintenance"}
	for i := 0; i < 50; i++ {
		var types []string
		for _, a := range accidents {
			if rng.IntN(2) == 0 {
				types = append(types, a)
			}
		}
		in := map[string]any{"kind": "team", "name": fmt.Sprintf("测试救援队%02d", i), "category": []string{"综合", "专业", "社会"}[rng.IntN(3)],
			"subtype":     []string{"危化品救援", "水上救援", "矿山救援"}[rng.IntN(3)],
			"org_unit_id": byCode[codes[rng.IntN(len(codes))]], "status": statuses[rng.IntN(len(statuses))], "accident_types": types,
			"members": rng.IntN(80), "location": map[string]float64{"lat": 29.95 + rng.Float64()*0.35, "lng": 119.75 + rng.Float64()*0.7}}
		if i%5 == 0 {
			in = map[string]any{"kind": "shelter", "name": fmt.Sprintf("测试避难场所%02d", i), "category": "室内", "org_unit_id": byCode[codes[rng.IntN(len(codes))]],
				"capacity": 100 + rng.IntN(900), "occupancy": rng.IntN(300),
				"location": map[string]float64{"lat": 29.95 + rng.Float64()*0.35, "lng": 119.75 + rng.Float64()*0.7}}
		}
		if r := s.Do(t, http.MethodPost, "/api/v1/resources", admin, in); r.Status != http.StatusCreated {
			t.Fatalf("create %v: %d %s", in["name"], r.Status, r.Body)
		}
	}

	proxy := apptest.NewCutProxy(t, s.URL)
	for _, user := range []string{"grid01", "rescue01", "safety01"} {
		token := s.Login(t, user)
		c := phone(t, s, user)
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		db := filepath.Join(t.TempDir(), user+"-cli.db")
		if code, _, errOut := field(t, db, "login", "-server", proxy.URL, "-user", user, "-password", apptest.Password); code != 0 {
			t.Fatalf("%s login: %s", user, errOut)
		}
		if code, _, errOut := field(t, db, "sync"); code != 0 {
			t.Fatalf("%s sync: %s", user, errOut)
		}

		// The phone holds exactly what the API lets the user read.
		recs, err := c.List(ctx, "resources")
		if err != nil {
			t.Fatal(err)
		}
		var onPhone, readable []string
		for _, r := range recs {
			onPhone = append(onPhone, r.ID)
		}
		for page := 1; ; page++ {
			var p yingji.Page[resource.Resource]
			s.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/resources?page_size=500&page=%d", page), token, nil).JSON(t, &p)
			for _, x := range p.Items {
				readable = append(readable, x.ID)
			}
			if len(readable) >= p.Total || len(p.Items) == 0 {
				break
			}
		}
		slices.Sort(onPhone)
		slices.Sort(readable)
		if !slices.Equal(onPhone, readable) || len(onPhone) < 10 {
			t.Fatalf("%s: the phone holds %d resources, the API reads %d", user, len(onPhone), len(readable))
		}

		proxy.SetDown(true)
		for i := 0; i < 20; i++ {
			lat, lng := 29.95+rng.Float64()*0.35, 119.75+rng.Float64()*0.7
			q := sdk.NearQuery{Lat: lat, Lng: lng, N: 1 + rng.IntN(8)}
			v := url.Values{"lat": {fmt.Sprint(lat)}, "lng": {fmt.Sprint(lng)}, "n": {fmt.Sprint(q.N)}}
			args := []string{"nearest", "-lat", fmt.Sprint(lat), "-lng", fmt.Sprint(lng), "-n", fmt.Sprint(q.N)}
			switch i % 4 {
			case 0: // every kind
			case 1:
				q.Kinds, q.Status, q.AccidentType, q.MinAvailable = []string{"team"}, "available", accidents[rng.IntN(4)], float64(rng.IntN(40))
				v.Set("kinds", "team")
				v.Set("status", "available")
				v.Set("accident_type", q.AccidentType)
				v.Set("min_available", fmt.Sprint(q.MinAvailable))
				args = append(args, "-kind", "team", "-status", "available", "-accident_type", q.AccidentType, "-min_available", fmt.Sprint(q.MinAvailable))
			case 2:
				q.Kinds, q.Subtype = []string{"team", "shelter"}, "危化品救援"
				v.Set("kinds", "team,shelter")
				v.Set("subtype", q.Subtype)
				args = append(args, "-kind", "team,shelter", "-type", q.Subtype)
			case 3:
				q.Kinds, q.MaxDistanceM, q.MinAvailable = []string{"shelter", "supply", "depot"}, 8000, 200
				v.Set("kinds", "shelter,supply,depot")
				v.Set("max_distance_m", "8000")
				v.Set("min_available", "200")
				args = append(args, "-kind", "shelter,supply,depot", "-max_distance_m", "8000", "-min_available", "200")
			}
			var server answer
			r := s.Do(t, http.MethodGet, "/api/v1/resources/nearest?"+v.Encode(), token, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("server nearest: %d %s", r.Status, r.Body)
			}
			r.JSON(t, &server)
			hits, err := c.Nearest(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			code, out, errOut := field(t, db, args...)
			if code != 0 {
				t.Fatalf("%s %v: exit %d %s", user, args, code, errOut)
			}
			var cli answer
			if err := json.Unmarshal(out, &cli); err != nil {
				t.Fatalf("nearest output %s: %v", out, err)
			}
			if len(hits) != len(server.Items) || len(cli.Items) != len(server.Items) {
				t.Fatalf("%s %s: phone %d, cli %d, server %d answers", user, v.Encode(), len(hits), len(cli.Items), len(server.Items))
			}
			for j, h := range server.Items {
				if hits[j].ID != h.ID || hits[j].DistanceM != h.DistanceM || cli.Items[j].ID != h.ID || cli.Items[j].DistanceM != h.DistanceM || cli.Items[j].Name != h.Name {
					t.Fatalf("%s %s #%d: server %s %s at %v m, phone %s at %v m, cli %s at %v m", user, v.Encode(), j, h.ID, h.Name, h.DistanceM,
						hits[j].ID, hits[j].DistanceM, cli.Items[j].ID, cli.Items[j].DistanceM)
				}
			}
			if i == 0 && len(server.Items) == 0 {
				t.Fatalf("%s: no resource near the city", user)
			}
		}
		// Bad input is refused offline with exit 2 and a Chinese message; the text table shows
		// the distance.
		if code, _, errOut := field(t, db, "nearest", "-lat", "95", "-lng", "120"); code != 2 || !strings.Contains(errOut, "纬度") {
			t.Fatalf("bad lat: %d %s", code, errOut)
		}
		if code, _, errOut := field(t, db, "nearest", "-lat", "30.2", "-lng", "120.3", "-kind", "boat"); code != 2 || !strings.Contains(errOut, "资源种类") {
			t.Fatalf("bad kind: %d %s", code, errOut)
		}
		cmd := exec.Command(fieldBin(t), "-db", db, "nearest", "-lat", "30.2", "-lng", "120.3", "-n", "3")
		text, err := cmd.Output()
		if err != nil || !strings.Contains(string(text), "距离") || !strings.Contains(string(text), "共 3 个") {
			t.Fatalf("text output: %v\n%s", err, text)
		}
		proxy.SetDown(false)
	}
}
