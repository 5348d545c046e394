package app

import (
	"context"
	"fmt"

	"github.com/yingji/yingji/media/video/record"
)

// openRecorder starts the video recorder: it finishes what a previous run left in the spool
// folder, then records every track the SFU hands it (Main.Recorder is the SFU's TrackSink).
func (m *Main) openRecorder(ctx context.Context) error {
	rec, err := record.New(m.DB, m.MediaStore, m.Audit, m.Log, record.Config{SpoolDir: m.Config.VideoSpoolDir(),
		SegmentDuration: m.Config.VideoRecordSegment, FragmentDuration: m.Config.VideoRecordFragment})
	if err != nil {
		return fmt.Errorf("启动视频录像失败 (start video recorder): %w", err)
	}
	if m.Now != nil {
		rec.Now = m.Now
	}
	rec.Describe = m.describeStream
	if err := rec.Open(ctx); err != nil {
		return fmt.Errorf("恢复未完成的视频录像失败 (recover video recordings): %w", err)
	}
	m.Recorder = rec
	return nil
}

// describeStream reads who publishes a stream from its row (video_streams, written by the
// video service when the publisher starts).
func (m *Main) describeStream(ctx context.Context, streamID string) (record.StreamMeta, error) {
	var meta record.StreamMeta
	var incident *string
	err := m.DB.QueryRow(ctx, `SELECT s.publisher_id, COALESCE(u.name, ''), s.org_path, s.incident_id
		FROM video_streams s LEFT JOIN users u ON u.id = s.publisher_id WHERE s.id = $1`, streamID).
		Scan(&meta.Publisher, &meta.PublisherName, &meta.OrgPath, &incident)
	if err != nil {
		return meta, err
	}
	if incident != nil {
		meta.IncidentID = *incident
	}
	return meta, nil
}

// closeRecorder ends every recording and stores its last segments.
func (m *Main) closeRecorder(ctx context.Context) {
	if m.Recorder == nil {
		return
	}
	if err := m.Recorder.Close(ctx); err != nil {
		m.Log.Warn("停止视频录像出错 (stop video recorder)", "err", err)
	}
	m.Recorder = nil
}
