package timeline

import (
	"context"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/sqldb"
)

// Event kinds of dispatch orders and video recordings.
const (
	KindOrder      = "dispatch.order" // an order given
	KindOrderStep  = "dispatch.step"  // departed, arrived, returned, cancelled
	KindVideo      = "video"          // a recording started or ended
	KindVideoGap   = "video.gap"      // the publisher was away
	orderStepTitle = "调度指令 %s（%s）%s"
)

// orderEvents: each dispatch order given (from its depot), and each of its steps at its
// action time (departed, arrived at the scene, returned, cancelled with the reason).
func orderEvents(ctx context.Context, q sqldb.Querier, inc Incident) ([]Event, error) {
	rows, err := q.Query(ctx, `SELECT id, code, kind, resource_id, resource_name, quantity, unit, from_name, from_location, to_location,
		to_address, cancel_reason, ordered_by, ordered_at, departed_at, arrived_at, returned_at, cancelled_at
		FROM dispatch_orders WHERE incident_id = $1`, inc.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var id, code, kind, res, name, qty, unit, from, fromLoc, toLoc, to, reason, by, ordered, departed, arrived, returned, cancelled string
		if err := rows.Scan(&id, &code, &kind, &res, &name, &qty, &unit, &from, &fromLoc, &toLoc, &to, &reason, &by, &ordered,
			&departed, &arrived, &returned, &cancelled); err != nil {
			return nil, err
		}
		team := ""
		what := "调拨物资 " + name + " " + qty + unit
		if kind == "team" {
			team, what = res, "派遣队伍 "+name
		}
		title := fmt.Sprintf("下达调度指令 %s：%s", code, what)
		if from != "" {
			title += "，自 " + from
		}
		if to != "" {
			title += " 至 " + to
		}
		lat, lng := at2(fromLoc)
		ref := "dispatch_orders/" + id
		out = append(out, Event{Key: "order:" + id, Kind: KindOrder, At: ordered, Actor: by, TeamID: team, Title: title, Lat: lat, Lng: lng, Ref: ref})
		tlat, tlng := at2(toLoc)
		for _, st := range []struct {
			key, at, what string
			here          bool
		}{{"departed", departed, "已出发", false}, {"arrived", arrived, "已到达现场", true}, {"returned", returned, "已返回", false},
			{"cancelled", cancelled, "已取消", false}} {
			if st.at == "" {
				continue
			}
			e := Event{Key: "order:" + id + ":" + st.key, Kind: KindOrderStep, At: st.at, TeamID: team, Title: fmt.Sprintf(orderStepTitle, code, name, st.what), Ref: ref}
			if st.key == "cancelled" && reason != "" {
				e.Title += "，原因：" + reason
			}
			if st.here {
				e.Lat, e.Lng = tlat, tlng
			}
			out = append(out, e)
		}
	}
	return out, rows.Err()
}

func duration(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	if d < time.Minute {
		return fmt.Sprintf("%d 秒", int(d.Seconds()))
	}
	return fmt.Sprintf("%d 分 %d 秒", int(d.Minutes()), int(d.Seconds())%60)
}

// videoEvents: each recording of the incident's live video (单兵/手机视频回传) from its start,
// its end with the segments it stored (their SHA-256: the chain covers the video files), and
// each gap where the publisher was away. Three queries, whatever the number of recordings.
func videoEvents(ctx context.Context, q sqldb.Querier, inc Incident) ([]Event, error) {
	type rec struct {
		id, publisher, name, codecs string
		started                     time.Time
		ended                       *time.Time
		durationMS                  int64
		segments                    []string
	}
	rows, err := q.Query(ctx, `SELECT id, publisher, publisher_name, codecs, started, ended, duration_ms FROM video_recordings
		WHERE incident_id = $1 ORDER BY started, id`, inc.ID)
	recs, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (*rec, error) {
		var x rec
		err := r.Scan(&x.id, &x.publisher, &x.name, &x.codecs, &x.started, &x.ended, &x.durationMS)
		return &x, err
	})
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	byID := make(map[string]*rec, len(recs))
	for _, x := range recs {
		byID[x.id] = x
	}
	rows, err = q.Query(ctx, `SELECT s.recording_id, s.sha256 FROM video_segments s JOIN video_recordings r ON r.id = s.recording_id
		WHERE r.incident_id = $1 ORDER BY s.recording_id, s.idx`, inc.ID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, sum string
		if err := rows.Scan(&id, &sum); err != nil {
			rows.Close()
			return nil, err
		}
		if x := byID[id]; x != nil {
			x.segments = append(x.segments, sum)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []Event
	for _, x := range recs {
		ref := "video_recordings/" + x.id
		who := x.name
		if who == "" {
			who = "现场"
		}
		out = append(out, Event{Key: "video:" + x.id, Kind: KindVideo, At: fmtTime(x.started), Actor: x.publisher,
			Title: who + " 开始视频回传（录像）", Ref: ref})
		if x.ended != nil {
			out = append(out, Event{Key: "video:" + x.id + ":ended", Kind: KindVideo, At: fmtTime(*x.ended), Actor: x.publisher,
				Title: fmt.Sprintf("%s 视频回传结束，录像 %s，%d 段", who, duration(x.durationMS), len(x.segments)), Ref: ref, Media: x.segments})
		}
	}
	rows, err = q.Query(ctx, `SELECT g.recording_id, g.started, g.ended FROM video_gaps g JOIN video_recordings r ON r.id = g.recording_id
		WHERE r.incident_id = $1`, inc.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var from, to time.Time
		if err := rows.Scan(&id, &from, &to); err != nil {
			return nil, err
		}
		x := byID[id]
		if x == nil {
			continue
		}
		out = append(out, Event{Key: fmt.Sprintf("video:%s:gap:%d", id, from.UnixMilli()), Kind: KindVideoGap, At: fmtTime(from), Actor: x.publisher,
			Title: fmt.Sprintf("视频回传中断 %s（发布端掉线），录像中留有空档", duration(to.Sub(from).Milliseconds())), Ref: "video_recordings/" + id})
	}
	return out, rows.Err()
}
