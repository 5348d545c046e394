package mobile_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/mobile-sdk/internal/fakeserver"
	"github.com/yingji/yingji/mobile-sdk/mobile"
)

type listener struct{ ch chan string }

func (l listener) OnLiveEvent(kind, scope string, seq int64, detail string) { l.ch <- kind }

func TestFacade(t *testing.T) {
	srv := fakeserver.New()
	defer srv.Close()
	c, err := mobile.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.Create("hazards", `{"title":"手机上报"}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get("hazards", "00000000-0000-7000-8000-000000000000")
	if mobile.ErrorClass(err) != 4 || mobile.ErrorCode(err) != "record.not_found" || !strings.Contains(mobile.ErrorMessage(err), "不存在") {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Sync(); mobile.ErrorClass(err) != 5 {
		t.Fatalf("sync before login: %v", err)
	}
	if _, err := c.Login(srv.URL, "grid01", fakeserver.Password); err != nil {
		t.Fatal(err)
	}
	st, err := c.Sync()
	if err != nil || !strings.Contains(st, `"applied":1`) {
		t.Fatalf("sync = %s, %v", st, err)
	}
	list, err := c.List("hazards", `{"title":"手机上报"}`)
	var recs []map[string]any
	if err != nil || json.Unmarshal([]byte(list), &recs) != nil || len(recs) != 1 || recs[0]["id"] != id || recs[0]["_state"] != "synced" {
		t.Fatalf("list = %s, %v", list, err)
	}
	l := listener{make(chan string, 100)}
	c.StartLive(l)
	deadline := time.After(10 * time.Second)
	for synced := false; !synced; {
		select {
		case k := <-l.ch:
			synced = k == "synced"
		case <-deadline:
			t.Fatal("live never synced")
		}
	}
	c.StopLive()
}

func TestFacadeAttach(t *testing.T) {
	dir := t.TempDir()
	c, err := mobile.Open(filepath.Join(dir, "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.Create("hazards", `{"title":"现场拍照"}`)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "p.jpg")
	os.WriteFile(file, []byte("not really a photo"), 0o600)
	out, err := c.Attach("hazards", id, "photos", file)
	var a struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	}
	if err != nil || json.Unmarshal([]byte(out), &a) != nil || len(a.SHA256) != 64 || a.Size != 18 {
		t.Fatalf("attach = %s, %v", out, err)
	}
	list, err := c.Media()
	if err != nil || !strings.Contains(list, `"state":"queued"`) || !strings.Contains(list, id) {
		t.Fatalf("media = %s, %v", list, err)
	}
	if _, err := c.Attach("hazards", id, "photos", filepath.Join(dir, "nope.jpg")); mobile.ErrorClass(err) != 2 {
		t.Fatalf("attach of a missing file: %v", err)
	}
	if _, err := c.Thumbnail(a.SHA256, 320); mobile.ErrorClass(err) != 5 {
		t.Fatalf("thumbnail before login: %v", err)
	}
	if err := c.RetryMedia(a.SHA256); mobile.ErrorClass(err) != 4 {
		t.Fatalf("retry of a queued file: %v", err)
	}
}

// Search works offline on the replica: "液氯" inside "液氯储罐泄漏处置", no server needed.
func TestFacadeSearch(t *testing.T) {
	c, err := mobile.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.Create("hazards", `{"title":"液氯储罐泄漏处置","description":"罐区阀门填料泄漏"}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("hazards", `{"title":"消防通道堵塞"}`); err != nil {
		t.Fatal(err)
	}
	out, err := c.Search("hazards", "液氯", 0)
	var hits []struct{ ID, Title, Snippet string }
	if err != nil || json.Unmarshal([]byte(out), &hits) != nil || len(hits) != 1 || hits[0].ID != id || !strings.Contains(hits[0].Snippet, "【液氯】") {
		t.Fatalf("search = %s, %v", out, err)
	}
	if _, err := c.Search("hazards", "，", 0); mobile.ErrorClass(err) != 2 {
		t.Fatalf("empty query: %v", err)
	}
}

// TestFacadeCreateMany: an app imports records as one JSON array; a bad array or a bad
// record names what is wrong and queues nothing; Push sends them without pulling.
func TestFacadeCreateMany(t *testing.T) {
	srv := fakeserver.New()
	defer srv.Close()
	c, err := mobile.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateMany("hazards", `{"title":"不是数组"}`); mobile.ErrorCode(err) != "input.bad_json" || !strings.Contains(mobile.ErrorMessage(err), "数组") {
		t.Fatalf("object instead of array: %v (%s)", err, mobile.ErrorCode(err))
	}
	if _, err := c.CreateMany("hazards", `[{"title":"甲"}, 3]`); err == nil || !strings.Contains(mobile.ErrorMessage(err), "第 2 条记录") {
		t.Fatalf("array with a number: %v", err)
	}
	out, err := c.CreateMany("hazards", `[{"title":"导入一"}, {"title":"导入二"}, {"title":"导入三"}]`)
	var ids []string
	if err != nil || json.Unmarshal([]byte(out), &ids) != nil || len(ids) != 3 {
		t.Fatalf("create many = %s, %v", out, err)
	}
	p, err := c.Pending()
	if err != nil || strings.Count(p, `"mutation_id"`) != 3 {
		t.Fatalf("pending = %s, %v", p, err)
	}
	if _, err := c.Login(srv.URL, "grid01", fakeserver.Password); err != nil {
		t.Fatal(err)
	}
	st, err := c.Push()
	if err != nil || !strings.Contains(st, `"applied":3`) || !strings.Contains(st, `"pulled":0`) {
		t.Fatalf("push = %s, %v", st, err)
	}
}
