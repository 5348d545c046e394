// Package record records every published video stream to fragmented MP4 segments in the
// media store (local folder or MinIO), with the stream's metadata and explicit gaps where
// the publisher dropped. The Recorder is the SFU's video.TrackSink: each track's RTP packets
// are depacketized (H.264, VP8, Opus) into access units and muxed with bluenviron's
// mediacommon fMP4 muxer. A segment is written to a spool folder as it grows, one fragment
// (default 1 s) at a time with an fsync, and moved into the media store when it is complete
// (default 10 s, each starting at a key frame); after a crash, Open repairs what was left
// open (cutting it after its last complete fragment) and stores it.
package record

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/google/uuid"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/media/video"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Config are the recorder's places and lengths.
type Config struct {
	// SpoolDir holds the segments being written (and, after a crash, those left open).
	SpoolDir string
	// SegmentDuration: a segment ends at the first key frame this long after its start
	// (default 10 s).
	SegmentDuration time.Duration
	// FragmentDuration: media gathered before it is written and synced (default 1 s): what
	// a crash may lose.
	FragmentDuration time.Duration
	// ResumeWindow: a stream published again this soon after it ended continues its
	// recording after a gap (default 5 min).
	ResumeWindow time.Duration
}

// StreamMeta is what the recorder learns of a stream from the SFU.
type StreamMeta struct {
	Publisher     string // user id
	PublisherName string
	OrgPath       string // the publisher's org unit path: the recording's read scope
	IncidentID    string // "" when the stream belongs to no incident
	// ResumeKey identifies the stream across re-publishing ("" = the stream id).
	ResumeKey string
}

// Recorder records streams. It implements video.TrackSink.
type Recorder struct {
	DB    sqldb.DB
	Store media.Store
	Audit yingji.Auditor
	Log   *slog.Logger
	Now   func() time.Time
	// Describe tells who publishes a stream; nil records streams without a publisher.
	Describe func(ctx context.Context, streamID string) (StreamMeta, error)

	cfg  Config
	mu   sync.Mutex
	recs map[string]*recording // by resume key
	jobs chan func(context.Context)
	done chan struct{}

	jobsMu     sync.RWMutex
	jobsClosed bool
}

var _ video.TrackSink = (*Recorder)(nil)

// New returns a recorder; Open must be called before it records.
func New(db sqldb.DB, store media.Store, audit yingji.Auditor, log *slog.Logger, cfg Config) (*Recorder, error) {
	if cfg.SpoolDir == "" {
		return nil, errors.New("record: no spool folder")
	}
	if cfg.SegmentDuration <= 0 {
		cfg.SegmentDuration = 10 * time.Second
	}
	if cfg.FragmentDuration <= 0 {
		cfg.FragmentDuration = time.Second
	}
	if cfg.ResumeWindow <= 0 {
		cfg.ResumeWindow = 5 * time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if audit == nil {
		audit = yingji.AuditFunc(func(context.Context, *yingji.Actor, yingji.Event) {})
	}
	if err := os.MkdirAll(cfg.SpoolDir, 0o750); err != nil {
		return nil, fmt.Errorf("record: spool folder: %w", err)
	}
	return &Recorder{DB: db, Store: store, Audit: audit, Log: log.With("component", "video_record"), Now: time.Now,
		cfg: cfg, recs: map[string]*recording{}, jobs: make(chan func(context.Context), 1024), done: make(chan struct{})}, nil
}

// Open finishes the segments a previous run left in the spool folder (see recover.go) and
// starts the worker that stores segments.
func (r *Recorder) Open(ctx context.Context) error {
	if err := r.recoverSpool(ctx); err != nil {
		return err
	}
	go r.work()
	return nil
}

// work runs the recorder's database and store writes in order.
func (r *Recorder) work() {
	defer close(r.done)
	for job := range r.jobs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		job(ctx)
		cancel()
	}
}

// enqueue hands a write to the worker; after Close it is dropped (a segment then stays in
// the spool folder for the next start).
func (r *Recorder) enqueue(job func(context.Context)) {
	r.jobsMu.RLock()
	defer r.jobsMu.RUnlock()
	if r.jobsClosed {
		r.Log.Warn("录像器已关闭，写入留待下次启动 (recorder closed)")
		return
	}
	r.jobs <- job
}

