package video

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/yingji/yingji/server/yingji"
)

// Stream is a stream's metadata: who sent it, for which incident, when, and where he was.
type Stream struct {
	ID            string     `json:"id"`
	PublisherID   string     `json:"publisher_id"`
	PublisherName string     `json:"publisher_name"`
	IncidentID    *string    `json:"incident_id"`
	OrgPath       string     `json:"org_path"`
	Title         string     `json:"title"`
	State         State      `json:"state"`
	Codecs        []string   `json:"codecs"`
	StartedAt     time.Time  `json:"started_at"`
	EndedAt       *time.Time `json:"ended_at"`
	// Gaps counts how often the publisher dropped and came back.
	Gaps int       `json:"gaps"`
	Last *Position `json:"last_position"`
	// Viewers is how many watch now (live streams only).
	Viewers int `json:"viewers"`
}

// StreamFilter narrows a stream list.
type StreamFilter struct {
	OrgPrefix string // set by the service: the caller's subtree
	// OrIncidents and OrIncidentOrgPrefix widen OrgPrefix/PublisherID (set by the service): the
	// streams of these incidents, and of the incidents in this subtree, are listed too.
	OrIncidents         []string
	OrIncidentOrgPrefix string
	PublisherID         string // set by the service for a caller who may only see his own
	Live                bool   // connecting, live or interrupted
	States              []State
	IncidentID          string
	Since               *time.Time // started at or after
	Until               *time.Time // started before
}

// Store keeps stream metadata and positions. A missing stream is an error wrapping
// yingji.ErrNotFound.
type Store interface {
	CreateStream(ctx context.Context, s Stream) error
	// SetStreamState moves a stream to state at a time: ended sets ended_at; interrupted
	// counts a gap; codecs, when given, replace the stream's.
	SetStreamState(ctx context.Context, id string, state State, at time.Time, codecs []string) error
	// AddPosition appends a fix to the stream's track and makes it the stream's last.
	AddPosition(ctx context.Context, id string, p Position) error
	GetStream(ctx context.Context, id string) (Stream, error)
	ListStreams(ctx context.Context, f StreamFilter, p yingji.ListParams) (yingji.Page[Stream], error)
	// ListPositions returns a stream's fixes after since, oldest first, at most limit.
	ListPositions(ctx context.Context, id string, since time.Time, limit int) ([]Position, error)
	// EndStaleStreams ends every stream not ended (after a restart no publisher is connected).
	EndStaleStreams(ctx context.Context, at time.Time) (int, error)
}

// Incidents tells the video service who belongs to an incident (server/incident, through the
// app). A stream for an incident may be published only by the incident's active members, and
// is watched by its members and by the command centre whose subtree holds the incident.
type Incidents interface {
	// IncidentAccess returns the incident's org path and whether the user is an active member
	// (incident_members); an unknown incident is an error wrapping yingji.ErrNotFound.
	IncidentAccess(ctx context.Context, incidentID, userID string) (orgPath string, member bool, err error)
	// MemberIncidents lists the incidents the user is an active member of.
	MemberIncidents(ctx context.Context, userID string) ([]string, error)
}

// Service decides who may publish and watch, keeps the metadata and audits every start,
// stop and watch. The SFU does the media.
type Service struct {
	SFU   *SFU
	store Store
	audit yingji.Auditor
	log   *slog.Logger
	Now   func() time.Time
	// Incidents, when set, ties publishing and watching to incident membership.
	Incidents Incidents

	mu sync.Mutex
	// owners maps a WHIP/WHEP session to the user who opened it (PATCH and DELETE check it).
	owners map[string]string
}

// NewService builds the service; call Attach with the SFU it drives.
func NewService(st Store, audit yingji.Auditor, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: st, audit: audit, log: log.With("component", "video"), Now: time.Now, owners: map[string]string{}}
}

// Attach sets the SFU (built with the service as its Events) and ends the streams a previous
// run left open.
func (s *Service) Attach(ctx context.Context, sfu *SFU) error {
	s.SFU = sfu
	n, err := s.store.EndStaleStreams(ctx, s.Now())
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("ended streams left open by the previous run", "count", n)
	}
	return nil
}

// PublishInput is a WHIP POST.
type PublishInput struct {
	StreamID   string // resume this stream (the same publisher's re-POST after a drop)
	IncidentID string
	Title      string
	Offer      string
}

var (
	errNotYours      = yingji.Errorf(yingji.EFORBIDDEN, "video.not_publisher", "只能恢复或结束自己发布的视频流")
	errNotInIncident = yingji.Errorf(yingji.EFORBIDDEN, "video.not_incident_member", "您不是该事件的处置人员，不能为该事件回传视频")
)

