package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/yingji/yingji/media/video"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

var _ video.Store = (*Store)(nil)

const videoStreamCols = `v.id, v.publisher_id, COALESCE(u.name, ''), v.incident_id, v.org_path, v.title, v.state, v.codecs,
	v.started_at, v.ended_at, v.gaps, v.last_lat, v.last_lng, v.last_heading, v.last_speed, v.last_fix_at`

const videoStreamFrom = ` FROM video_streams v LEFT JOIN users u ON u.id = v.publisher_id`

func (s *Store) CreateStream(ctx context.Context, v video.Stream) error {
	_, err := s.DB.Exec(ctx, `INSERT INTO video_streams (id, publisher_id, incident_id, org_path, title, state, codecs, started_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		v.ID, v.PublisherID, v.IncidentID, v.OrgPath, v.Title, string(v.State), strings.Join(v.Codecs, ","), v.StartedAt.UTC())
	if err != nil {
		return fmt.Errorf("store: create video stream: %w", err)
	}
	return nil
}

func (s *Store) SetStreamState(ctx context.Context, id string, state video.State, at time.Time, codecs []string) error {
	var n int64
	var err error
	switch {
	case state == video.StateEnded:
		n, err = s.DB.Exec(ctx, `UPDATE video_streams SET state = $2, ended_at = $3 WHERE id = $1 AND state <> 'ended'`, id, string(state), at.UTC())
		if n == 0 && err == nil {
			return nil // already ended
		}
	case state == video.StateInterrupted:
		n, err = s.DB.Exec(ctx, `UPDATE video_streams SET state = $2, gaps = gaps + 1 WHERE id = $1`, id, string(state))
	case len(codecs) > 0:
		n, err = s.DB.Exec(ctx, `UPDATE video_streams SET state = $2, codecs = $3 WHERE id = $1`, id, string(state), strings.Join(codecs, ","))
	default:
		n, err = s.DB.Exec(ctx, `UPDATE video_streams SET state = $2 WHERE id = $1`, id, string(state))
	}
	if err != nil {
		return fmt.Errorf("store: video stream %s state: %w", id, err)
	}
	return mustAffect(n, nil)
}

func (s *Store) AddPosition(ctx context.Context, id string, p video.Position) error {
	return s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		if _, err := tx.Exec(ctx, `INSERT INTO video_positions (stream_id, at, lat, lng, heading, speed) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, p.Time.UTC(), p.Lat, p.Lng, p.Heading, p.Speed); err != nil {
			return fmt.Errorf("store: add video position: %w", err)
		}
		n, err := tx.Exec(ctx, `UPDATE video_streams SET last_lat = $2, last_lng = $3, last_heading = $4, last_speed = $5, last_fix_at = $6
			WHERE id = $1 AND (last_fix_at IS NULL OR last_fix_at <= $6)`, id, p.Lat, p.Lng, p.Heading, p.Speed, p.Time.UTC())
		if err != nil {
			return fmt.Errorf("store: video stream last position: %w", err)
		}
		_ = n
		return nil
	})
}

func scanStream(r interface{ Scan(...any) error }) (video.Stream, error) {
	var v video.Stream
	var incident sql.NullString
	var state, codecs string
	var ended, fixAt sql.NullTime
	var lat, lng, heading, speed sql.NullFloat64
	if err := r.Scan(&v.ID, &v.PublisherID, &v.PublisherName, &incident, &v.OrgPath, &v.Title, &state, &codecs,
		&v.StartedAt, &ended, &v.Gaps, &lat, &lng, &heading, &speed, &fixAt); err != nil {
		return v, err
	}
	v.State = video.State(state)
	v.Codecs = []string{}
	if codecs != "" {
		v.Codecs = strings.Split(codecs, ",")
	}
	v.StartedAt = v.StartedAt.UTC()
	if incident.Valid {
		v.IncidentID = &incident.String
	}
	if ended.Valid {
		t := ended.Time.UTC()
		v.EndedAt = &t
	}
	if lat.Valid && lng.Valid {
		p := &video.Position{Lat: lat.Float64, Lng: lng.Float64}
		if heading.Valid {
			p.Heading = &heading.Float64
		}
		if speed.Valid {
			p.Speed = &speed.Float64
		}
		if fixAt.Valid {
			p.Time = fixAt.Time.UTC()
		}
		v.Last = p
	}
	return v, nil
}

