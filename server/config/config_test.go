package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	t.Run("OK_Defaults", func(t *testing.T) {
		c, err := config.Load(nil, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.HTTPAddr != "127.0.0.1:8080" || c.DataDir != "./data" || c.DatabaseURL != "" || !c.Demo || c.PasswordMinLength != 8 {
			t.Fatalf("defaults: %+v", c)
		}
		if c.SQLitePath() != filepath.Join("data", "yingji.db") || c.MediaDir() != filepath.Join("data", "media") {
			t.Fatalf("paths: %s %s", c.SQLitePath(), c.MediaDir())
		}
	})
	t.Run("OK_MQTTOff", func(t *testing.T) {
		c, err := config.Load(nil, env(map[string]string{"YINGJI_MQTT_LISTEN": "off"}))
		if err != nil || c.MQTTListen != "" {
			t.Fatalf("mqtt_listen off: %q %v", c.MQTTListen, err)
		}
		if c, _ := config.Load(nil, env(nil)); c.MQTTListen != "127.0.0.1:1884" {
			t.Fatalf("mqtt_listen default: %q", c.MQTTListen)
		}
		if _, err := config.Load(nil, env(map[string]string{"YINGJI_MQTT_LISTEN": "1884"})); err == nil || !strings.Contains(err.Error(), "mqtt_listen") {
			t.Fatalf("bad mqtt_listen: %v", err)
		}
	})
	t.Run("OK_FileThenEnvThenFlags", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "y.yaml")
		os.WriteFile(f, []byte("http_addr: 127.0.0.1:9000\ndata_dir: /from/file\nlockout_duration: 30m\ndemo: false\nlog_format: json\n"), 0o600)
		c, err := config.Load([]string{"-config", f, "-data-dir", "/from/flag"}, env(map[string]string{
			"YINGJI_HTTP_ADDR": "127.0.0.1:0", "YINGJI_DATA_DIR": "/from/env"}))
		if err != nil {
			t.Fatal(err)
		}
		if c.HTTPAddr != "127.0.0.1:0" || c.DataDir != "/from/flag" || c.LockoutDuration != 30*time.Minute || c.Demo || c.LogFormat != "json" {
			t.Fatalf("precedence: %+v", c)
		}
	})
	t.Run("OK_ConfigFileFromEnv", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "y.yaml")
		os.WriteFile(f, []byte("password_min_length: 10\n"), 0o600)
		c, err := config.Load(nil, env(map[string]string{"YINGJI_CONFIG": f}))
		if err != nil || c.PasswordMinLength != 10 {
			t.Fatalf("%+v %v", c, err)
		}
	})
	bad := []struct {
		name string
		args []string
		env  map[string]string
		file string
		key  string
	}{
		{"ErrAddr", nil, map[string]string{"YINGJI_HTTP_ADDR": "8080"}, "", "http_addr"},
		{"ErrPort", []string{"-http-addr", "127.0.0.1:99999"}, nil, "", "http_addr"},
		{"ErrDatabaseURL", nil, map[string]string{"YINGJI_DATABASE_URL": "mysql://x"}, "", "database_url"},
		{"ErrPasswordTooShortPolicy", nil, map[string]string{"YINGJI_PASSWORD_MIN_LENGTH": "5"}, "", "password_min_length"},
		{"ErrNotANumber", nil, map[string]string{"YINGJI_PASSWORD_MIN_LENGTH": "eight"}, "", "password_min_length"},
		{"ErrDuration", nil, map[string]string{"YINGJI_SESSION_TTL_WEB": "forever"}, "", "session_ttl_web"},
		{"ErrDemoPasswordShort", nil, map[string]string{"YINGJI_DEMO_PASSWORD": "abc"}, "", "demo_password"},
		{"ErrBool", nil, map[string]string{"YINGJI_DEMO": "maybe"}, "", "demo"},
		{"ErrUnknownFileKey", nil, nil, "http_adr: 1\n", "http_adr"},
		{"ErrLogFormat", nil, map[string]string{"YINGJI_LOG_FORMAT": "xml"}, "", "log_format"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			args := b.args
			if b.file != "" {
				f := filepath.Join(t.TempDir(), "y.yaml")
				os.WriteFile(f, []byte(b.file), 0o600)
				args = append(args, "-config", f)
			}
			_, err := config.Load(args, env(b.env))
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Key != b.key {
				t.Fatalf("err = %v, want a config error naming %s", err, b.key)
			}
			if !strings.Contains(err.Error(), "配置项") || !strings.Contains(err.Error(), "invalid configuration") {
				t.Fatalf("error is not in Chinese and English: %v", err)
			}
		})
	}
}
