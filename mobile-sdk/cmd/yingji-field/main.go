// Command yingji-field is the Yingji field client for terminals and scripts: one replica file
// is one device, working offline and syncing with the server. Its contract (flags, commands,
// JSON output, exit codes) is shared/contracts/field-client.md; the README repeats it.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	sdk "github.com/yingji/yingji/mobile-sdk"
)

var usageCommands = [][2]string{
	{"login -server URL -user 用户名 -password 密码", "登录（需联网）"},
	{"sync", "提交本机修改并拉取最新数据（需联网）"},
	{"list 数据集 [-where 字段=值]...", "列出记录"},
	{"get 数据集 编号", "查看一条记录"},
	{"create 数据集 -json 对象", "新建记录（离线可用）"},
	{"update 数据集 编号 -json 对象", "修改记录的部分字段（离线可用）"},
	{"delete 数据集 编号", "删除记录（离线可用）"},
	{"read 消息编号", "把一条消息（notifications）标记为已读（离线可用）"},
	{"attach 数据集 编号 字段 文件", "给记录添加附件（照片等，离线可用，同步时上传）"},
	{"pending", "待同步的修改"},
	{"rejected", "被服务器拒绝的修改"},
	{"retry 修改编号 [-json 对象]", "重新提交被拒绝的修改（可附修正后的字段）"},
	{"dismiss 修改编号", "放弃被拒绝的修改"},
	{"status", "本机状态"},
	{"media", "附件上传队列（待上传、上传中、失败原因）"},
	{"thumb 摘要 [-width 320|1280]", "下载照片缩略图并打印本机路径（需联网，下载一次后缓存）"},
	{"search 集合 检索词… [-limit N]", "离线全文检索（plans 预案、knowledge 知识库；汉字不分词，数字如 CAS 号）"},
	{"cas CAS号", "离线按 CAS 号查危险化学品安全技术说明书（MSDS）"},
	{"live", "保持实时连接，数据变化时自动同步（Ctrl-C 结束）"},
	{"video publish 文件 [-incident 事件] [-title 标题] [-fps 30] [-duration 60s]", "以 WHIP 推送 H.264（Annex-B）或 VP8（IVF）视频文件（需联网；-duration 循环播放到时长；断线自动恢复同一路）"},
	{"video list [-all true]", "列出直播中的视频流（-all true 含已结束的；需联网）"},
	{"logout", "退出登录（本机数据和待同步修改保留）"},
}

func usage() string {
	var b strings.Builder
	b.WriteString("用法: yingji-field [-db 文件] [-o text|json] 命令 [参数]\n\n命令:\n")
	w := 0
	for _, c := range usageCommands {
		w = max(w, width(c[0]))
	}
	for _, c := range usageCommands {
		b.WriteString("  " + c[0] + strings.Repeat(" ", w-width(c[0])+3) + c[1] + "\n")
	}
	b.WriteString("\n退出码: 0 成功 · 1 用法错误 · 2 输入无效 · 3 无法连接服务器 · 4 记录不存在 · 5 未登录或会话失效\n")
	return b.String()
}

// errHelp asks for the usage text (exit 0).
var errHelp = usageError{"help"}

// usageError is a command line the client cannot read (exit 1).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	app := &app{db: "./yingji-field.db", format: "text", out: stdout, errOut: stderr}
	err := app.run(ctx, args)
	if err == nil {
		return 0
	}
	var ue usageError
	if asUsage(err, &ue) && ue == errHelp {
		fmt.Fprint(stdout, usage())
		return 0
	}
	if asUsage(err, &ue) {
		fmt.Fprintf(stderr, "错误 usage: %s\n", ue.msg)
		fmt.Fprint(stderr, "\n"+usage())
		return 1
	}
	e := sdk.AsError(err)
	msg := e.Message
	if e.Kind == sdk.KindInternal && e.Err != nil {
		msg += "：" + e.Err.Error()
	}
	fmt.Fprintf(stderr, "错误 %s: %s\n", e.Code, msg)
	return e.Kind.ExitCode()
}

func asUsage(err error, ue *usageError) bool {
	u, ok := err.(usageError)
	if ok {
		*ue = u
	}
	return ok
}

type app struct {
	db, format  string
	out, errOut io.Writer
	client      *sdk.Client
}

// parsed is a command line split into positional arguments and flags.
type parsed struct {
	pos   []string
	flags map[string][]string
}

func (p parsed) get(name string) string {
	if v := p.flags[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// parse reads positional arguments and -name value / -name=value flags in any order; the
// global flags -db and -o are accepted anywhere.
func (a *app) parse(args []string, known ...string) (parsed, error) {
	p := parsed{flags: map[string][]string{}}
	allowed := map[string]bool{"db": true, "o": true}
	for _, k := range known {
		allowed[k] = true
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			p.pos = append(p.pos, args[i+1:]...)
			break
		}
		if len(arg) < 2 || arg[0] != '-' {
			p.pos = append(p.pos, arg)
			continue
		}
		name := strings.TrimLeft(arg, "-")
		value, hasValue := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = k, v, true
		}
		if name == "h" || name == "help" {
			return p, errHelp
		}
		if !allowed[name] {
			return p, usageError{fmt.Sprintf("未知参数 %s", arg)}
		}
		if !hasValue {
			if i+1 >= len(args) {
				return p, usageError{fmt.Sprintf("参数 %s 缺少值", arg)}
			}
			i++
			value = args[i]
		}
		switch name {
		case "db":
			a.db = value
		case "o":
			if value != "text" && value != "json" {
				return p, usageError{"-o 只能是 text 或 json"}
			}
			a.format = value
		default:
			p.flags[name] = append(p.flags[name], value)
		}
	}
	return p, nil
}

func (a *app) run(ctx context.Context, args []string) error {
	// Global flags come before the command (the command's parser accepts them too).
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-" {
		n := 2
		if strings.Contains(args[i], "=") {
			n = 1
		}
		if _, err := a.parse(args[i:min(i+n, len(args))]); err != nil {
			return err
		}
		i += n
	}
	if i >= len(args) {
		return usageError{"缺少命令"}
	}
	cmd := args[i]
	h, ok := commands[cmd]
	if !ok {
		return usageError{fmt.Sprintf("未知命令 %q", cmd)}
	}
	cp, err := a.parse(args[i+1:], h.flags...)
	if err != nil {
		return err
	}
	if len(cp.pos) < h.min || len(cp.pos) > h.max {
		return usageError{fmt.Sprintf("命令 %s 的参数个数不对", cmd)}
	}
	if h.noDB {
		return h.run(ctx, a, cp)
	}
	a.client, err = sdk.Open(ctx, a.db, sdk.Options{})
	if err != nil {
		return err
	}
	defer a.client.Close()
	return h.run(ctx, a, cp)
}

// emit prints v as JSON, or text() in text mode.
func (a *app) emit(v any, text func(w io.Writer)) error {
	if a.format == "json" {
		enc := json.NewEncoder(a.out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(a.out)
	return nil
}
