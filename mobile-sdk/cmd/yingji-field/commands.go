package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
)

// command is one subcommand: its flags, its positional argument count and what it does.
type command struct {
	flags    []string
	min, max int
	noDB     bool
	run      func(ctx context.Context, a *app, p parsed) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"login":    {flags: []string{"server", "user", "password"}, run: cmdLogin},
		"logout":   {run: cmdLogout},
		"sync":     {run: cmdSync},
		"list":     {flags: []string{"where"}, min: 1, max: 1, run: cmdList},
		"get":      {min: 2, max: 2, run: cmdGet},
		"create":   {flags: []string{"json"}, min: 1, max: 1, run: cmdCreate},
		"update":   {flags: []string{"json"}, min: 2, max: 2, run: cmdUpdate},
		"delete":   {min: 2, max: 2, run: cmdDelete},
		"read":     {min: 1, max: 1, run: cmdRead},
		"attach":   {min: 4, max: 4, run: cmdAttach},
		"media":    {run: cmdMedia},
		"thumb":    {flags: []string{"width"}, min: 1, max: 1, run: cmdThumb},
		"pending":  {run: cmdPending},
		"rejected": {run: cmdRejected},
		"retry":    {flags: []string{"json"}, min: 1, max: 1, run: cmdRetry},
		"dismiss":  {min: 1, max: 1, run: cmdDismiss},
		"status":   {run: cmdStatus},
		"live":     {run: cmdLive},
		"search":   {flags: []string{"limit"}, min: 2, max: 20, run: cmdSearch},
		"cas":      {min: 1, max: 1, run: cmdCAS},
		"video":    {flags: []string{"incident", "title", "fps", "duration", "stream", "all"}, min: 1, max: 2, run: cmdVideo},
	}
}

func cmdLogin(ctx context.Context, a *app, p parsed) error {
	server, user, pw := p.get("server"), p.get("user"), p.get("password")
	if server == "" || user == "" || pw == "" {
		return usageError{"login 需要 -server、-user 和 -password"}
	}
	u, err := a.client.Login(ctx, server, user, pw)
	if err != nil {
		return err
	}
	server = strings.TrimRight(server, "/")
	var info struct{ Username, Name, Role string }
	json.Unmarshal(u, &info)
	return a.emit(map[string]any{"server": server, "user": u}, func(w io.Writer) {
		fmt.Fprintf(w, "已登录 %s：%s（%s，角色 %s）\n", server, info.Name, info.Username, info.Role)
	})
}

func cmdLogout(ctx context.Context, a *app, p parsed) error {
	if err := a.client.Logout(ctx); err != nil {
		return err
	}
	return a.emit(map[string]any{"logged_out": true}, func(w io.Writer) {
		fmt.Fprintln(w, "已退出登录；本机数据和待同步的修改仍保留。")
	})
}

func cmdSync(ctx context.Context, a *app, p parsed) error {
	st, err := a.client.Sync(ctx)
	if err != nil {
		return err
	}
	return a.emit(st, func(w io.Writer) {
		fmt.Fprintf(w, "同步完成：提交 %d 条修改（成功 %d，合并 %d，被拒绝 %d），上传 %d 个附件，拉取 %d 条记录。\n",
			st.Pushed, st.Applied, st.Merged, st.Rejected, st.MediaUploaded, st.Pulled)
		if st.Repaired > 0 {
			fmt.Fprintf(w, "校验发现 %d 个范围的数据不一致，已重新下载。\n", st.Repaired)
		}
		if st.Rejected > 0 {
			fmt.Fprintln(w, "有修改被服务器拒绝，运行 yingji-field rejected 查看原因。")
		}
	})
}

