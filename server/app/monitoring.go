package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/dispatch"
	"github.com/yingji/yingji/server/inbox"
	"github.com/yingji/yingji/server/monitor"
	"github.com/yingji/yingji/server/monitor/mqtt"
	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/postgres"
)

// Monitoring and warning: the notification channels, the alert service, the monitor service
// (devices, ingest, rules) and the MQTT side that feeds it — the embedded broker, or a shared
// subscription on an external broker when several instances run.

// openChannels builds the outside channels the configuration names. DingTalk robots need no
// server setting (each receiver carries its webhook), so that channel is always on.
func openChannels(ctx context.Context, cfg config.Config) (map[string]notify.Channel, error) {
	nc := notify.Config{
		FCM:      notify.FCMConfig{ProjectID: cfg.FCMProjectID, CredentialsFile: cfg.FCMCredentialsFile, Endpoint: cfg.FCMEndpoint},
		SMS:      notify.SMSConfig{URL: cfg.SMSURL, AccessKey: cfg.SMSAccessKey, Secret: cfg.SMSSecret, SignName: cfg.SMSSignName},
		ZZD:      notify.ZZDConfig{BaseURL: cfg.ZZDDomain, AppKey: cfg.ZZDAppKey, AppSecret: cfg.ZZDAppSecret, TenantID: cfg.ZZDTenantID},
		DingTalk: notify.DingTalkConfig{Enabled: true},
	}
	chans, err := notify.Open(ctx, nc)
	if err != nil {
		return nil, fmt.Errorf("通知渠道配置有误 (notify channels): %w", err)
	}
	if sms, ok := chans["sms"]; ok {
		chans["sms"] = templated{Channel: sms, ids: map[string]string{"alert": cfg.SMSAlertTemplate, inbox.SMSTemplate: cfg.SMSReminderTemplate,
			dispatch.SMSTemplate: cfg.SMSContactTemplate}}
	}
	return chans, nil
}

// templated maps the platform's SMS template names ("alert") to the provider's registered
// template ids from the configuration.
type templated struct {
	notify.Channel
	ids map[string]string
}

func (t templated) Send(ctx context.Context, to notify.Receiver, m notify.Message) (notify.Result, error) {
	if id, ok := t.ids[m.SMSTemplate]; ok {
		if id == "" {
			return notify.Result{}, notify.ErrNoTemplate
		}
		m.SMSTemplate = id
	}
	return t.Channel.Send(ctx, to, m)
}

func alertConfig(cfg config.Config) alert.Config {
	c := alert.DefaultConfig()
	c.AckTimeout, c.DisposeTimeout, c.CountyTimeout = cfg.AlertAckTimeout, cfg.AlertDisposeTimeout, cfg.AlertCountyTimeout
	c.SyncGrace = cfg.AlertSyncGrace
	return c
}

func monitorConfig(cfg config.Config) monitor.Config {
	c := monitor.DefaultConfig()
	c.MaxFuture, c.MaxAge, c.RetainRaw = cfg.MonitorMaxFuture, cfg.MonitorMaxPast, cfg.MonitorRetention
	return c
}

// startMQTT starts the embedded broker or, with mqtt_broker_url, the shared subscription.
func (m *Main) startMQTT(ctx context.Context) error {
	switch {
	case m.Config.MQTTBrokerURL != "":
		id := m.Config.MQTTClientID
		if id == "" {
			host, _ := os.Hostname()
			id = "yingji-" + host + "-" + strconv.Itoa(os.Getpid())
		}
		sub, err := mqtt.StartSubscriber(ctx, mqtt.SubscriberConfig{URL: m.Config.MQTTBrokerURL, Username: m.Config.MQTTUsername,
			Password: m.Config.MQTTPassword, ClientID: id, Group: m.Config.MQTTShareGroup, Sink: m.Monitor, Log: m.Log})
		if err != nil {
			return fmt.Errorf("无法订阅外部 MQTT 服务 %s (mqtt subscriber): %w", m.Config.MQTTBrokerURL, err)
		}
		m.mqttSub = sub
		m.Registry.MustRegister(sub.Collectors()...)
	case m.Config.MQTTListen != "":
		b, err := mqtt.StartBroker(ctx, mqtt.BrokerConfig{Addr: m.Config.MQTTListen, Auth: m.Monitor, Sink: m.Monitor, Log: m.Log})
		if err != nil {
			return fmt.Errorf("内置 MQTT 服务无法监听 %s，可用 mqtt_listen 换端口或留空关闭 (mqtt listen): %w", m.Config.MQTTListen, err)
		}
		m.mqttBroker = b
		m.MQTTAddr = b.Addr()
		m.Registry.MustRegister(b.Collectors()...)
	}
	return nil
}

// stopMonitoring stops the MQTT side first (no new readings), then the pipeline, which stores
// everything it accepted.
func (m *Main) stopMonitoring(ctx context.Context) error {
	var err error
	if m.feedStop != nil {
		m.feedStop()
		m.feedStop = nil
	}
	if m.mqttBroker != nil {
		err = errors.Join(err, m.mqttBroker.Close())
		m.mqttBroker = nil
	}
	if m.mqttSub != nil {
		err = errors.Join(err, m.mqttSub.Close())
		m.mqttSub = nil
	}
	if m.Monitor != nil {
		err = errors.Join(err, m.Monitor.Close(ctx))
	}
	return err
}

// monitorChannel tells the other instances sharing one PostgreSQL that devices or points
// changed, so they reload their device table at once instead of at the next periodic reload.
const monitorChannel = "yingji_monitor_changed"

func (m *Main) listenMonitor(ctx context.Context, pg *postgres.DB) {
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	prev := m.cancel
	m.cancel = func() {
		cancel()
		if prev != nil {
			prev()
		}
	}
	log := m.Log.With("component", "monitor_notify")
	ready := make(chan struct{})
	mon := m.Monitor
	go pg.Listen(lctx, monitorChannel, log, ready, func(string) {
		rctx, cancel := context.WithTimeout(lctx, 10*time.Second)
		defer cancel()
		if err := mon.Reload(rctx); err != nil {
			log.Warn("reload after another instance's change", "err", err)
		}
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		log.Warn("listener not ready after 10s; devices changed elsewhere take effect at the periodic reload")
	}
	mon.OnChange = func() {
		nctx, cancel := context.WithTimeout(lctx, 5*time.Second)
		defer cancel()
		if err := pg.Notify(nctx, monitorChannel, ""); err != nil {
			log.Warn("notify failed; other instances reload periodically", "err", err)
		}
	}
}