// Publish starts (or resumes) a stream for the actor.
func (s *Service) Publish(ctx context.Context, a *yingji.Actor, in PublishInput) (Answer, error) {
	if err := a.Require(yingji.PermVideoPublish); err != nil {
		s.audit.Record(ctx, a, yingji.Event{Action: "video.publish", ObjectType: "video_stream", ObjectID: in.StreamID, Result: "denied"})
		return Answer{}, yingji.Errorf(yingji.EFORBIDDEN, "video.publish_forbidden", "您的角色无权发布现场视频")
	}
	if len(in.IncidentID) > 64 || len([]rune(in.Title)) > 100 {
		return Answer{}, yingji.Errorf(yingji.EINVALID, "video.bad_input", "事件编号或标题过长")
	}
	if in.IncidentID != "" && in.StreamID == "" && s.Incidents != nil {
		_, member, err := s.Incidents.IncidentAccess(ctx, in.IncidentID, a.UserID)
		if err != nil && !errors.Is(err, yingji.ErrNotFound) {
			return Answer{}, err
		}
		if !member { // an unknown incident is refused the same way: nothing leaks
			s.audit.Record(ctx, a, yingji.Event{Action: "video.publish", ObjectType: "incident", ObjectID: in.IncidentID, Result: "denied",
				Detail: map[string]any{"code": "video.not_incident_member"}})
			return Answer{}, errNotInIncident
		}
	}
	if in.StreamID != "" {
		st, err := s.store.GetStream(ctx, in.StreamID)
		if errors.Is(err, yingji.ErrNotFound) {
			return Answer{}, errNoStream
		} else if err != nil {
			return Answer{}, err
		}
		if st.PublisherID != a.UserID {
			s.audit.Record(ctx, a, yingji.Event{Action: "video.resume", ObjectType: "video_stream", ObjectID: st.ID, Result: "denied"})
			return Answer{}, errNotYours
		}
		if st.State == StateEnded {
			return Answer{}, errNoStream
		}
	}
	ans, err := s.SFU.Publish(ctx, PublishRequest{StreamID: in.StreamID, Offer: in.Offer})
	if err != nil {
		return Answer{}, err
	}
	s.own(ans.SessionID, a.UserID)
	if ans.Resumed {
		s.audit.Record(ctx, a, yingji.Event{Action: "video.resume", ObjectType: "video_stream", ObjectID: ans.StreamID, Result: "ok"})
		return ans, nil
	}
	st := Stream{ID: ans.StreamID, PublisherID: a.UserID, OrgPath: a.OrgPath, Title: strings.TrimSpace(in.Title),
		State: StateConnecting, StartedAt: s.Now().UTC()}
	if in.IncidentID != "" {
		id := in.IncidentID
		st.IncidentID = &id
	}
	if err := s.store.CreateStream(ctx, st); err != nil {
		_ = s.SFU.Delete(ans.SessionID)
		return Answer{}, err
	}
	s.audit.Record(ctx, a, yingji.Event{Action: "video.start", ObjectType: "video_stream", ObjectID: ans.StreamID, Result: "ok",
		Detail: map[string]any{"incident_id": in.IncidentID, "title": st.Title}})
	return ans, nil
}

func (s *Service) own(session, user string) {
	s.mu.Lock()
	s.owners[session] = user
	s.mu.Unlock()
}

// CanWatch reports whether the actor may watch a stream: its publisher, or a watcher whose
// subtree holds the publisher's unit.
func CanWatch(a *yingji.Actor, st Stream) bool {
	if a == nil {
		return false
	}
	if a.UserID != "" && a.UserID == st.PublisherID {
		return true
	}
	return a.Can(yingji.PermVideoWatch) && a.InSubtree(st.OrgPath)
}