func cmdList(ctx context.Context, a *app, p parsed) error {
	var filters []sdk.Filter
	for _, w := range p.flags["where"] {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return usageError{fmt.Sprintf("-where 应为 字段=值，收到 %q", w)}
		}
		filters = append(filters, sdk.Filter{Field: k, Value: v})
	}
	recs, err := a.client.List(ctx, p.pos[0], filters...)
	if err != nil {
		return err
	}
	return a.emit(recs, func(w io.Writer) {
		if len(recs) == 0 {
			fmt.Fprintln(w, "（没有记录）")
			return
		}
		cols := a.columns(ctx, p.pos[0], recs)
		head := append([]string{"编号"}, cols...)
		head = append(head, "状态", "版本")
		rows := make([][]string, 0, len(recs))
		for _, r := range recs {
			row := []string{r.ID}
			for _, c := range cols {
				row = append(row, cell(r.Fields[c]))
			}
			rows = append(rows, append(row, stateLabel(r.State), fmt.Sprint(r.Seq)))
		}
		table(w, head, rows)
		fmt.Fprintf(w, "共 %d 条\n", len(recs))
	})
}

// columns orders the fields to show: the spec's order when known, else by name.
func (a *app) columns(ctx context.Context, coll string, recs []sdk.Record) []string {
	seen := map[string]bool{}
	var out []string
	if specs, err := a.client.Collections(ctx); err == nil {
		for _, s := range specs {
			if s.Name == coll {
				for _, f := range s.Fields {
					out = append(out, f.Name)
					seen[f.Name] = true
				}
			}
		}
	}
	var extra []string
	for _, r := range recs {
		for k := range r.Fields {
			if !seen[k] {
				seen[k] = true
				extra = append(extra, k)
			}
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

func cmdGet(ctx context.Context, a *app, p parsed) error {
	r, err := a.client.Get(ctx, p.pos[0], p.pos[1])
	if err != nil {
		return err
	}
	return a.emit(r, func(w io.Writer) {
		rows := [][]string{{"编号", r.ID}}
		for _, c := range a.columns(ctx, p.pos[0], []sdk.Record{r}) {
			if v, ok := r.Fields[c]; ok {
				rows = append(rows, []string{c, cell(v)})
			}
		}
		rows = append(rows, []string{"状态", stateLabel(r.State)}, []string{"版本", fmt.Sprint(r.Seq)})
		if r.Deleted {
			rows = append(rows, []string{"已删除", "是"})
		}
		table(w, []string{"字段", "值"}, rows)
	})
}

func object(p parsed) (map[string]json.RawMessage, error) {
	raw, ok := p.flags["json"]
	if !ok {
		return nil, usageError{"缺少 -json 对象"}
	}
	return sdk.ParseObject(raw[len(raw)-1])
}

func saved(a *app, id, what string) error {
	return a.emit(map[string]string{"id": id}, func(w io.Writer) {
		fmt.Fprintf(w, "已%s（保存在本机，待同步）：%s\n", what, id)
	})
}

func cmdCreate(ctx context.Context, a *app, p parsed) error {
	f, err := object(p)
	if err != nil {
		return err
	}
	id, err := a.client.Create(ctx, p.pos[0], f)
	if err != nil {
		return err
	}
	return saved(a, id, "新建")
}

func cmdUpdate(ctx context.Context, a *app, p parsed) error {
	f, err := object(p)
	if err != nil {
		return err
	}
	if err := a.client.Update(ctx, p.pos[0], p.pos[1], f); err != nil {
		return err
	}
	return saved(a, p.pos[1], "修改")
}

// cmdRead marks a notification read: an offline change of its read_at, like update.
func cmdRead(ctx context.Context, a *app, p parsed) error {
	at, _ := json.Marshal(time.Now().UTC().Format(time.RFC3339))
	if err := a.client.Update(ctx, "notifications", p.pos[0], map[string]json.RawMessage{"read_at": at}); err != nil {
		return err
	}
	return saved(a, p.pos[0], "标记已读")
}

func cmdDelete(ctx context.Context, a *app, p parsed) error {
	if err := a.client.Delete(ctx, p.pos[0], p.pos[1]); err != nil {
		return err
	}
	return saved(a, p.pos[1], "删除")
}

func cmdAttach(ctx context.Context, a *app, p parsed) error {
	at, err := a.client.Attach(ctx, p.pos[0], p.pos[1], p.pos[2], p.pos[3])
	if err != nil {
		return err
	}
	return a.emit(at, func(w io.Writer) {
		fmt.Fprintf(w, "已添加附件（保存在本机，同步时上传）：%s（%d 字节）\n", at.SHA256, at.Size)
	})
}

var mediaLabels = map[string]string{sdk.MediaQueued: "待上传", sdk.MediaUploading: "上传中", sdk.MediaDone: "已上传", sdk.MediaFailed: "上传失败"}

func cmdMedia(ctx context.Context, a *app, p parsed) error {
	list, err := a.client.Media(ctx)
	if err != nil {
		return err
	}
	return a.emit(list, func(w io.Writer) {
		if len(list) == 0 {
			fmt.Fprintln(w, "（没有附件）")
			return
		}
		rows := make([][]string, 0, len(list))
		for _, m := range list {
			var recs []string
			for _, r := range m.Records {
				recs = append(recs, r.Collection+" "+r.ID)
			}
			rows = append(rows, []string{m.SHA256[:12], m.Filename, fmt.Sprintf("%d/%d", m.Uploaded, m.Size), mediaLabels[m.State],
				strings.Join(recs, "，"), m.ErrorMessage})
		}
		table(w, []string{"摘要", "文件名", "已上传/字节", "状态", "所属记录", "原因"}, rows)
	})
}

func cmdThumb(ctx context.Context, a *app, p parsed) error {
	width := 320
	if v := p.get("width"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return usageError{"-width 应为 320 或 1280"}
		}
		width = n
	}
	path, err := a.client.Thumbnail(ctx, p.pos[0], width)
	if err != nil {
		return err
	}
	return a.emit(map[string]string{"path": path}, func(w io.Writer) { fmt.Fprintln(w, path) })
}

var opLabels = map[string]string{"create": "新建", "update": "修改", "delete": "删除"}

func cmdPending(ctx context.Context, a *app, p parsed) error {
	list, err := a.client.Pending(ctx)
	if err != nil {
		return err
	}
	return a.emit(list, func(w io.Writer) {
		if len(list) == 0 {
			fmt.Fprintln(w, "（没有待同步的修改）")
			return
		}
		rows := make([][]string, 0, len(list))
		for _, m := range list {
			rows = append(rows, []string{m.MutationID, m.Collection, m.ID, opLabels[m.Op], fieldsCell(m.Fields), m.CreatedAt})
		}
		table(w, []string{"修改编号", "数据集", "记录编号", "操作", "字段", "时间"}, rows)
		fmt.Fprintf(w, "共 %d 条待同步\n", len(list))
	})
}

func cmdRejected(ctx context.Context, a *app, p parsed) error {
	list, err := a.client.Rejected(ctx)
	if err != nil {
		return err
	}
	return a.emit(list, func(w io.Writer) {
		if len(list) == 0 {
			fmt.Fprintln(w, "（没有被拒绝的修改）")
			return
		}
		rows := make([][]string, 0, len(list))
		for _, m := range list {
			rows = append(rows, []string{m.MutationID, m.Collection, m.ID, opLabels[m.Op], m.Code, m.Message})
		}
		table(w, []string{"修改编号", "数据集", "记录编号", "操作", "错误码", "原因"}, rows)
		fmt.Fprintln(w, "修正后用 yingji-field retry 修改编号 -json 对象 重新提交，或用 dismiss 放弃。")
	})
}

func cmdRetry(ctx context.Context, a *app, p parsed) error {
	var f map[string]json.RawMessage
	if _, ok := p.flags["json"]; ok {
		var err error
		if f, err = object(p); err != nil {
			return err
		}
	}
	if err := a.client.Retry(ctx, p.pos[0], f); err != nil {
		return err
	}
	return a.emit(map[string]string{"mutation_id": p.pos[0]}, func(w io.Writer) {
		fmt.Fprintln(w, "已重新加入待同步队列。")
	})
}

func cmdDismiss(ctx context.Context, a *app, p parsed) error {
	if err := a.client.Dismiss(ctx, p.pos[0]); err != nil {
		return err
	}
	return a.emit(map[string]string{"mutation_id": p.pos[0]}, func(w io.Writer) {
		fmt.Fprintln(w, "已放弃该修改。")
	})
}

func cmdStatus(ctx context.Context, a *app, p parsed) error {
	st, err := a.client.Status(ctx)
	if err != nil {
		return err
	}
	return a.emit(st, func(w io.Writer) {
		var u struct{ Username, Name, Role string }
		json.Unmarshal(st.User, &u)
		user := "（未登录）"
		if u.Username != "" {
			user = fmt.Sprintf("%s（%s，角色 %s）", u.Name, u.Username, u.Role)
			if !st.LoggedIn {
				user += "，会话已结束"
			}
		}
		last := "从未同步"
		if st.LastSync != nil {
			last = *st.LastSync
		}
		rows := [][]string{{"服务器", orDash(st.Server)}, {"用户", user}, {"设备编号", st.DeviceID}, {"上次同步", last},
			{"待同步修改", fmt.Sprint(st.Pending)}, {"被拒绝修改", fmt.Sprint(st.Rejected)}, {"待上传附件", fmt.Sprint(st.MediaPending)}}
		if st.MediaFailed > 0 {
			rows = append(rows, []string{"上传失败附件", fmt.Sprintf("%d（运行 yingji-field media 查看原因）", st.MediaFailed)})
		}
		if st.SessionEnded != "" {
			rows = append(rows, []string{"会话结束原因", st.SessionMessage + "（" + st.SessionEnded + "）"})
		}
		table(w, []string{"项目", "值"}, rows)
		if len(st.Scopes) > 0 {
			fmt.Fprintln(w)
			srows := make([][]string, 0, len(st.Scopes))
			for _, s := range st.Scopes {
				ok := "否"
				if s.Verified {
					ok = "是"
				}
				srows = append(srows, []string{s.Scope, fmt.Sprint(s.Checkpoint), fmt.Sprint(s.Count), ok})
			}
			table(w, []string{"数据范围", "检查点", "记录数", "校验通过"}, srows)
		}
	})
}

func cmdLive(ctx context.Context, a *app, p parsed) error {
	enc := json.NewEncoder(a.out)
	enc.SetEscapeHTML(false)
	err := a.client.Live(ctx, func(e sdk.LiveEvent) {
		// Live prints one line per event (JSON lines with -o json).
		if a.format == "json" {
			m := map[string]any{"type": e.Type}
			if e.Scope != "" {
				m["scope"], m["seq"] = e.Scope, e.Seq
			}
			if e.Type == sdk.LiveSynced {
				m["stats"] = e.Stats
			}
			if e.Err != nil {
				ae := sdk.AsError(e.Err)
				m["code"], m["message"] = ae.Code, ae.Message
			}
			enc.Encode(m)
			return
		}
		switch e.Type {
		case sdk.LiveConnected:
			fmt.Fprintln(a.out, "实时连接已建立")
		case sdk.LivePoke:
			fmt.Fprintf(a.out, "数据有变化：%s（版本 %d）\n", e.Scope, e.Seq)
		case sdk.LiveSynced:
			fmt.Fprintf(a.out, "已同步：提交 %d，拉取 %d\n", e.Stats.Pushed, e.Stats.Pulled)
		case sdk.LiveSyncFailed, sdk.LiveDisconnected:
			fmt.Fprintf(a.out, "%s：%s，稍后重试\n", map[string]string{sdk.LiveSyncFailed: "同步失败", sdk.LiveDisconnected: "连接断开"}[e.Type], sdk.AsError(e.Err).Message)
		}
	})
	if ctx.Err() != nil {
		return nil // Ctrl-C
	}
	return err
}

func stateLabel(s string) string {
	switch s {
	case sdk.StateSynced:
		return "已同步"
	case sdk.StatePending:
		return "待同步"
	case sdk.StateRejected:
		return "被拒绝"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
