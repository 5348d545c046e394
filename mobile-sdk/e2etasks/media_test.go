package e2etasks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/yingji"
)

func TestMemberMedia(t *testing.T) {
	t.Parallel()
	runMemberMedia(t, apptest.Start(t))
}

func TestMemberMediaPostgres(t *testing.T) {
	t.Parallel()
	runMemberMedia(t, apptest.StartPostgres(t))
}

// runMemberMedia: rescue01 (team 1) sends scene feedback with a photo; rescue02 (team 2, another
// unit) is a member of the incident and opens it; rescue03 of the same team and unit as
// rescue02 but not on the incident is refused, and so is rescue02 once he leaves the incident.
func runMemberMedia(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	f := newIncident(t, s)
	if _, err := s.DB.Exec(ctx, `INSERT INTO users (id, username, name, phone, role, team_id, org_path, password_hash, password_changed_at, created_at, updated_at)
		SELECT $1, 'rescue03', '赵队员', '13957118888', role, team_id, org_path, password_hash, password_changed_at, created_at, updated_at FROM users WHERE id = $2`,
		yingji.NewID(), f.Rescue2); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c, err := sdk.Open(ctx, filepath.Join(dir, "r1.db"), sdk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Login(ctx, s.URL, "rescue01", apptest.Password); err != nil {
		t.Fatal(err)
	}
	img := photo(t, 77, 160, 120)
	p := filepath.Join(dir, "scene.jpg")
	if err := os.WriteFile(p, img, 0o600); err != nil {
		t.Fatal(err)
	}
	fields := map[string]json.RawMessage{"incident_id": jsonRaw(f.IncidentID), "text": jsonRaw("储罐东侧阀门已关闭")}
	if _, _, err := c.CreateWithFiles(ctx, "feedback", fields, map[string][]string{"photos": {p}}); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Sync(ctx); err != nil || st.Applied != 1 || st.MediaUploaded != 1 {
		t.Fatalf("sync: %+v %v", st, err)
	}
	path := "/api/v1/media/" + sum(img)
	r2, r3 := s.Login(t, "rescue02"), s.Login(t, "rescue03")
	if r := s.Do(t, "GET", path, r2, nil); r.Status != 200 || !bytes.Equal(r.Body, img) {
		t.Fatalf("member rescue02: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "GET", path+"/info", r2, nil); r.Status != 200 {
		t.Fatalf("member rescue02 info: %d %s", r.Status, r.Body)
	}
	apptest.WantError(t, s.Do(t, "GET", path, r3, nil), 404, "media.not_found")
	// rescue02 leaves the incident: the photo is no longer his to see.
	if _, err := s.DB.Exec(ctx, `UPDATE incident_members SET removed_at = $1 WHERE incident_id = $2 AND user_id = $3`,
		time.Now().UTC().Format(time.RFC3339), f.IncidentID, f.Rescue2); err != nil {
		t.Fatal(err)
	}
	apptest.WantError(t, s.Do(t, "GET", path, r2, nil), 404, "media.not_found")
}
