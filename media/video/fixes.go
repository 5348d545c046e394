package video

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Fixes is the synced collection video_fixes: the GPS fixes a publisher takes while his data
// channel is down (no link, or between a drop and the re-publish). The device queues them in
// its replica and pushes them when it is online again; each lands in video_positions with the
// time the device took it, so the stream's track has no hole. Append-only; a record belongs
// to the publisher alone (his user scope).
type Fixes struct {
	Now func() time.Time
}

// NewFixes returns the collection.
func NewFixes() *Fixes { return &Fixes{Now: time.Now} }

var fixesSpec = &syncproto.CollectionSpec{
	Name:       "video_fixes",
	AppendOnly: true,
	Fields: []syncproto.FieldSpec{
		{Name: "stream_id", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "time", Type: syncproto.TypeTime, Rule: syncproto.Immutable, Required: true},
		{Name: "lat", Type: syncproto.TypeNumber, Rule: syncproto.Immutable, Required: true},
		{Name: "lng", Type: syncproto.TypeNumber, Rule: syncproto.Immutable, Required: true},
		{Name: "heading", Type: syncproto.TypeNumber, Rule: syncproto.Immutable},
		{Name: "speed", Type: syncproto.TypeNumber, Rule: syncproto.Immutable},
	},
}

// Spec describes the collection.
func (c *Fixes) Spec() *syncproto.CollectionSpec { return fixesSpec }

func fixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Load reads fixes by their record ids.
func (c *Fixes) Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]syncsvc.Fields, error) {
	out := map[string]syncsvc.Fields{}
	err := sqldb.InChunks(ids, nil, func(args []any, in string) error {
		rows, err := q.Query(ctx, `SELECT fix_id, stream_id, at, lat, lng, heading, speed FROM video_positions WHERE fix_id IN (`+in+`)`, args...)
		if err != nil {
			return fmt.Errorf("video: load fixes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, stream string
			var at time.Time
			var lat, lng float64
			var heading, speed sql.NullFloat64
			if err := rows.Scan(&id, &stream, &at, &lat, &lng, &heading, &speed); err != nil {
				return err
			}
			f := syncsvc.Fields{"stream_id": syncsvc.JSON(stream), "time": syncsvc.JSON(fixTime(at)),
				"lat": syncsvc.JSON(lat), "lng": syncsvc.JSON(lng), "heading": json.RawMessage("null"), "speed": json.RawMessage("null")}
			if heading.Valid {
				f["heading"] = syncsvc.JSON(heading.Float64)
			}
			if speed.Valid {
				f["speed"] = syncsvc.JSON(speed.Float64)
			}
			out[id] = f
		}
		return rows.Err()
	})
	return out, err
}

type fixStream struct {
	publisher string
	started   time.Time
}

func loadFixStream(ctx context.Context, q sqldb.Querier, id string) (fixStream, error) {
	return syncsvc.Cached(ctx, "video_stream:"+id, func() (fixStream, error) {
		var s fixStream
		err := q.QueryRow(ctx, `SELECT publisher_id, started_at FROM video_streams WHERE id = $1`, id).Scan(&s.publisher, &s.started)
		if errors.Is(err, yingji.ErrNotFound) {
			return s, syncsvc.Rejected(syncproto.CodeInvalid, "视频流不存在")
		}
		return s, err
	})
}

// Place puts a fix in its publisher's user scope.
func (c *Fixes) Place(ctx context.Context, q sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	s, err := loadFixStream(ctx, q, syncsvc.Str(f, "stream_id"))
	if err != nil {
		return syncsvc.Place{}, err
	}
	return syncsvc.Place{UserID: s.publisher}, nil
}

// Authorize lets only the stream's publisher send its fixes.
func (c *Fixes) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, _ syncsvc.Fields) error {
	s, err := loadFixStream(ctx, q, syncsvc.Str(m.Fields, "stream_id"))
	if err != nil {
		return err
	}
	if !a.Can(yingji.PermVideoPublish) || a.UserID != s.publisher {
		return syncsvc.Rejected(syncproto.CodeForbidden, "只能为自己发布的视频流上报定位")
	}
	return nil
}

// Prepare checks the fix: a plausible WGS84 position, taken no earlier than a minute before
// the stream started and not in the future (five minutes of clock skew allowed).
func (c *Fixes) Prepare(ctx context.Context, q sqldb.Querier, _ *yingji.Actor, f syncsvc.Fields, _ bool) error {
	var p Position
	json.Unmarshal(f["lat"], &p.Lat)
	json.Unmarshal(f["lng"], &p.Lng)
	if !p.Valid() {
		return syncsvc.Rejected(syncproto.CodeBadValue, "位置应为有效的 WGS84 经纬度")
	}
	at, err := time.Parse(time.RFC3339Nano, syncsvc.Str(f, "time"))
	if err != nil {
		return syncsvc.Rejected(syncproto.CodeBadValue, "定位时间格式错误")
	}
	s, err := loadFixStream(ctx, q, syncsvc.Str(f, "stream_id"))
	if err != nil {
		return err
	}
	if at.Before(s.started.Add(-time.Minute)) || at.After(c.Now().Add(5*time.Minute)) {
		return syncsvc.Rejected(syncproto.CodeBadValue, "定位时间不在视频流的时段内")
	}
	for _, k := range []string{"heading", "speed"} {
		if _, ok := f[k]; !ok {
			f[k] = json.RawMessage("null")
		}
	}
	f["time"] = syncsvc.JSON(fixTime(at))
	return nil
}

// Save appends the fix to the stream's track and makes it the stream's last position when it
// is the newest.
func (c *Fixes) Save(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields, created, deleted bool) error {
	if !created || deleted {
		return nil
	}
	var p Position
	json.Unmarshal(f["lat"], &p.Lat)
	json.Unmarshal(f["lng"], &p.Lng)
	json.Unmarshal(f["heading"], &p.Heading)
	json.Unmarshal(f["speed"], &p.Speed)
	at, _ := time.Parse(time.RFC3339Nano, syncsvc.Str(f, "time"))
	stream := syncsvc.Str(f, "stream_id")
	if _, err := q.Exec(ctx, `INSERT INTO video_positions (fix_id, stream_id, at, lat, lng, heading, speed) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, stream, at.UTC(), p.Lat, p.Lng, p.Heading, p.Speed); err != nil {
		return fmt.Errorf("video: save fix: %w", err)
	}
	if _, err := q.Exec(ctx, `UPDATE video_streams SET last_lat = $2, last_lng = $3, last_heading = $4, last_speed = $5, last_fix_at = $6
		WHERE id = $1 AND (last_fix_at IS NULL OR last_fix_at <= $6)`, stream, p.Lat, p.Lng, p.Heading, p.Speed, at.UTC()); err != nil {
		return fmt.Errorf("video: save fix: %w", err)
	}
	return nil
}

var _ syncsvc.Collection = (*Fixes)(nil)