// Close ends every recording (their open segments are stored) and waits for the stores.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	recs := make([]*recording, 0, len(r.recs))
	for _, rec := range r.recs {
		recs = append(recs, rec)
	}
	r.mu.Unlock()
	for _, rec := range recs {
		rec.mu.Lock()
		rec.endSegment(r.Now())
		if !rec.closed {
			rec.closed = true
			rec.finish()
		}
		rec.mu.Unlock()
	}
	r.jobsMu.Lock()
	if !r.jobsClosed {
		r.jobsClosed = true
		close(r.jobs)
	}
	r.jobsMu.Unlock()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Codec names the recorder keeps.
const (
	codecH264 = "h264"
	codecVP8  = "vp8"
	codecOpus = "opus"
)

// AddTrack starts recording a track of a stream. A stream published again within the
// resume window continues its recording.
func (r *Recorder) AddTrack(streamID string, codec webrtc.RTPCodecParameters, kind webrtc.RTPCodecType) (video.TrackWriter, error) {
	tw := &trackWriter{clock: codec.ClockRate, channels: int(max(codec.Channels, 1)), video: kind == webrtc.RTPCodecTypeVideo}
	switch strings.ToLower(codec.MimeType) {
	case strings.ToLower(webrtc.MimeTypeH264):
		d := newH264Depacketizer(codec.SDPFmtpLine)
		tw.codec, tw.depack, tw.h264 = codecH264, d, d
	case strings.ToLower(webrtc.MimeTypeVP8):
		tw.codec, tw.depack = codecVP8, &vp8Depacketizer{}
	case strings.ToLower(webrtc.MimeTypeOpus):
		tw.codec, tw.depack = codecOpus, &opusDepacketizer{}
		tw.clock = 48000
	default:
		return nil, fmt.Errorf("record: codec %s is not recorded", codec.MimeType)
	}
	if tw.clock == 0 {
		tw.clock = 90000
	}
	// The SFU may hand over a track before the stream's row is written: what Describe does
	// not know yet, the worker asks again when it writes the recording (insertRecording).
	meta := StreamMeta{}
	if r.Describe != nil {
		if m, err := r.Describe(context.Background(), streamID); err == nil {
			meta = m
		}
	}
	key := meta.ResumeKey
	if key == "" {
		key = streamID
	}
	now := r.Now()
	r.mu.Lock()
	rec := r.recs[key]
	if rec != nil {
		rec.mu.Lock()
		if rec.closed && now.Sub(rec.closedAt) > r.cfg.ResumeWindow {
			rec.mu.Unlock()
			rec = nil
		}
	}
	if rec == nil {
		rec = &recording{r: r, key: key, row: recordingRow{ID: uuid.Must(uuid.NewV7()).String(), StreamID: streamID,
			IncidentID: meta.IncidentID, Publisher: meta.Publisher, PublisherName: meta.PublisherName, OrgPath: meta.OrgPath}}
		r.recs[key] = rec
		rec.mu.Lock()
	}
	r.mu.Unlock()
	defer rec.mu.Unlock()
	if rec.closed {
		rec.closed = false
		if rec.gapStart.IsZero() {
			rec.gapStart = rec.lastEnd
		}
		id := rec.row.ID
		r.enqueue(func(ctx context.Context) { r.reopenRecording(ctx, id) })
	}
	// A track of the same kind from before a drop is replaced by this one (the SFU calls
	// AddTrack again when the publisher resumes); tracks of an ended session are gone.
	for _, t := range rec.tracks {
		if t.disc && t.video == tw.video {
			t.closed = true
		}
	}
	rec.tracks = slicesDeleteFunc(rec.tracks, func(t *trackWriter) bool { return t.closed })
	tw.rec = rec
	rec.tracks = append(rec.tracks, tw)
	return tw, nil
}

func slicesDeleteFunc[T any](s []T, del func(T) bool) []T {
	out := s[:0]
	for _, v := range s {
		if !del(v) {
			out = append(out, v)
		}
	}
	return out
}

// recording is one stream's recording while it is being published.
type recording struct {
	r        *Recorder
	key      string
	row      recordingRow
	mu       sync.Mutex
	tracks   []*trackWriter
	seg      *segment
	index    int       // of the next segment
	started  bool      // the recording's row was written
	gapStart time.Time // set when the publisher dropped: the end of the media before
	lastEnd  time.Time // the end of the last segment
	closed   bool
	closedAt time.Time
}