func (s *Store) GetStream(ctx context.Context, id string) (video.Stream, error) {
	v, err := scanStream(s.DB.QueryRow(ctx, `SELECT `+videoStreamCols+videoStreamFrom+` WHERE v.id = $1`, id))
	if err != nil {
		return v, fmt.Errorf("store: get video stream %s: %w", id, err)
	}
	return v, nil
}

var videoSorts = map[string]string{"started_at": "v.started_at", "ended_at": "v.ended_at", "state": "v.state"}

func (s *Store) ListStreams(ctx context.Context, f video.StreamFilter, p yingji.ListParams) (yingji.Page[video.Stream], error) {
	var page yingji.Page[video.Stream]
	p.Normalize()
	order, err := p.OrderBy(videoSorts, "v.started_at DESC")
	if err != nil {
		return page, err
	}
	var w sqldb.Where
	// Whom the caller may see: his subtree or his own streams, or (OR) the streams of the
	// incidents he is a member of or whose unit lies in his subtree.
	var own []string
	var args []any
	if f.OrgPrefix != "" {
		own = append(own, "v.org_path >= ? AND v.org_path < ?")
		args = append(args, f.OrgPrefix, sqldb.PrefixEnd(f.OrgPrefix))
	}
	if f.PublisherID != "" {
		own = append(own, "v.publisher_id = ?")
		args = append(args, f.PublisherID)
	}
	if len(own) > 0 {
		ors := []string{"(" + strings.Join(own, " AND ") + ")"}
		if len(f.OrIncidents) > 0 {
			ph := make([]string, len(f.OrIncidents))
			for i, id := range f.OrIncidents {
				ph[i] = "?"
				args = append(args, id)
			}
			ors = append(ors, "v.incident_id IN ("+strings.Join(ph, ", ")+")")
		}
		if f.OrIncidentOrgPrefix != "" {
			ors = append(ors, "v.incident_id IN (SELECT i.id FROM incidents i WHERE i.org_path >= ? AND i.org_path < ?)")
			args = append(args, f.OrIncidentOrgPrefix, sqldb.PrefixEnd(f.OrIncidentOrgPrefix))
		}
		w.Add("("+strings.Join(ors, " OR ")+")", args...)
	}
	if f.Live {
		w.Add("v.state <> 'ended'")
	}
	if len(f.States) > 0 {
		vals := make([]string, len(f.States))
		for i, st := range f.States {
			vals[i] = string(st)
		}
		w.Add(inList(&w, "v.state", vals))
	}
	if f.IncidentID != "" {
		w.Add("v.incident_id = ?", f.IncidentID)
	}
	if f.Since != nil {
		w.Add("v.started_at >= ?", f.Since.UTC())
	}
	if f.Until != nil {
		w.Add("v.started_at < ?", f.Until.UTC())
	}
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM video_streams v`+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("store: count video streams: %w", err)
	}
	q := `SELECT ` + videoStreamCols + videoStreamFrom + w.SQL() + ` ORDER BY ` + order + `, v.id ASC LIMIT ` + w.Next(p.PageSize) +
		` OFFSET ` + w.Next(p.Offset())
	rows, err := s.DB.Query(ctx, q, w.Args...)
	page.Items, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (video.Stream, error) { return scanStream(r) })
	if err != nil {
		return page, fmt.Errorf("store: list video streams: %w", err)
	}
	if page.Items == nil {
		page.Items = []video.Stream{}
	}
	return page, nil
}

func (s *Store) ListPositions(ctx context.Context, id string, since time.Time, limit int) ([]video.Position, error) {
	rows, err := s.DB.Query(ctx, `SELECT at, lat, lng, heading, speed FROM video_positions WHERE stream_id = $1 AND at > $2
		ORDER BY at ASC LIMIT $3`, id, since.UTC(), limit)
	out, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (video.Position, error) {
		var p video.Position
		var heading, speed sql.NullFloat64
		if err := r.Scan(&p.Time, &p.Lat, &p.Lng, &heading, &speed); err != nil {
			return p, err
		}
		p.Time = p.Time.UTC()
		if heading.Valid {
			p.Heading = &heading.Float64
		}
		if speed.Valid {
			p.Speed = &speed.Float64
		}
		return p, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: video positions: %w", err)
	}
	if out == nil {
		out = []video.Position{}
	}
	return out, nil
}

func (s *Store) EndStaleStreams(ctx context.Context, at time.Time) (int, error) {
	n, err := s.DB.Exec(ctx, `UPDATE video_streams SET state = 'ended', ended_at = $1 WHERE state <> 'ended'`, at.UTC())
	if err != nil {
		return 0, fmt.Errorf("store: end stale video streams: %w", err)
	}
	return int(n), nil
}
