// Package config holds the server's configuration: defaults, then an optional YAML file, then
// YINGJI_* environment variables, then command-line flags; validated with errors that name
// the key in Chinese and English.
package config

import (
	"flag"
	"fmt"
	"github.com/yingji/yingji/media/video"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is every setting of the server.
type Config struct {
	HTTPAddr          string        `yaml:"http_addr"`
	DataDir           string        `yaml:"data_dir"`
	DatabaseURL       string        `yaml:"database_url"`
	Demo              bool          `yaml:"demo"`
	DemoPassword      string        `yaml:"demo_password"`
	DemoHistory       bool          `yaml:"demo_history"`
	DemoFeed          bool          `yaml:"demo_feed"`
	LogFormat         string        `yaml:"log_format"`
	LogLevel          string        `yaml:"log_level"`
	PasswordMinLength int           `yaml:"password_min_length"`
	LockoutThreshold  int           `yaml:"lockout_threshold"`
	LockoutDuration   time.Duration `yaml:"lockout_duration"`
	SessionTTLWeb     time.Duration `yaml:"session_ttl_web"`
	SessionTTLMobile  time.Duration `yaml:"session_ttl_mobile"`
	MaxBodyBytes      int64         `yaml:"max_body_bytes"`
	MaxImportBytes    int64         `yaml:"max_import_bytes"`
	MaxSyncBytes      int64         `yaml:"max_sync_bytes"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`
	MediaMaxPhoto     int64         `yaml:"media_max_photo_bytes"`
	MediaMaxVideo     int64         `yaml:"media_max_video_bytes"`
	MediaMaxAudio     int64         `yaml:"media_max_audio_bytes"`
	MediaMaxPDF       int64         `yaml:"media_max_pdf_bytes"`
	MediaUploadTTL    time.Duration `yaml:"media_upload_ttl"`
	MediaS3Endpoint   string        `yaml:"media_s3_endpoint"`
	MediaS3AccessKey  string        `yaml:"media_s3_access_key"`
	MediaS3SecretKey  string        `yaml:"media_s3_secret_key"`
	MediaS3Bucket     string        `yaml:"media_s3_bucket"`
	MediaS3UseSSL     bool          `yaml:"media_s3_use_ssl"`

	VideoRecordSegment  time.Duration `yaml:"video_record_segment"`
	VideoRecordFragment time.Duration `yaml:"video_record_fragment"`

	MQTTListen          string        `yaml:"mqtt_listen"`
	MQTTBrokerURL       string        `yaml:"mqtt_broker_url"`
	MQTTUsername        string        `yaml:"mqtt_username"`
	MQTTPassword        string        `yaml:"mqtt_password"`
	MQTTClientID        string        `yaml:"mqtt_client_id"`
	MQTTShareGroup      string        `yaml:"mqtt_share_group"`
	MonitorRetention    time.Duration `yaml:"monitor_retention"`
	MonitorMaxFuture    time.Duration `yaml:"monitor_max_future"`
	MonitorMaxPast      time.Duration `yaml:"monitor_max_past"`
	AlertAckTimeout     time.Duration `yaml:"alert_ack_timeout"`
	AlertDisposeTimeout time.Duration `yaml:"alert_dispose_timeout"`
	AlertCountyTimeout  time.Duration `yaml:"alert_county_timeout"`
	AlertSyncGrace      time.Duration `yaml:"alert_sync_grace"`
	FCMProjectID        string        `yaml:"fcm_project_id"`
	FCMCredentialsFile  string        `yaml:"fcm_credentials_file"`
	FCMEndpoint         string        `yaml:"fcm_endpoint"`
	FCMWakeInterval     time.Duration `yaml:"fcm_wake_interval"`
	SMSURL              string        `yaml:"sms_url"`
	SMSAccessKey        string        `yaml:"sms_access_key"`
	SMSSecret           string        `yaml:"sms_secret"`
	SMSSignName         string        `yaml:"sms_sign_name"`
	SMSAlertTemplate    string        `yaml:"sms_alert_template"`
	SMSReminderTemplate string        `yaml:"sms_reminder_template"`
	SMSContactTemplate  string        `yaml:"sms_contact_template"`
	ZZDDomain           string        `yaml:"zzd_domain"`
	ZZDAppKey           string        `yaml:"zzd_app_key"`
	ZZDAppSecret        string        `yaml:"zzd_app_secret"`
	ZZDTenantID         string        `yaml:"zzd_tenant_id"`
	MapTileURL          string        `yaml:"map_tile_url"`

	RouteGraph          string        `yaml:"route_graph"`
	RouteOSRMURL        string        `yaml:"route_osrm_url"`
	RouteTimeout        time.Duration `yaml:"route_timeout"`
	RouteEstimateSpeed  int           `yaml:"route_estimate_speed_kmh"`
	FaxURL              string        `yaml:"fax_url"`
	FaxToken            string        `yaml:"fax_token"`
	FaxSender           string        `yaml:"fax_sender"`
	VideoUDPAddr        string        `yaml:"video_udp_addr"`
	VideoNAT1To1IPs     string        `yaml:"video_nat_1to1_ips"`
	VideoICEServers     string        `yaml:"video_ice_servers"`
	VideoTURNUsername   string        `yaml:"video_turn_username"`
	VideoTURNCredential string        `yaml:"video_turn_credential"`
	VideoMaxStreams     int           `yaml:"video_max_streams"`
	VideoMaxViewers     int           `yaml:"video_max_viewers"`
	VideoResumeWindow   time.Duration `yaml:"video_resume_window"`
}

// Default returns the embedded defaults: everything local under ./data.
func Default() Config {
	return Config{
		HTTPAddr:            "127.0.0.1:8080",
		DataDir:             "./data",
		Demo:                true,
		DemoHistory:         true,
		DemoFeed:            true,
		LogFormat:           "text",
		LogLevel:            "info",
		PasswordMinLength:   8,
		LockoutThreshold:    6,
		LockoutDuration:     15 * time.Minute,
		SessionTTLWeb:       12 * time.Hour,
		SessionTTLMobile:    30 * 24 * time.Hour,
		MaxBodyBytes:        1 << 20,
		MaxImportBytes:      20 << 20,
		MaxSyncBytes:        16 << 20,
		ShutdownTimeout:     15 * time.Second,
		MediaMaxPhoto:       30 << 20,
		MediaMaxVideo:       1 << 30,
		MediaMaxAudio:       100 << 20,
		MediaMaxPDF:         50 << 20,
		MediaUploadTTL:      30 * 24 * time.Hour,
		VideoRecordSegment:  10 * time.Second,
		VideoRecordFragment: time.Second,
		MediaS3Bucket:       "yingji-media",

		MQTTListen:          "127.0.0.1:1884",
		MQTTShareGroup:      "yingji",
		MonitorRetention:    90 * 24 * time.Hour,
		MonitorMaxFuture:    5 * time.Minute,
		MonitorMaxPast:      7 * 24 * time.Hour,
		AlertAckTimeout:     15 * time.Minute,
		AlertDisposeTimeout: 30 * time.Minute,
		AlertCountyTimeout:  2 * time.Hour,
		FCMWakeInterval:     5 * time.Second,

		RouteGraph:         "demo",
		RouteTimeout:       2 * time.Second,
		RouteEstimateSpeed: 40,
		VideoUDPAddr:       "127.0.0.1:0",
		VideoMaxStreams:    50,
		VideoMaxViewers:    50,
		VideoResumeWindow:  time.Minute,
	}
}

// key describes one setting: its file key, environment variable, flag and Chinese meaning.
type key struct {
	name, env, flag, zh string
	ptr                 any
}

func (c *Config) keys() []key {
	return []key{
		{"http_addr", "YINGJI_HTTP_ADDR", "http-addr", "HTTP 监听地址（端口 0 自动选择）", &c.HTTPAddr},
		{"data_dir", "YINGJI_DATA_DIR", "data-dir", "数据目录（SQLite 数据库与媒体文件）", &c.DataDir},
		{"database_url", "YINGJI_DATABASE_URL", "database-url", "数据库地址（空：数据目录中的 SQLite；postgres://...：PostgreSQL）", &c.DatabaseURL},
		{"demo", "YINGJI_DEMO", "demo", "空数据库首次启动时载入演示城市数据", &c.Demo},
		{"demo_password", "YINGJI_DEMO_PASSWORD", "demo-password", "演示账号密码（未设置时随机生成并在日志中打印一次）", &c.DemoPassword},
		{"demo_history", "YINGJI_DEMO_HISTORY", "demo-history", "载入演示城市时一并生成一个月的历史数据（风险点、巡查、隐患、监测读数、预警）", &c.DemoHistory},
		{"demo_feed", "YINGJI_DEMO_FEED", "demo-feed", "演示城市运行时模拟演示设备每分钟上报读数（设备保持在线、曲线持续更新）", &c.DemoFeed},
		{"log_format", "YINGJI_LOG_FORMAT", "log-format", "日志格式 text 或 json", &c.LogFormat},
		{"log_level", "YINGJI_LOG_LEVEL", "log-level", "日志级别 debug/info/warn/error", &c.LogLevel},
		{"password_min_length", "YINGJI_PASSWORD_MIN_LENGTH", "password-min-length", "密码最小长度（不低于 6）", &c.PasswordMinLength},
		{"lockout_threshold", "YINGJI_LOCKOUT_THRESHOLD", "lockout-threshold", "连续输错密码达到该次数即锁定账号", &c.LockoutThreshold},
		{"lockout_duration", "YINGJI_LOCKOUT_DURATION", "lockout-duration", "账号锁定时长，如 15m", &c.LockoutDuration},
		{"session_ttl_web", "YINGJI_SESSION_TTL_WEB", "session-ttl-web", "网页端会话有效期，如 12h", &c.SessionTTLWeb},
		{"session_ttl_mobile", "YINGJI_SESSION_TTL_MOBILE", "session-ttl-mobile", "移动端会话有效期，如 720h", &c.SessionTTLMobile},
		{"max_body_bytes", "YINGJI_MAX_BODY_BYTES", "max-body-bytes", "JSON 请求体上限（字节）", &c.MaxBodyBytes},
		{"max_import_bytes", "YINGJI_MAX_IMPORT_BYTES", "max-import-bytes", "Excel 导入文件上限（字节）", &c.MaxImportBytes},
		{"max_sync_bytes", "YINGJI_MAX_SYNC_BYTES", "max-sync-bytes", "一次同步提交或拉取请求体上限（字节，解压后）", &c.MaxSyncBytes},
		{"shutdown_timeout", "YINGJI_SHUTDOWN_TIMEOUT", "shutdown-timeout", "优雅停机等待时长", &c.ShutdownTimeout},
		{"media_max_photo_bytes", "YINGJI_MEDIA_MAX_PHOTO_BYTES", "media-max-photo-bytes", "照片（JPEG、PNG、HEIC、WebP）大小上限（字节）", &c.MediaMaxPhoto},
		{"media_max_video_bytes", "YINGJI_MEDIA_MAX_VIDEO_BYTES", "media-max-video-bytes", "视频（MP4、MOV）大小上限（字节）", &c.MediaMaxVideo},
		{"media_max_audio_bytes", "YINGJI_MEDIA_MAX_AUDIO_BYTES", "media-max-audio-bytes", "音频大小上限（字节）", &c.MediaMaxAudio},
		{"media_max_pdf_bytes", "YINGJI_MEDIA_MAX_PDF_BYTES", "media-max-pdf-bytes", "PDF 文件大小上限（字节）", &c.MediaMaxPDF},
		{"media_upload_ttl", "YINGJI_MEDIA_UPLOAD_TTL", "media-upload-ttl", "未完成的上传保留时长，超时删除已收到的部分，如 720h", &c.MediaUploadTTL},
		{"media_s3_endpoint", "YINGJI_MEDIA_S3_ENDPOINT", "media-s3-endpoint", "MinIO/S3 地址 host:port（空：媒体存本地目录）", &c.MediaS3Endpoint},
		{"media_s3_access_key", "YINGJI_MEDIA_S3_ACCESS_KEY", "media-s3-access-key", "MinIO/S3 访问密钥 ID", &c.MediaS3AccessKey},
		{"media_s3_secret_key", "YINGJI_MEDIA_S3_SECRET_KEY", "media-s3-secret-key", "MinIO/S3 访问密钥（建议用环境变量）", &c.MediaS3SecretKey},
		{"media_s3_bucket", "YINGJI_MEDIA_S3_BUCKET", "media-s3-bucket", "MinIO/S3 存储桶（不存在时自动创建）", &c.MediaS3Bucket},
		{"media_s3_use_ssl", "YINGJI_MEDIA_S3_USE_SSL", "media-s3-use-ssl", "连接 MinIO/S3 时使用 HTTPS", &c.MediaS3UseSSL},
		{"video_record_segment", "YINGJI_VIDEO_RECORD_SEGMENT", "video-record-segment", "视频录像分段时长（每段从关键帧开始，到时后的第一个关键帧换段），如 10s", &c.VideoRecordSegment},
		{"video_record_fragment", "YINGJI_VIDEO_RECORD_FRAGMENT", "video-record-fragment", "录像写盘间隔（服务器崩溃最多丢失这么长的录像），如 1s", &c.VideoRecordFragment},
		{"mqtt_listen", "YINGJI_MQTT_LISTEN", "mqtt-listen", "内置 MQTT 服务监听地址（off：不启动；设置 mqtt_broker_url 时不启动）", &c.MQTTListen},
		{"mqtt_broker_url", "YINGJI_MQTT_BROKER_URL", "mqtt-broker-url", "外部 MQTT 服务地址，如 mqtt://127.0.0.1:1883（多实例部署时用共享订阅接收数据）", &c.MQTTBrokerURL},
		{"mqtt_username", "YINGJI_MQTT_USERNAME", "mqtt-username", "连接外部 MQTT 服务的用户名", &c.MQTTUsername},
		{"mqtt_password", "YINGJI_MQTT_PASSWORD", "mqtt-password", "连接外部 MQTT 服务的密码（建议用环境变量）", &c.MQTTPassword},
		{"mqtt_client_id", "YINGJI_MQTT_CLIENT_ID", "mqtt-client-id", "连接外部 MQTT 服务的客户端 ID（每个实例不同；空：主机名加进程号）", &c.MQTTClientID},
		{"mqtt_share_group", "YINGJI_MQTT_SHARE_GROUP", "mqtt-share-group", "外部 MQTT 共享订阅组名（同组实例每条数据只处理一次）", &c.MQTTShareGroup},
		{"monitor_retention", "YINGJI_MONITOR_RETENTION", "monitor-retention", "监测原始数据保留时长（分钟、小时汇总另行保留），如 2160h", &c.MonitorRetention},
		{"monitor_max_future", "YINGJI_MONITOR_MAX_FUTURE", "monitor-max-future", "监测数据时间最多可超前服务器时间多久，超过即拒收", &c.MonitorMaxFuture},
		{"monitor_max_past", "YINGJI_MONITOR_MAX_PAST", "monitor-max-past", "监测数据时间最早可早于服务器时间多久（断点续传），超过即拒收", &c.MonitorMaxPast},
		{"alert_ack_timeout", "YINGJI_ALERT_ACK_TIMEOUT", "alert-ack-timeout", "企业签收预警的时限，超时推送乡镇（街道）", &c.AlertAckTimeout},
		{"alert_dispose_timeout", "YINGJI_ALERT_DISPOSE_TIMEOUT", "alert-dispose-timeout", "企业处置完毕的时限（自预警产生起），超时推送乡镇（街道）", &c.AlertDisposeTimeout},
		{"alert_county_timeout", "YINGJI_ALERT_COUNTY_TIMEOUT", "alert-county-timeout", "预警仍未处置完毕时推送县（区）的时限（自预警产生起）", &c.AlertCountyTimeout},
		{"alert_sync_grace", "YINGJI_ALERT_SYNC_GRACE", "alert-sync-grace", "超时后推送上级前，等待手机离线时按时签收、处置的记录同步上来的时间（0 为到时即推送）", &c.AlertSyncGrace},
		{"fcm_project_id", "YINGJI_FCM_PROJECT_ID", "fcm-project-id", "FCM 推送的 Firebase 项目 ID（空：不用 FCM）", &c.FCMProjectID},
		{"fcm_credentials_file", "YINGJI_FCM_CREDENTIALS_FILE", "fcm-credentials-file", "FCM 服务账号密钥文件（JSON）", &c.FCMCredentialsFile},
		{"fcm_endpoint", "YINGJI_FCM_ENDPOINT", "fcm-endpoint", "FCM 接口地址（空：谷歌官方地址；测试或代理时设置）", &c.FCMEndpoint},
		{"fcm_wake_interval", "YINGJI_FCM_WAKE_INTERVAL", "fcm-wake-interval", "唤醒后台手机同步的 FCM 数据消息每台设备的最短间隔，间隔内的多次变化合并为一条，如 5s", &c.FCMWakeInterval},
		{"sms_url", "YINGJI_SMS_URL", "sms-url", "短信网关地址（空：不发短信）", &c.SMSURL},
		{"sms_access_key", "YINGJI_SMS_ACCESS_KEY", "sms-access-key", "短信网关访问密钥 ID", &c.SMSAccessKey},
		{"sms_secret", "YINGJI_SMS_SECRET", "sms-secret", "短信网关签名密钥（建议用环境变量）", &c.SMSSecret},
		{"sms_sign_name", "YINGJI_SMS_SIGN_NAME", "sms-sign-name", "已备案的短信签名", &c.SMSSignName},
		{"sms_alert_template", "YINGJI_SMS_ALERT_TEMPLATE", "sms-alert-template", "预警短信模板 ID（参数 enterprise、title、level、time）", &c.SMSAlertTemplate},
		{"sms_reminder_template", "YINGJI_SMS_REMINDER_TEMPLATE", "sms-reminder-template", "提醒短信模板 ID（参数 kind、title、time；隐患交办、到期与逾期、巡查提醒）；空：提醒不发短信", &c.SMSReminderTemplate},
		{"sms_contact_template", "YINGJI_SMS_CONTACT_TEMPLATE", "sms-contact-template", "一键短信模板 ID（参数 sender、text；指挥调度时向资源联系人、队员发短信）；空：不能一键发短信", &c.SMSContactTemplate},
		{"zzd_domain", "YINGJI_ZZD_DOMAIN", "zzd-domain", "浙政钉开放平台地址，如 https://openplatform-pro.ding.zj.gov.cn（空：不用浙政钉）", &c.ZZDDomain},
		{"zzd_app_key", "YINGJI_ZZD_APP_KEY", "zzd-app-key", "浙政钉应用 AppKey", &c.ZZDAppKey},
		{"zzd_app_secret", "YINGJI_ZZD_APP_SECRET", "zzd-app-secret", "浙政钉应用 AppSecret（建议用环境变量）", &c.ZZDAppSecret},
		{"zzd_tenant_id", "YINGJI_ZZD_TENANT_ID", "zzd-tenant-id", "浙政钉租户 ID", &c.ZZDTenantID},
		{"map_tile_url", "YINGJI_MAP_TILE_URL", "map-tile-url", "门户地图瓦片地址模板（WGS84，含 {z}/{x}/{y} 与密钥，如天地图）；空：只显示内置的城市轮廓", &c.MapTileURL},
		{"route_graph", "YINGJI_ROUTE_GRAPH", "route-graph", "路径规划用的路网文件（GeoJSON 线要素，属性 speed_kmh 或 highway 道路等级、oneway）；demo：内置的演示城市路网；空：不用路网", &c.RouteGraph},
		{"route_osrm_url", "YINGJI_ROUTE_OSRM_URL", "route-osrm-url", "OSRM 兼容路径规划服务地址，如 http://127.0.0.1:5000（空：不用；设置时优先于路网）", &c.RouteOSRMURL},
		{"route_timeout", "YINGJI_ROUTE_TIMEOUT", "route-timeout", "每个路径规划来源的应答时限，超时改用下一个，最后按直线估算", &c.RouteTimeout},
		{"route_estimate_speed_kmh", "YINGJI_ROUTE_ESTIMATE_SPEED_KMH", "route-estimate-speed-kmh", "无路径可用时按直线估算行程时间所用的平均车速（公里/小时）", &c.RouteEstimateSpeed},
		{"fax_url", "YINGJI_FAX_URL", "fax-url", "传真网关地址（HTTP 接口，见 README；空：不发传真）", &c.FaxURL},
		{"fax_token", "YINGJI_FAX_TOKEN", "fax-token", "传真网关访问令牌（Bearer，建议用环境变量）", &c.FaxToken},
		{"fax_sender", "YINGJI_FAX_SENDER", "fax-sender", "传真发件单位名称（印在传真首页）", &c.FaxSender},
		{"video_udp_addr", "YINGJI_VIDEO_UDP_ADDR", "video-udp-addr", "现场视频的 UDP 地址（所有音视频连接共用一个端口，防火墙只需放行它；生产环境如 :8443；端口 0 自动选择，仅供本机试用）", &c.VideoUDPAddr},
		{"video_nat_1to1_ips", "YINGJI_VIDEO_NAT_1TO1_IPS", "video-nat-1to1-ips", "服务器在 1:1 NAT 之后时对外公布的公网 IP（逗号分隔，如云主机弹性 IP）；空：使用网卡地址", &c.VideoNAT1To1IPs},
		{"video_ice_servers", "YINGJI_VIDEO_ICE_SERVERS", "video-ice-servers", "发给推流与观看端的 STUN/TURN 地址（逗号分隔，如 stun:stun.example.cn:3478,turn:turn.example.cn:3478）", &c.VideoICEServers},
		{"video_turn_username", "YINGJI_VIDEO_TURN_USERNAME", "video-turn-username", "TURN 用户名（有 turn: 地址时必填）", &c.VideoTURNUsername},
		{"video_turn_credential", "YINGJI_VIDEO_TURN_CREDENTIAL", "video-turn-credential", "TURN 密码（建议用环境变量）", &c.VideoTURNCredential},
		{"video_max_streams", "YINGJI_VIDEO_MAX_STREAMS", "video-max-streams", "同时推流的最大路数（含等待重连的），超出时返回 503 与 Retry-After", &c.VideoMaxStreams},
		{"video_max_viewers", "YINGJI_VIDEO_MAX_VIEWERS", "video-max-viewers", "每路视频同时观看的最大人数", &c.VideoMaxViewers},
		{"video_resume_window", "YINGJI_VIDEO_RESUME_WINDOW", "video-resume-window", "推流端断线后可恢复同一路视频的时限，超时视频流结束", &c.VideoResumeWindow},
	}
}

// Error is a configuration error naming the key.
type Error struct {
	Key, Env, Reason, ReasonEN string
}

func (e *Error) Error() string {
	return fmt.Sprintf("配置项 %s（%s）无效：%s / invalid configuration %s (%s): %s", e.Key, e.Env, e.Reason, e.Key, e.Env, e.ReasonEN)
}

// Load builds the configuration for args (the flags after the subcommand), reading the
// environment through getenv. The file named by -config (or YINGJI_CONFIG) is read between
// the defaults and the environment.
func Load(args []string, getenv func(string) string) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet("yingji", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	configFile := fs.String("config", getenv("YINGJI_CONFIG"), "配置文件（YAML） / configuration file (YAML)")
	// Flags are parsed into strings so they can be applied last, after file and environment.
	flagVals := map[string]*string{}
	for _, k := range c.keys() {
		flagVals[k.name] = fs.String(k.flag, "", fmt.Sprintf("%s（%s，默认 %q）", k.zh, k.env, current(k)))
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *configFile != "" {
		b, err := os.ReadFile(*configFile)
		if err != nil {
			return c, &Error{Key: "config", Env: "YINGJI_CONFIG", Reason: "无法读取配置文件：" + err.Error(), ReasonEN: "cannot read the file"}
		}
		var raw map[string]any
		if err := yaml.Unmarshal(b, &raw); err != nil {
			return c, &Error{Key: "config", Env: "YINGJI_CONFIG", Reason: "配置文件不是合法的 YAML：" + err.Error(), ReasonEN: "not valid YAML"}
		}
		known := map[string]key{}
		for _, k := range c.keys() {
			known[k.name] = k
		}
		for name, v := range raw {
			k, ok := known[name]
			if !ok {
				return c, &Error{Key: name, Env: *configFile, Reason: "未知的配置项", ReasonEN: "unknown key"}
			}
			if err := set(k, fmt.Sprint(v)); err != nil {
				return c, err
			}
		}
	}
	for _, k := range c.keys() {
		if v, ok := lookup(getenv, k.env); ok {
			if err := set(k, v); err != nil {
				return c, err
			}
		}
	}
	var ferr error
	fs.Visit(func(f *flag.Flag) {
		for _, k := range c.keys() {
			if k.flag == f.Name && ferr == nil {
				ferr = set(k, *flagVals[k.name])
			}
		}
	})
	if ferr != nil {
		return c, ferr
	}
	err := c.Validate()
	return c, err
}

// current is the setting's value as text.
func current(k key) string {
	switch p := k.ptr.(type) {
	case *string:
		return *p
	case *bool:
		return strconv.FormatBool(*p)
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *time.Duration:
		return p.String()
	}
	return ""
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func set(k key, v string) error {
	bad := func(zh, en string) error { return &Error{Key: k.name, Env: k.env, Reason: zh, ReasonEN: en} }
	v = strings.TrimSpace(v)
	switch p := k.ptr.(type) {
	case *string:
		*p = v
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return bad(fmt.Sprintf("“%s”不是布尔值（true/false）", v), "not a boolean")
		}
		*p = b
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return bad(fmt.Sprintf("“%s”不是整数", v), "not an integer")
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return bad(fmt.Sprintf("“%s”不是整数", v), "not an integer")
		}
		*p = n
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return bad(fmt.Sprintf("“%s”不是时长（如 15m、12h）", v), "not a duration such as 15m or 12h")
		}
		*p = d
	}
	return nil
}

