package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/yingji/yingji/server/config"
)

// TestREADMEListsEveryKey keeps the README's configuration table true.
func TestREADMEListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range config.Describe() {
		def := "`" + k[3] + "`"
		if k[3] == "" {
			def = "（空）"
		}
		row := "| `" + k[0] + "` | `" + k[1] + "` | `" + k[2] + "` | " + def + " |"
		if !strings.Contains(string(b), row) {
			t.Errorf("README.md lacks the row starting %s", row)
		}
	}
}