func (rec *recording) hasVideo() bool {
	for _, t := range rec.tracks {
		if t.video && !t.closed {
			return true
		}
	}
	return false
}

// startSegment opens a segment starting at wall time at with the tracks ready now.
func (rec *recording) startSegment(at time.Time, params string) {
	var tracks []*segTrack
	for _, t := range rec.tracks {
		if !t.closed && t.ready() {
			tracks = append(tracks, &segTrack{tw: t, timescale: t.clock})
		}
	}
	if len(tracks) == 0 {
		return
	}
	// Video first: a player takes the first track's timeline.
	if !tracks[0].tw.video {
		for i, t := range tracks {
			if t.tw.video {
				tracks[0], tracks[i] = tracks[i], tracks[0]
				break
			}
		}
	}
	r := rec.r
	if !rec.started {
		rec.started = true
		rec.row.Started = at
		row := rec.row
		r.enqueue(func(ctx context.Context) { r.insertRecording(ctx, row) })
	}
	if !rec.gapStart.IsZero() {
		g := gapRow{RecordingID: rec.row.ID, Started: rec.gapStart, Ended: at}
		if g.Ended.After(g.Started) {
			r.enqueue(func(ctx context.Context) { r.insertGap(ctx, g) })
		}
		rec.gapStart = time.Time{}
	}
	meta := segMeta{Recording: rec.row, Index: rec.index, Started: at}
	seg, err := openSegment(r.cfg.SpoolDir, meta, tracks, params)
	if err != nil {
		r.Log.Error("录像分段创建失败 (open segment)", "recording", rec.row.ID, "err", err)
		return
	}
	rec.index++
	rec.seg = seg
}

// endSegment closes the open segment and hands it to the worker to store.
func (rec *recording) endSegment(now time.Time) {
	seg := rec.seg
	if seg == nil {
		return
	}
	rec.seg = nil
	meta, err := seg.close()
	if err != nil {
		rec.r.Log.Error("录像分段写入失败 (close segment)", "recording", rec.row.ID, "index", meta.Index, "err", err)
	}
	rec.lastEnd = meta.Started.Add(time.Duration(meta.DurationMS) * time.Millisecond)
	r := rec.r
	r.enqueue(func(ctx context.Context) { r.storeSegment(ctx, meta, false) })
}

// finish records the end of the recording (all its tracks ended).
func (rec *recording) finish() {
	rec.closedAt = rec.r.Now()
	if !rec.started {
		return
	}
	id, end := rec.row.ID, rec.lastEnd
	r := rec.r
	r.enqueue(func(ctx context.Context) { r.endRecording(ctx, id, end) })
}

// onUnit places an access unit of track tw, taken at wall time wall, in the segments.
func (rec *recording) onUnit(tw *trackWriter, u unit, wall time.Time) {
	cfg := rec.r.cfg
	if tw.video {
		params := tw.params()
		if rec.seg == nil {
			if !u.key || !tw.ready() {
				return
			}
			rec.startSegment(wall, params)
		} else if u.key && (wall.Sub(rec.seg.meta.Started) >= cfg.SegmentDuration || (rec.seg.track(tw) != nil && params != rec.seg.params) ||
			(rec.seg.track(tw) == nil && rec.seg.tracks[0].tw != tw && !rec.seg.tracks[0].tw.video)) {
			rec.endSegment(wall)
			rec.startSegment(wall, params)
		}
	} else {
		if rec.hasVideo() {
			if rec.seg == nil {
				return
			}
		} else if rec.seg == nil {
			rec.startSegment(wall, "")
		} else if wall.Sub(rec.seg.meta.Started) >= cfg.SegmentDuration {
			rec.endSegment(wall)
			rec.startSegment(wall, "")
		}
	}
	seg := rec.seg
	if seg == nil {
		return
	}
	st := seg.track(tw)
	if st == nil {
		return // joined after the segment started: from the next one
	}
	if !st.originSet {
		off := int64(wall.Sub(seg.meta.Started).Seconds() * float64(st.timescale))
		if off < 0 {
			return
		}
		st.origin, st.originSet = u.ts-off, true
	}
	rel := u.ts - st.origin
	if rel < 0 {
		return
	}
	smp := &fmp4.Sample{}
	switch tw.codec {
	case codecH264:
		if err := smp.FillH264(0, u.nalus); err != nil {
			return
		}
		smp.IsNonSyncSample = !u.key
	case codecVP8:
		smp.Payload, smp.IsNonSyncSample = u.payload, !u.key
	default:
		smp.Payload = u.payload
		if u.dur > 0 {
			smp.Duration = uint32(u.dur)
		}
	}
	seg.add(st, uint64(rel), smp)
	if seg.due(cfg.FragmentDuration) {
		if err := seg.flush(false); err != nil {
			rec.r.Log.Error("录像写入失败 (write fragment)", "recording", rec.row.ID, "err", err)
		}
	}
}

