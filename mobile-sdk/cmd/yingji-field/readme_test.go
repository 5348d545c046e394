package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/mediasvc/mediasvctest"
)

// readmeExamples returns the lines of the first sh block of the README's field-client section.
func readmeExamples(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## The field client `yingji-field`\n")
	if !ok {
		t.Fatal("README has no section “The field client `yingji-field`”")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatal("the field-client section has no sh block")
	}
	block, _, _ = strings.Cut(block, "```")
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestReadmeExamples runs the README's field-client example, line by line and in order, in a
// fresh folder against a real server started as the README says (demo password
// Demo-Pass-2026). Only the server's address is changed (the test server listens on a free
// port); the build line's binary is the one TestMain built from the same package. Every command must succeed, and
// the outcome must be what the README promises: the hazard reported, started and its photo
// uploaded, nothing pending or refused.
func TestReadmeExamples(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the README example needs jq (apt-get install jq)")
		}
		t.Skip("jq is not installed (apt-get install jq); the README example needs it")
	}
	s := apptest.Start(t, apptest.WithConfig(func(c *config.Config) { c.DemoPassword = "Demo-Pass-2026" }))
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "IMG_0001.jpg"), mediasvctest.JPEG(t, 640, 480, nil), 0o644); err != nil {
		t.Fatal(err)
	}

	lines := readmeExamples(t)
	if len(lines) < 10 || lines[0] != "go build -o yingji-field ./mobile-sdk/cmd/yingji-field" {
		t.Fatalf("README field-client example changed shape: %q", lines)
	}
	// The build line builds this package from the repository root, as TestMain just did:
	// its binary stands for the README's ./yingji-field.
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "yingji-field"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "mobile-sdk", "cmd", "yingji-field", "main.go")); err != nil {
		t.Fatalf("%s: the package is gone: %v", lines[0], err)
	}

	// The rest in one shell, so that variables carry from line to line; each line echoed and
	// checked: set -e stops at the first that fails.
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for _, l := range lines[1:] {
		l = strings.ReplaceAll(l, "http://127.0.0.1:8080", s.URL)
		script.WriteString("echo '>>> " + strings.ReplaceAll(l, "'", `'\''`) + "'\n" + l + "\n")
	}
	script.WriteString("echo \"ID=$ID ENT=$ENT\"\n")
	sh := exec.Command("bash", "-c", script.String())
	sh.Dir = dir
	sh.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")) // the README calls ./yingji-field, not PATH
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("README example failed: %v\n%s", err, out)
	}
	text := string(out)
	m := regexp.MustCompile(`ID=([0-9a-f-]{36}) ENT=([0-9a-f-]{36})`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("the example did not end with a hazard id and an enterprise id:\n%s", text)
	}
	for _, want := range []string{"已登录", "条待同步", "（没有被拒绝的修改）"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}

	// The server holds what the example did.
	admin := s.LoginAs(t, "admin", "Demo-Pass-2026", "web", "readme-test")
	var h struct {
		Status       string   `json:"status"`
		EnterpriseID string   `json:"enterprise_id"`
		Photos       []string `json:"photos"`
		Title        string   `json:"title"`
	}
	r := s.Do(t, "GET", "/api/v1/hazards/"+m[1], admin, nil)
	r.JSON(t, &h)
	if r.Status != 200 || h.Status != "rectifying" || h.EnterpriseID != m[2] || len(h.Photos) != 1 || h.Title != "储罐区消防通道堵塞" {
		t.Fatalf("hazard after the example: %d %+v", r.Status, h)
	}
	if info := s.Do(t, "GET", "/api/v1/media/"+h.Photos[0]+"/info", admin, nil); !strings.Contains(string(info.Body), `"ready"`) {
		t.Errorf("the photo is not on the server: %s", info.Body)
	}
}