// Validate checks every setting.
func (c *Config) Validate() error {
	bad := func(name, zh, en string) error {
		for _, k := range c.keys() {
			if k.name == name {
				return &Error{Key: name, Env: k.env, Reason: zh, ReasonEN: en}
			}
		}
		return &Error{Key: name, Reason: zh, ReasonEN: en}
	}
	if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return bad("http_addr", "应为“主机:端口”，如 127.0.0.1:8080", "want host:port such as 127.0.0.1:8080")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return bad("http_addr", "端口应为 0–65535", "port must be 0-65535")
	}
	if c.DataDir == "" {
		return bad("data_dir", "不能为空", "must not be empty")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return bad("database_url", "应为空（使用 SQLite）或以 postgres:// 开头", "must be empty (SQLite) or start with postgres://")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return bad("log_format", "应为 text 或 json", "must be text or json")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log_level", "应为 debug、info、warn 或 error", "must be debug, info, warn or error")
	}
	if c.PasswordMinLength < 6 || c.PasswordMinLength > 64 {
		return bad("password_min_length", "应在 6 到 64 之间", "must be between 6 and 64")
	}
	if c.DemoPassword != "" && len([]rune(c.DemoPassword)) < c.PasswordMinLength {
		return bad("demo_password", fmt.Sprintf("长度不能少于 %d 位（password_min_length）", c.PasswordMinLength), "shorter than password_min_length")
	}
	if c.LockoutThreshold < 1 || c.LockoutThreshold > 100 {
		return bad("lockout_threshold", "应在 1 到 100 之间", "must be between 1 and 100")
	}
	if c.LockoutDuration < time.Minute {
		return bad("lockout_duration", "不能短于 1 分钟", "must be at least 1m")
	}
	if c.SessionTTLWeb < time.Minute {
		return bad("session_ttl_web", "不能短于 1 分钟", "must be at least 1m")
	}
	if c.SessionTTLMobile < time.Minute {
		return bad("session_ttl_mobile", "不能短于 1 分钟", "must be at least 1m")
	}
	if c.MaxBodyBytes < 1024 {
		return bad("max_body_bytes", "不能小于 1024", "must be at least 1024")
	}
	if c.MaxImportBytes < 1024 {
		return bad("max_import_bytes", "不能小于 1024", "must be at least 1024")
	}
	if c.MaxSyncBytes < 64<<10 {
		return bad("max_sync_bytes", "不能小于 65536", "must be at least 65536")
	}
	if c.MediaS3Endpoint != "" && (c.MediaS3AccessKey == "" || c.MediaS3SecretKey == "" || c.MediaS3Bucket == "") {
		return bad("media_s3_endpoint", "设置了 MinIO/S3 地址时，访问密钥 ID、密钥和存储桶都不能为空", "access key, secret key and bucket are required with an endpoint")
	}
	if c.ShutdownTimeout <= 0 {
		return bad("shutdown_timeout", "必须大于 0", "must be positive")
	}
	if c.MQTTListen == "off" || c.MQTTListen == "none" {
		c.MQTTListen = ""
	}
	if c.MQTTListen != "" {
		if _, port, err := net.SplitHostPort(c.MQTTListen); err != nil {
			return bad("mqtt_listen", "应为 off 或“主机:端口”，如 127.0.0.1:1884", "want off or host:port such as 127.0.0.1:1884")
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return bad("mqtt_listen", "端口应为 0–65535", "port must be 0-65535")
		}
	}
	if u := c.MQTTBrokerURL; u != "" && !strings.HasPrefix(u, "mqtt://") && !strings.HasPrefix(u, "tcp://") && !strings.HasPrefix(u, "mqtts://") && !strings.HasPrefix(u, "ssl://") {
		return bad("mqtt_broker_url", "应以 mqtt://、mqtts://、tcp:// 或 ssl:// 开头", "must start with mqtt://, mqtts://, tcp:// or ssl://")
	}
	if c.MQTTBrokerURL != "" && c.MQTTShareGroup == "" {
		return bad("mqtt_share_group", "使用外部 MQTT 服务时不能为空", "required with mqtt_broker_url")
	}
	if c.MonitorRetention < 24*time.Hour {
		return bad("monitor_retention", "不能短于 24 小时", "must be at least 24h")
	}
	if c.MonitorMaxFuture < 0 || c.MonitorMaxPast <= 0 {
		return bad("monitor_max_past", "时长必须大于 0", "must be positive")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"alert_ack_timeout", c.AlertAckTimeout}, {"alert_dispose_timeout", c.AlertDisposeTimeout}, {"alert_county_timeout", c.AlertCountyTimeout}} {
		if d.v < time.Second {
			return bad(d.name, "不能短于 1 秒", "must be at least 1s")
		}
	}
	if c.AlertSyncGrace < 0 {
		return bad("alert_sync_grace", "不能为负数", "must not be negative")
	}
	if c.AlertDisposeTimeout < c.AlertAckTimeout || c.AlertCountyTimeout < c.AlertDisposeTimeout {
		return bad("alert_county_timeout", "应满足 签收时限 ≤ 处置时限 ≤ 推送县（区）时限", "want ack ≤ dispose ≤ county timeout")
	}
	if c.FCMWakeInterval < time.Second {
		return bad("fcm_wake_interval", "不能短于 1 秒", "must be at least 1s")
	}
	if c.FCMProjectID != "" && c.FCMCredentialsFile == "" && c.FCMEndpoint == "" {
		return bad("fcm_credentials_file", "设置了 FCM 项目 ID 时不能为空", "required with fcm_project_id")
	}
	if c.SMSURL != "" && (c.SMSAccessKey == "" || c.SMSSecret == "" || c.SMSSignName == "" || c.SMSAlertTemplate == "") {
		return bad("sms_url", "设置了短信网关时，访问密钥 ID、密钥、签名和预警模板都不能为空", "access key, secret, sign name and alert template are required with sms_url")
	}
	if c.ZZDDomain != "" && (c.ZZDAppKey == "" || c.ZZDAppSecret == "" || c.ZZDTenantID == "") {
		return bad("zzd_domain", "设置了浙政钉地址时，AppKey、AppSecret 和租户 ID 都不能为空", "app key, app secret and tenant id are required with zzd_domain")
	}
	if err := c.VideoConfig().Validate(); err != nil {
		name, _, _ := strings.Cut(err.Error(), " ")
		name = strings.TrimSuffix(strings.TrimPrefix(name, "video."), ":")
		return bad("video_"+name, err.Error(), err.Error())
	}
	for _, m := range []struct {
		name string
		v    int64
	}{{"media_max_photo_bytes", c.MediaMaxPhoto}, {"media_max_video_bytes", c.MediaMaxVideo},
		{"media_max_audio_bytes", c.MediaMaxAudio}, {"media_max_pdf_bytes", c.MediaMaxPDF}} {
		if m.v < 1024 {
			return bad(m.name, "不能小于 1024", "must be at least 1024")
		}
	}
	if c.MediaUploadTTL < time.Hour {
		return bad("media_upload_ttl", "不能短于 1 小时", "must be at least 1h")
	}
	if u := c.RouteOSRMURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return bad("route_osrm_url", "应以 http:// 或 https:// 开头", "must start with http:// or https://")
	}
	if c.RouteTimeout < 10*time.Millisecond || c.RouteTimeout > time.Minute {
		return bad("route_timeout", "应在 10ms 到 1m 之间", "must be between 10ms and 1m")
	}
	if c.RouteEstimateSpeed < 5 || c.RouteEstimateSpeed > 150 {
		return bad("route_estimate_speed_kmh", "应在 5 到 150 之间", "must be between 5 and 150")
	}
	if c.RouteGraph != "" && c.RouteGraph != "demo" {
		if st, err := os.Stat(c.RouteGraph); err != nil || st.IsDir() {
			return bad("route_graph", "路网文件不存在或不可读", "the road-network file does not exist")
		}
	}
	if u := c.FaxURL; u != "" {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return bad("fax_url", "应以 http:// 或 https:// 开头", "must start with http:// or https://")
		}
		if c.FaxToken == "" {
			return bad("fax_token", "设置了传真网关时不能为空", "required with fax_url")
		}
	}
	if c.VideoRecordSegment < 2*time.Second || c.VideoRecordSegment > 10*time.Minute {
		return bad("video_record_segment", "应在 2 秒到 10 分钟之间", "must be between 2s and 10m")
	}
	if c.VideoRecordFragment < 100*time.Millisecond || c.VideoRecordFragment > c.VideoRecordSegment {
		return bad("video_record_fragment", "应不短于 100 毫秒且不长于分段时长", "must be at least 100ms and at most video_record_segment")
	}
	return nil
}