// disconnected: the publisher dropped. The open segment ends; a gap starts at its end.
func (rec *recording) disconnected(at time.Time) {
	for _, t := range rec.tracks {
		t.disc = true
	}
	if rec.seg != nil {
		rec.endSegment(at)
		rec.gapStart = rec.lastEnd
	} else if rec.gapStart.IsZero() && !rec.lastEnd.IsZero() {
		rec.gapStart = rec.lastEnd
	}
}

// trackWriter is one track of a recorded stream (video.TrackWriter).
type trackWriter struct {
	rec      *recording
	codec    string
	video    bool
	clock    uint32
	channels int
	depack   depacketizer
	h264     *h264Depacketizer

	anchored   bool
	anchorWall time.Time
	anchorTS   int64
	disc       bool // a new RTP session follows (re-anchor)
	closed     bool

	sps, pps      []byte // of the current segment's init (H.264)
	width, height int    // VP8
}

// ready reports whether the track's init can be written (its parameters are known).
func (tw *trackWriter) ready() bool {
	switch tw.codec {
	case codecH264:
		return len(tw.sps) > 0 && len(tw.pps) > 0
	case codecVP8:
		return tw.width > 0 && tw.height > 0
	}
	return true
}

func (tw *trackWriter) params() string {
	switch tw.codec {
	case codecH264:
		return base64.StdEncoding.EncodeToString(tw.sps) + "," + base64.StdEncoding.EncodeToString(tw.pps)
	case codecVP8:
		return fmt.Sprintf("%dx%d", tw.width, tw.height)
	}
	return ""
}

// WriteRTP takes one RTP packet that arrived at arrival.
func (tw *trackWriter) WriteRTP(p *rtp.Packet, arrival time.Time) error {
	rec := tw.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if tw.closed {
		return nil
	}
	if tw.disc {
		tw.disc, tw.anchored = false, false
		tw.depack.reset()
	}
	for _, u := range tw.depack.push(p) {
		if !tw.anchored {
			tw.anchored, tw.anchorWall, tw.anchorTS = true, arrival, u.ts
		}
		wall := tw.anchorWall.Add(time.Duration(float64(u.ts-tw.anchorTS) / float64(tw.clock) * float64(time.Second)))
		if u.key {
			switch tw.codec {
			case codecH264:
				if tw.h264.sps != nil && tw.h264.pps != nil {
					tw.sps, tw.pps = tw.h264.sps, tw.h264.pps
				}
			case codecVP8:
				if w, h, err := vp8Size(u.payload); err == nil {
					tw.width, tw.height = w, h
				}
			}
		}
		rec.onUnit(tw, u, wall)
	}
	return nil
}

// Disconnected: the publisher dropped at at; a gap starts.
func (tw *trackWriter) Disconnected(at time.Time) {
	rec := tw.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.disconnected(at)
}

// Close: the track ended. When every track of the stream has, the recording ends (and may
// be resumed within the resume window).
func (tw *trackWriter) Close() error {
	rec := tw.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if tw.closed {
		return nil
	}
	tw.closed = true
	if seg := rec.seg; seg != nil && seg.track(tw) != nil {
		// The segment's init names this track: end it here.
		rec.endSegment(rec.r.Now())
		if !rec.allClosed() {
			rec.gapStart = rec.lastEnd // the others go on from their next key frame
		}
	}
	if rec.allClosed() && !rec.closed {
		rec.closed = true
		rec.finish()
	}
	return nil
}

func (rec *recording) allClosed() bool {
	for _, t := range rec.tracks {
		if !t.closed {
			return false
		}
	}
	return true
}

func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimSpace(s))
}
