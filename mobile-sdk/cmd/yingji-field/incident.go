package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
)

// The response commands: the incident group chat (群组) and the leader's approval of response
// steps, both offline (the change queues with the device's time and lands on the next sync).

func init() {
	commands["chat"] = command{flags: []string{"lat", "lng"}, min: 2, max: 3, run: cmdChat}
	commands["approvals"] = command{run: cmdApprovals}
	commands["approve"] = command{flags: []string{"comment"}, min: 1, max: 1, run: cmdDecide("approved")}
	commands["reject"] = command{flags: []string{"reason"}, min: 1, max: 1, run: cmdDecide("rejected")}
	usageCommands = append(usageCommands[:len(usageCommands)-2],
		[2]string{"chat list 事件编号", "事件群组消息（按发送时间排序，含待同步的）"},
		[2]string{"chat send 事件编号 文字 | chat send 事件编号 -lat 纬度 -lng 经度", "在事件群组发文字或位置（离线可用，同步后按发送时间排序）"},
		[2]string{"approvals", "待本人审批的响应建议（启动、变更、终止响应）"},
		[2]string{"approve 响应编号 [-comment 意见]", "批准响应建议（只有预案指定的领导可以；离线可用，按点击时间生效）"},
		[2]string{"reject 响应编号 -reason 理由", "驳回响应建议（离线可用）"},
		usageCommands[len(usageCommands)-2], usageCommands[len(usageCommands)-1])
}

func str(f map[string]json.RawMessage, name string) string {
	var s string
	json.Unmarshal(f[name], &s)
	return s
}

func cmdChat(ctx context.Context, a *app, p parsed) error {
	inc := p.pos[1]
	switch p.pos[0] {
	case "list":
		if len(p.pos) != 2 {
			return usageError{"chat list 只需事件编号"}
		}
		recs, err := a.client.List(ctx, "incident_messages", sdk.Filter{Field: "incident_id", Value: inc})
		if err != nil {
			return err
		}
		sort.SliceStable(recs, func(i, j int) bool {
			si, sj := str(recs[i].Fields, "sent_at"), str(recs[j].Fields, "sent_at")
			if si != sj {
				return si < sj
			}
			return recs[i].ID < recs[j].ID
		})
		return a.emit(recs, func(w io.Writer) {
			if len(recs) == 0 {
				fmt.Fprintln(w, "（没有消息）")
				return
			}
			for _, r := range recs {
				t, _ := time.Parse(time.RFC3339, str(r.Fields, "sent_at"))
				text := str(r.Fields, "text")
				if str(r.Fields, "kind") == "location" {
					var l struct{ Lat, Lng float64 }
					json.Unmarshal(r.Fields["location"], &l)
					text = fmt.Sprintf("[位置] %.6f, %.6f %s", l.Lat, l.Lng, text)
				} else if str(r.Fields, "kind") == "photo" {
					text = "[图片] " + text
				}
				who := str(r.Fields, "sender_name")
				if who == "" {
					who = "我"
				}
				pending := ""
				if r.Seq == 0 {
					pending = "（待同步）"
				}
				fmt.Fprintf(w, "%s %s：%s%s\n", t.Local().Format("01-02 15:04:05"), who, text, pending)
			}
		})
	case "send":
		f := map[string]json.RawMessage{"incident_id": jsonValue(inc), "sent_at": jsonValue(time.Now().UTC().Format(time.RFC3339))}
		if p.get("lat") != "" || p.get("lng") != "" {
			lat, err1 := strconv.ParseFloat(p.get("lat"), 64)
			lng, err2 := strconv.ParseFloat(p.get("lng"), 64)
			if err1 != nil || err2 != nil {
				return usageError{"-lat 和 -lng 应为数字（WGS84）"}
			}
			f["kind"], f["location"] = jsonValue("location"), jsonValue(map[string]float64{"lat": lat, "lng": lng})
			if len(p.pos) == 3 {
				f["text"] = jsonValue(p.pos[2])
			}
		} else {
			if len(p.pos) != 3 || p.pos[2] == "" {
				return usageError{"chat send 需要事件编号和文字（或 -lat、-lng 发位置）"}
			}
			f["kind"], f["text"] = jsonValue("text"), jsonValue(p.pos[2])
		}
		id, err := a.client.Create(ctx, "incident_messages", f)
		if err != nil {
			return err
		}
		return a.emit(map[string]string{"id": id}, func(w io.Writer) { fmt.Fprintf(w, "已记录消息 %s，同步后发出。\n", id) })
	}
	return usageError{"chat 的子命令只能是 list 或 send"}
}

func jsonValue(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

func cmdApprovals(ctx context.Context, a *app, p parsed) error {
	recs, err := a.client.List(ctx, "response_actions", sdk.Filter{Field: "state", Value: "proposed"})
	if err != nil {
		return err
	}
	return a.emit(recs, func(w io.Writer) {
		if len(recs) == 0 {
			fmt.Fprintln(w, "（没有待审批的响应建议）")
			return
		}
		names := map[string]string{"start": "启动响应", "raise": "提升响应级别", "lower": "降低响应级别", "terminate": "终止响应"}
		for _, r := range recs {
			var level int
			json.Unmarshal(r.Fields["level"], &level)
			fmt.Fprintf(w, "%s  %s", r.ID, names[str(r.Fields, "kind")])
			if level > 0 {
				fmt.Fprintf(w, "（%d 级）", level)
			}
			fmt.Fprintf(w, "  提议人 %s", str(r.Fields, "proposer_name"))
			if reason := str(r.Fields, "reason"); reason != "" {
				fmt.Fprintf(w, "  理由：%s", reason)
			}
			fmt.Fprintln(w)
		}
	})
}

func cmdDecide(state string) func(ctx context.Context, a *app, p parsed) error {
	return func(ctx context.Context, a *app, p parsed) error {
		comment := p.get("comment")
		if state == "rejected" {
			comment = p.get("reason")
			if comment == "" {
				return usageError{"reject 需要 -reason 理由"}
			}
		}
		f := map[string]json.RawMessage{"state": jsonValue(state)}
		if comment != "" {
			f["comment"] = jsonValue(comment)
		}
		if err := a.client.Update(ctx, "response_actions", p.pos[0], f); err != nil {
			return err
		}
		verdict := map[string]string{"approved": "批准", "rejected": "驳回"}[state]
		return a.emit(map[string]string{"id": p.pos[0], "state": state}, func(w io.Writer) {
			fmt.Fprintf(w, "已%s响应建议 %s，同步后生效（按本次操作的时间）。\n", verdict, p.pos[0])
		})
	}
}
