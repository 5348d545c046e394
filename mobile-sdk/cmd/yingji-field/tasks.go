package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	sdk "github.com/yingji/yingji/mobile-sdk"
)

// A responder's work on an incident: his tasks and their steps, check-in at the scene, and
// scene feedback with photos and videos. All of it works offline; sync sends it.

func init() {
	commands["tasks"] = command{flags: []string{"incident"}, run: cmdTasks}
	commands["task"] = command{flags: []string{"reason"}, min: 2, max: 2, run: cmdTask}
	commands["checkin"] = command{flags: []string{"lat", "lng", "note"}, min: 1, max: 1, run: cmdCheckin}
	commands["feedback"] = command{flags: []string{"text", "photo", "video", "lat", "lng", "task"}, min: 1, max: 1, run: cmdFeedback}
	usageCommands = append(usageCommands[:len(usageCommands)-2], append([][2]string{
		{"tasks [-incident 事件编号]", "我的任务（下达给我或我所在队伍的，离线可用）"},
		{"task accept|go|arrive|done|refuse 任务编号 [-reason 原因]", "接受、出发、到达、完成或拒绝（须写原因）任务（离线可用）"},
		{"checkin 事件编号 [-lat 纬度 -lng 经度] [-note 备注]", "到达现场报到（离线可用）"},
		{"feedback 事件编号 -text 文字 [-photo 文件]... [-video 文件]... [-lat -lng] [-task 任务编号]", "现场反馈（离线可用，照片视频同步时上传）"},
	}, usageCommands[len(usageCommands)-2:]...)...)
}

// taskSteps maps the command's verbs to statuses.
var taskSteps = map[string]string{"accept": "accepted", "go": "en_route", "arrive": "on_scene", "done": "done", "refuse": "refused"}

var taskStatusNames = map[string]string{"assigned": "已下达", "accepted": "已接受", "en_route": "赶赴现场", "on_scene": "到达现场",
	"done": "已完成", "refused": "已拒绝", "cancelled": "已撤销"}

// mine: the tasks given to the logged-in user or to his team.
func (a *app) me(ctx context.Context) (id, team string, err error) {
	st, err := a.client.Status(ctx)
	if err != nil {
		return "", "", err
	}
	var u struct {
		ID     string `json:"id"`
		TeamID string `json:"team_id"`
	}
	json.Unmarshal(st.User, &u)
	return u.ID, u.TeamID, nil
}

func cmdTasks(ctx context.Context, a *app, p parsed) error {
	var filters []sdk.Filter
	if inc := p.get("incident"); inc != "" {
		filters = append(filters, sdk.Filter{Field: "incident_id", Value: inc})
	}
	recs, err := a.client.List(ctx, "tasks", filters...)
	if err != nil {
		return err
	}
	me, team, err := a.me(ctx)
	if err != nil {
		return err
	}
	out := []sdk.Record{}
	for _, r := range recs {
		if as := str(r.Fields, "assignee_id"); as == me || (as == "" && team != "" && str(r.Fields, "team_id") == team) {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return str(out[i].Fields, "assigned_at") < str(out[j].Fields, "assigned_at") })
	return a.emit(out, func(w io.Writer) {
		if len(out) == 0 {
			fmt.Fprintln(w, "（没有任务）")
			return
		}
		rows := make([][]string, 0, len(out))
		for _, r := range out {
			rows = append(rows, []string{r.ID, str(r.Fields, "title"), taskStatusNames[str(r.Fields, "status")], str(r.Fields, "due_at"), str(r.Fields, "incident_id"), stateLabel(r.State)})
		}
		table(w, []string{"编号", "任务", "状态", "期限", "事件", "同步"}, rows)
		fmt.Fprintf(w, "共 %d 项\n", len(out))
	})
}

func cmdTask(ctx context.Context, a *app, p parsed) error {
	to, ok := taskSteps[p.pos[0]]
	if !ok {
		return usageError{"task 的操作应为 accept、go、arrive、done 或 refuse"}
	}
	reason := strings.TrimSpace(p.get("reason"))
	if to == "refused" && reason == "" {
		return usageError{"拒绝任务须用 -reason 写明原因"}
	}
	f := map[string]json.RawMessage{"status": jsonValue(to)}
	if reason != "" {
		f["reason"] = jsonValue(reason)
	}
	if err := a.client.Update(ctx, "tasks", p.pos[1], f); err != nil {
		return err
	}
	return a.emit(map[string]string{"id": p.pos[1], "status": to}, func(w io.Writer) {
		fmt.Fprintf(w, "任务已标记为“%s”（保存在本机，待同步）：%s\n", taskStatusNames[to], p.pos[1])
	})
}

// location reads -lat and -lng (both or neither).
func location(p parsed) (json.RawMessage, error) {
	la, ln := p.get("lat"), p.get("lng")
	if la == "" && ln == "" {
		return nil, nil
	}
	lat, err1 := strconv.ParseFloat(la, 64)
	lng, err2 := strconv.ParseFloat(ln, 64)
	if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
		return nil, usageError{"-lat 和 -lng 须同时给出，为 WGS84 经纬度"}
	}
	return jsonValue(map[string]float64{"lat": lat, "lng": lng}), nil
}

func cmdCheckin(ctx context.Context, a *app, p parsed) error {
	f := map[string]json.RawMessage{"incident_id": jsonValue(p.pos[0])}
	loc, err := location(p)
	if err != nil {
		return err
	}
	if loc != nil {
		f["location"] = loc
	}
	if n := p.get("note"); n != "" {
		f["note"] = jsonValue(n)
	}
	id, err := a.client.Create(ctx, "checkins", f)
	if err != nil {
		return err
	}
	return saved(a, id, "报到")
}

func cmdFeedback(ctx context.Context, a *app, p parsed) error {
	text := p.get("text")
	if strings.TrimSpace(text) == "" && len(p.flags["photo"]) == 0 && len(p.flags["video"]) == 0 {
		return usageError{"feedback 须有 -text 文字，或 -photo / -video 文件"}
	}
	f := map[string]json.RawMessage{"incident_id": jsonValue(p.pos[0]), "text": jsonValue(text)}
	loc, err := location(p)
	if err != nil {
		return err
	}
	if loc != nil {
		f["location"] = loc
	}
	if t := p.get("task"); t != "" {
		f["task_id"] = jsonValue(t)
	}
	files := map[string][]string{}
	if ps := p.flags["photo"]; len(ps) > 0 {
		files["photos"] = ps
	}
	if vs := p.flags["video"]; len(vs) > 0 {
		files["videos"] = vs
	}
	id, atts, err := a.client.CreateWithFiles(ctx, "feedback", f, files)
	if err != nil {
		return err
	}
	return a.emit(map[string]any{"id": id, "media": atts}, func(w io.Writer) {
		fmt.Fprintf(w, "已提交现场反馈（保存在本机，待同步）：%s，附件 %d 个\n", id, len(atts))
	})
}
