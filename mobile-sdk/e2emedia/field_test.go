package e2emedia_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yingji/yingji/mobile-sdk/internal/e2etest"
	"github.com/yingji/yingji/server/app/apptest"
)

// The shared end-to-end helpers, under this package's names.
var (
	field = e2etest.FieldWith
)

// TestFieldAttach: `yingji-field attach` works offline and prints {"sha256","size"},
// `pending` lists the photo update, and `sync` uploads it to the real server.
func TestFieldAttach(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "yingji-field")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/yingji/yingji/mobile-sdk/cmd/yingji-field").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	srv := apptest.Start(t)
	proxy := apptest.NewCutProxy(t, srv.URL)
	db := filepath.Join(dir, "field.db")
	code, out, errOut := field(t, bin, db, "login", "-server", proxy.URL, "-user", "safety01", "-password", apptest.Password)
	if code != 0 {
		t.Fatalf("login: %d %s", code, errOut)
	}
	ent, _ := out.(map[string]any)["user"].(map[string]any)["enterprise_id"].(string)
	if code, _, errOut := field(t, bin, db, "sync"); code != 0 {
		t.Fatalf("sync: %d %s", code, errOut)
	}

	proxy.SetDown(true) // offline from here
	obj, _ := json.Marshal(map[string]any{"title": "消防通道堵塞", "enterprise_id": ent, "photos": []string{}})
	code, out, errOut = field(t, bin, db, "create", "hazards", "-json", string(obj))
	if code != 0 {
		t.Fatalf("create: %d %s", code, errOut)
	}
	id := out.(map[string]any)["id"].(string)
	img := photo(t, 9, 400, 300)
	file := filepath.Join(dir, "IMG_0009.jpg")
	os.WriteFile(file, img, 0o600)
	code, out, errOut = field(t, bin, db, "attach", "hazards", id, "photos", file)
	if m, _ := out.(map[string]any); code != 0 || len(m) != 2 || m["sha256"] != sum(img) || m["size"] != float64(len(img)) {
		t.Fatalf("attach: %d %v %s", code, out, errOut)
	}
	if code, _, errOut := field(t, bin, db, "attach", "hazards", id, "photos", filepath.Join(dir, "missing.jpg")); code != 2 || !strings.HasPrefix(errOut, "错误 ") {
		t.Fatalf("attach of a missing file: %d %s", code, errOut)
	}
	code, out, _ = field(t, bin, db, "pending")
	found := false
	for _, p := range out.([]any) {
		m := p.(map[string]any)
		photos, _ := m["fields"].(map[string]any)["photos"].([]any)
		found = found || m["id"] == id && m["op"] == "update" && len(photos) == 1 && photos[0] == sum(img)
	}
	if code != 0 || !found {
		t.Fatalf("pending lacks the photo update: %v", out)
	}
	if code, out, _ := field(t, bin, db, "status"); code != 0 || out.(map[string]any)["media_pending"] != 1.0 {
		t.Fatalf("status offline: %v", out)
	}
	if code, _, _ := field(t, bin, db, "sync"); code != 3 {
		t.Fatalf("sync offline: exit %d, want 3", code)
	}

	proxy.SetDown(false)
	code, out, errOut = field(t, bin, db, "sync")
	if m, _ := out.(map[string]any); code != 0 || m["media_uploaded"] != 1.0 || m["applied"] != 2.0 {
		t.Fatalf("sync: %d %v %s", code, out, errOut)
	}
	if code, out, _ := field(t, bin, db, "status"); code != 0 || out.(map[string]any)["media_pending"] != 0.0 {
		t.Fatalf("status after sync: %v", out)
	}
	if code, out, _ := field(t, bin, db, "media"); code != 0 || out.([]any)[0].(map[string]any)["state"] != "done" {
		t.Fatalf("media: %v", out)
	}
	res := srv.Do(t, "GET", "/api/v1/media/"+sum(img), webToken(t, srv, "safety01"), nil)
	if res.Status != 200 || !bytes.Equal(res.Body, img) {
		t.Fatalf("server original: %d, %d bytes", res.Status, len(res.Body))
	}
	code, out, errOut = field(t, bin, db, "thumb", sum(img))
	if p, _ := out.(map[string]any)["path"].(string); code != 0 || p == "" {
		t.Fatalf("thumb: %d %v %s", code, out, errOut)
	}
}
