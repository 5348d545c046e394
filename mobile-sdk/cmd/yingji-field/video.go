package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
)

// cmdVideo: video publish FILE [-incident ID] [-title T] [-fps N] [-duration D] [-stream ID],
// video list [-all true].
func cmdVideo(ctx context.Context, a *app, p parsed) error {
	switch p.pos[0] {
	case "publish":
		if len(p.pos) != 2 {
			return usageError{"用法：video publish FILE [-incident ID] [-title 标题] [-fps 30] [-duration 60s]"}
		}
		return cmdVideoPublish(ctx, a, p)
	case "list":
		if len(p.pos) != 1 {
			return usageError{"用法：video list [-all true]"}
		}
		return cmdVideoList(ctx, a, p)
	}
	return usageError{fmt.Sprintf("未知的 video 子命令 %q（publish 或 list）", p.pos[0])}
}

func cmdVideoPublish(ctx context.Context, a *app, p parsed) error {
	o := sdk.VideoOptions{IncidentID: p.get("incident"), Title: p.get("title"), StreamID: p.get("stream")}
	if v := p.get("fps"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 120 {
			return usageError{"-fps 应为 1 到 120 之间的数"}
		}
		o.FPS = f
	}
	var dur time.Duration
	if v := p.get("duration"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return usageError{"-duration 应为时长，如 30s、5m"}
		}
		dur, o.Loop = d, true
	}
	start := time.Now()
	pub, err := a.client.PublishVideo(ctx, p.pos[1], o)
	if err != nil {
		return err
	}
	if a.format != "json" {
		fmt.Fprintf(a.out, "已开始推流，视频流 ID：%s\n", pub.StreamID())
	}
	wctx := ctx
	if dur > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, dur)
		defer cancel()
	}
	werr := pub.Wait(wctx)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	cerr := pub.Close(cctx)
	if werr != nil && wctx.Err() == nil {
		return &sdk.Error{Kind: sdk.KindInvalid, Code: "video.bad_file", Message: "读取视频文件出错：" + werr.Error()}
	}
	out := map[string]any{"stream_id": pub.StreamID(), "seconds": time.Since(start).Round(time.Millisecond).Seconds(), "resumes": pub.Resumes(),
		"ended": cerr == nil}
	return a.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "推流结束：%s，时长 %.1f 秒，断线重连 %d 次\n", pub.StreamID(), out["seconds"], pub.Resumes())
	})
}

var videoStates = map[string]string{"connecting": "连接中", "live": "直播中", "interrupted": "断线等待恢复", "ended": "已结束"}

func cmdVideoList(ctx context.Context, a *app, p parsed) error {
	all := false
	if v := p.get("all"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return usageError{"-all 应为 true 或 false"}
		}
		all = b
	}
	streams, err := a.client.VideoStreams(ctx, !all)
	if err != nil {
		return err
	}
	return a.emit(streams, func(w io.Writer) {
		if len(streams) == 0 {
			fmt.Fprintln(w, "没有视频流")
			return
		}
		for _, s := range streams {
			pos := "无定位"
			if s.Last != nil {
				pos = fmt.Sprintf("%.5f,%.5f", s.Last.Lat, s.Last.Lng)
			}
			fmt.Fprintf(w, "%s  %s  %s  %s  观看 %d  %s  %s\n", s.ID, s.PublisherName, videoStates[s.State],
				s.StartedAt.In(shanghai).Format("2006-01-02 15:04:05"), s.Viewers, pos, s.Title)
		}
	})
}

// shanghai is the time zone times are shown in (a fixed UTC+8 when the zone database is absent).
var shanghai = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return l
	}
	return time.FixedZone("CST", 8*3600)
}()
