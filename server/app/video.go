package app

import (
	"context"
	"fmt"

	"github.com/yingji/yingji/media/video"
)

// openVideo starts the SFU on video_udp_addr with the stream service as its events, and ends
// the streams a previous run left open.
func (m *Main) openVideo(ctx context.Context) error {
	m.Video = video.NewService(m.store, m.Audit, m.Log)
	if m.Incidents != nil {
		m.Video.Incidents = videoIncidents{m}
	}
	if m.Now != nil {
		m.Video.Now = m.Now
	}
	sfu, err := video.New(m.Config.VideoConfig(), video.Options{Sink: m.VideoSink, Events: m.Video, Log: m.Log})
	if err != nil {
		return fmt.Errorf("启动现场视频服务失败 (start video SFU): %w", err)
	}
	if err := m.Video.Attach(ctx, sfu); err != nil {
		sfu.Close()
		return fmt.Errorf("启动现场视频服务失败 (start video SFU): %w", err)
	}
	m.Log.Info("现场视频 UDP 端口 video SFU listening", "udp", sfu.Addr().String())
	return nil
}

// registerVideoFixes registers the synced collection that carries a publisher's positions
// while his data channel is down.
func (m *Main) registerVideoFixes() {
	fixes := video.NewFixes()
	if m.Now != nil {
		fixes.Now = m.Now
	}
	m.Sync.Register(fixes)
}

// closeVideo ends every stream (viewers closed, recordings finished).
func (m *Main) closeVideo() {
	if m.Video != nil && m.Video.SFU != nil {
		m.Video.SFU.Close()
		m.Video = nil
	}
}

// videoIncidents answers the video service's questions about incidents (membership decides
// who publishes for an incident and who watches its streams).
type videoIncidents struct{ m *Main }

func (v videoIncidents) IncidentAccess(ctx context.Context, incidentID, userID string) (string, bool, error) {
	x, err := v.m.Incidents.Get(ctx, v.m.DB, incidentID)
	if err != nil {
		return "", false, err
	}
	member, err := v.m.Incidents.IsMember(ctx, v.m.DB, incidentID, userID)
	return x.OrgPath, member, err
}

func (v videoIncidents) MemberIncidents(ctx context.Context, userID string) ([]string, error) {
	return v.m.Incidents.UserIncidents(ctx, v.m.DB, userID)
}
