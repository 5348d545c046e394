package notify

import (
	"context"
	"fmt"
	"log/slog"
)

// Config gathers the outside channels' settings. A channel whose settings are absent is not
// built: an empty Config gives no outside channel (in-app delivery needs none).
type Config struct {
	// FCM is built when a project id, credentials or a token source is given.
	FCM FCMConfig
	// SMS is built when its gateway URL is given; then access key, secret and sign name are
	// required too.
	SMS SMSConfig
	// ZZD (Zhezhengding) is built when its base URL is given; then app key, app secret and
	// tenant id are required too.
	ZZD ZZDConfig
	// DingTalk is built when enabled; its robots are receivers (webhook and secret).
	DingTalk DingTalkConfig
}

// LogValue keeps every secret out of logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("fcm", c.FCM), slog.Any("sms", c.SMS), slog.Any("zzd", c.ZZD),
		slog.Bool("dingtalk", c.DingTalk.Enabled))
}

// Open builds the channels whose settings are present, keyed by their names ("fcm", "sms",
// "zzd", "dingtalk"). Settings present but incomplete or wrong are an error.
func Open(ctx context.Context, cfg Config) (map[string]Channel, error) {
	chans := map[string]Channel{}
	if f := cfg.FCM; f.ProjectID != "" || f.CredentialsFile != "" || f.CredentialsJSON != "" || f.TokenSource != nil {
		c, err := NewFCM(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("notify: open: %w", err)
		}
		chans[c.Name()] = c
	}
	if cfg.SMS.URL != "" {
		c, err := NewSMS(cfg.SMS)
		if err != nil {
			return nil, fmt.Errorf("notify: open: %w", err)
		}
		chans[c.Name()] = c
	}
	if cfg.ZZD.BaseURL != "" {
		c, err := NewZZD(cfg.ZZD)
		if err != nil {
			return nil, fmt.Errorf("notify: open: %w", err)
		}
		chans[c.Name()] = c
	}
	if cfg.DingTalk.Enabled {
		c := NewDingTalk(cfg.DingTalk)
		chans[c.Name()] = c
	}
	return chans, nil
}