// SQLitePath is the database file used when DatabaseURL is empty.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "yingji.db") }

// MediaDir is the local media folder.
func (c *Config) MediaDir() string { return filepath.Join(c.DataDir, "media") }

// VideoSpoolDir holds the recording segments being written (local to this instance).
func (c *Config) VideoSpoolDir() string { return filepath.Join(c.DataDir, "video-spool") }

// MediaUploadDir holds the partial data of resumable uploads until they complete.
func (c *Config) MediaUploadDir() string { return filepath.Join(c.MediaDir(), "uploads") }

// Describe lists the keys for documentation: file key, environment variable, flag, default,
// meaning.
func Describe() [][5]string {
	c := Default()
	var out [][5]string
	for _, k := range c.keys() {
		out = append(out, [5]string{k.name, k.env, "-" + k.flag, current(k), k.zh})
	}
	return out
}

// VideoConfig is the SFU's configuration from the video_* keys.
func (c *Config) VideoConfig() video.Config {
	v := video.DefaultConfig()
	v.UDPAddr, v.MaxStreams, v.MaxViewers, v.ResumeWindow = c.VideoUDPAddr, c.VideoMaxStreams, c.VideoMaxViewers, c.VideoResumeWindow
	for _, ip := range strings.Split(c.VideoNAT1To1IPs, ",") {
		if ip = strings.TrimSpace(ip); ip != "" {
			v.NAT1To1IPs = append(v.NAT1To1IPs, ip)
		}
	}
	for _, u := range strings.Split(c.VideoICEServers, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		s := video.ICEServer{URLs: []string{u}}
		if strings.HasPrefix(u, "turn") {
			s.Username, s.Credential = c.VideoTURNUsername, c.VideoTURNCredential
		}
		v.ICEServers = append(v.ICEServers, s)
	}
	return v
}