// canWatch is CanWatch widened by the stream's incident: its active members, and watchers
// whose subtree holds the incident.
func (s *Service) canWatch(ctx context.Context, a *yingji.Actor, st Stream) (bool, error) {
	if CanWatch(a, st) {
		return true, nil
	}
	if a == nil || st.IncidentID == nil || s.Incidents == nil {
		return false, nil
	}
	org, member, err := s.Incidents.IncidentAccess(ctx, *st.IncidentID, a.UserID)
	if errors.Is(err, yingji.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return member || (a.Can(yingji.PermVideoWatch) && a.InSubtree(org)), nil
}

// stream loads a stream the actor may see.
func (s *Service) stream(ctx context.Context, a *yingji.Actor, id, action string) (Stream, error) {
	st, err := s.store.GetStream(ctx, id)
	if errors.Is(err, yingji.ErrNotFound) {
		return st, errNoStream
	} else if err != nil {
		return st, err
	}
	ok, err := s.canWatch(ctx, a, st)
	if err != nil {
		return st, err
	}
	if !ok {
		s.audit.Record(ctx, a, yingji.Event{Action: action, ObjectType: "video_stream", ObjectID: id, Result: "denied"})
		return st, yingji.Forbidden("视频流")
	}
	if in, ok := s.SFU.Stream(id); ok {
		st.Viewers = in.Viewers
	}
	return st, nil
}

// View answers a WHEP offer.
func (s *Service) View(ctx context.Context, a *yingji.Actor, streamID, offer string) (Answer, error) {
	if _, err := s.stream(ctx, a, streamID, "video.watch"); err != nil {
		return Answer{}, err
	}
	ans, err := s.SFU.View(ctx, streamID, offer)
	if err != nil {
		return Answer{}, err
	}
	s.own(ans.SessionID, a.UserID)
	s.audit.Record(ctx, a, yingji.Event{Action: "video.watch", ObjectType: "video_stream", ObjectID: streamID, Result: "ok"})
	return ans, nil
}

// session checks that the actor opened a session.
func (s *Service) session(a *yingji.Actor, id string) (SessionInfo, error) {
	in, ok := s.SFU.Session(id)
	s.mu.Lock()
	owner, known := s.owners[id]
	if !ok {
		delete(s.owners, id)
	}
	s.mu.Unlock()
	if !ok || !known {
		return in, errNoSession
	}
	if owner != a.UserID {
		return in, yingji.Forbidden("视频会话")
	}
	return in, nil
}

// Patch applies a trickle-ice-sdpfrag to the actor's session.
func (s *Service) Patch(ctx context.Context, a *yingji.Actor, sessionID, ifMatch, frag string) (string, string, error) {
	if _, err := s.session(a, sessionID); err != nil {
		return "", "", err
	}
	return s.SFU.Patch(sessionID, ifMatch, frag)
}

// Delete ends the actor's session; a publisher's ends the stream.
func (s *Service) Delete(ctx context.Context, a *yingji.Actor, sessionID string) error {
	in, err := s.session(a, sessionID)
	if err != nil {
		return err
	}
	if err := s.SFU.Delete(sessionID); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.owners, sessionID)
	s.mu.Unlock()
	action := "video.unwatch"
	if !in.Viewer {
		action = "video.stop"
	}
	s.audit.Record(ctx, a, yingji.Event{Action: action, ObjectType: "video_stream", ObjectID: in.StreamID, Result: "ok"})
	return nil
}

// Get returns a stream the actor may see.
func (s *Service) Get(ctx context.Context, a *yingji.Actor, id string) (Stream, error) {
	return s.stream(ctx, a, id, "video.read")
}

// List lists the streams the actor may see.
func (s *Service) List(ctx context.Context, a *yingji.Actor, f StreamFilter, p yingji.ListParams) (yingji.Page[Stream], error) {
	switch {
	case a.Can(yingji.PermVideoWatch):
		f.OrgPrefix = a.OrgPath
		if s.Incidents != nil {
			f.OrIncidentOrgPrefix = a.OrgPath
		}
	case a.Can(yingji.PermVideoPublish):
		f.PublisherID = a.UserID
	default:
		if s.Incidents == nil {
			return yingji.Page[Stream]{}, yingji.Errorf(yingji.EFORBIDDEN, "auth.forbidden", "您的角色无权查看现场视频")
		}
		f.PublisherID = "\x00" // only the incidents' streams below
	}
	if s.Incidents != nil && a.UserID != "" {
		ids, err := s.Incidents.MemberIncidents(ctx, a.UserID)
		if err != nil {
			return yingji.Page[Stream]{}, err
		}
		f.OrIncidents = ids
	}
	page, err := s.store.ListStreams(ctx, f, p)
	if err != nil {
		return page, err
	}
	for i := range page.Items {
		if in, ok := s.SFU.Stream(page.Items[i].ID); ok {
			page.Items[i].Viewers = in.Viewers
		}
	}
	return page, nil
}

// Positions returns a stream's track after since (the live map polls with the last time it has).
func (s *Service) Positions(ctx context.Context, a *yingji.Actor, id string, since time.Time, limit int) ([]Position, error) {
	if _, err := s.stream(ctx, a, id, "video.read"); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 5000 {
		limit = 5000
	}
	return s.store.ListPositions(ctx, id, since, limit)
}

// StreamState persists what the SFU reports (Events).
func (s *Service) StreamState(id string, state State, at time.Time, codecs []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.store.SetStreamState(ctx, id, state, at.UTC(), codecs); err != nil {
		s.log.Error("save stream state", "err", err, "stream_id", id, "state", state)
	}
	switch state {
	case StateInterrupted:
		s.audit.Record(ctx, yingji.System, yingji.Event{Action: "video.interrupt", ObjectType: "video_stream", ObjectID: id, Result: "ok"})
	case StateEnded:
		s.audit.Record(ctx, yingji.System, yingji.Event{Action: "video.end", ObjectType: "video_stream", ObjectID: id, Result: "ok"})
	}
}

// Position persists a fix (Events).
func (s *Service) Position(id string, p Position) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.Time = p.Time.UTC()
	if err := s.store.AddPosition(ctx, id, p); err != nil {
		s.log.Warn("save position", "err", err, "stream_id", id)
	}
}

var _ Events = (*Service)(nil)
