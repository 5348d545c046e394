package e2etasks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
)

func TestOfflineHour(t *testing.T) {
	t.Parallel()
	var shift atomic.Int64
	runOfflineHour(t, apptest.Start(t, apptest.WithClock(func() time.Time { return time.Now().Add(time.Duration(shift.Load())) })), &shift)
}

func TestOfflineHourPostgres(t *testing.T) {
	t.Parallel()
	var shift atomic.Int64
	runOfflineHour(t, apptest.StartPostgres(t, apptest.WithClock(func() time.Time { return time.Now().Add(time.Duration(shift.Load())) })), &shift)
}

// runOfflineHour: a responder offline for an hour makes 100 feedback items, 50 of them with a
// photo; the first sync back is cut twice mid-way; every item and photo lands exactly once,
// dated when it was made. The hour passes on both clocks: the phone's runs forward item by
// item, the server's (shift) is an hour ahead when the phone is back.
func runOfflineHour(t *testing.T, s *apptest.Server, shift *atomic.Int64) {
	ctx := context.Background()
	f := newIncident(t, s)
	proxy := apptest.NewCutProxy(t, s.URL)
	dir := t.TempDir()
	start := time.Now()
	var offset time.Duration
	c, err := sdk.Open(ctx, filepath.Join(dir, "r1.db"), sdk.Options{Now: func() time.Time { return time.Now().Add(offset) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Login(ctx, proxy.URL, "rescue01", apptest.Password); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.SetDown(true)
	hashes := map[string]bool{}
	for i := range 100 {
		offset = time.Duration(i) * 36 * time.Second // one every 36 s over the hour
		fields := map[string]json.RawMessage{"incident_id": jsonRaw(f.IncidentID), "text": jsonRaw(fmt.Sprintf("第 %d 条现场反馈", i+1)),
			"location": jsonRaw(map[string]float64{"lat": 30.2231 + float64(i)*1e-5, "lng": 120.3512})}
		files := map[string][]string{}
		if i%2 == 0 {
			b := photo(t, uint64(1000+i), 160, 120)
			p := filepath.Join(dir, fmt.Sprintf("p%d.jpg", i))
			os.WriteFile(p, b, 0o600)
			files["photos"] = []string{p}
			hashes[sum(b)] = true
		}
		if _, _, err := c.CreateWithFiles(ctx, "feedback", fields, files); err != nil {
			t.Fatal(err)
		}
	}
	offset = time.Hour
	shift.Store(int64(time.Hour))
	proxy.SetDown(false)
	proxy.CutNext("/api/v1/sync/push", 1)
	proxy.CutNext("/api/v1/media/uploads", 1)
	var pushed, uploaded int
	for range 5 {
		st, err := c.Sync(ctx)
		pushed += st.Applied
		uploaded += st.MediaUploaded
		if err == nil {
			break
		}
	}
	if st, err := c.Sync(ctx); err != nil || st.Pushed != 0 {
		t.Fatalf("after: %+v %v", st, err)
	}
	var n, distinctText, inHour int
	s.DB.QueryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT text) FROM feedback WHERE incident_id = $1`, f.IncidentID).Scan(&n, &distinctText)
	s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM feedback WHERE incident_id = $1 AND at >= $2 AND at < $3 AND received_at > $4`, f.IncidentID,
		start.Add(-time.Second).UTC().Format("2006-01-02T15:04:05.000Z"), start.Add(60*time.Minute).UTC().Format("2006-01-02T15:04:05.000Z"),
		start.Add(60*time.Minute).UTC().Format("2006-01-02T15:04:05.000Z")).Scan(&inHour)
	if n != 100 || distinctText != 100 || inHour != 100 {
		t.Fatalf("feedback on the server: %d (%d distinct), %d dated within the offline hour", n, distinctText, inHour)
	}
	var objs int
	s.DB.QueryRow(ctx, `SELECT COUNT(DISTINCT o.sha256) FROM media_objects o JOIN media_refs r ON r.sha256 = o.sha256
		WHERE r.collection = 'feedback'`).Scan(&objs)
	if objs != 50 || len(hashes) != 50 {
		t.Fatalf("photos stored: %d of %d", objs, len(hashes))
	}
	list, err := c.Media(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if m.State != sdk.MediaDone {
			t.Fatalf("media %s: %s %s", m.SHA256, m.State, m.ErrorMessage)
		}
	}
}

func jsonRaw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
