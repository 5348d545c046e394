package incident

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/yingji/yingji/server/mediasvc"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// MessagesName is the name of the synced collection of the incident group chat (群组).
const MessagesName = "incident_messages"

// Location is a point (WGS84).
type Location struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// Message is one chat message of an incident's group: text, photos (media SHA-256 refs) or a
// location. SentAt is the device's time (the order), ReceivedAt the server's.
type Message struct {
	ID         string    `json:"id"`
	IncidentID string    `json:"incident_id"`
	Kind       string    `json:"kind"` // text, photo, location
	Text       string    `json:"text"`
	Photos     []string  `json:"photos"`
	Location   *Location `json:"location"`
	SenderID   string    `json:"sender_id"`
	SenderName string    `json:"sender_name"`
	SentAt     string    `json:"sent_at"`
	ReceivedAt string    `json:"received_at"`
	OrgPath    string    `json:"org_path"`
}

var messageSpec = &syncproto.CollectionSpec{
	Name:       MessagesName,
	AppendOnly: true,
	Fields: []syncproto.FieldSpec{
		{Name: "incident_id", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "kind", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "text", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "photos", Type: syncproto.TypeArray, Rule: syncproto.Immutable},
		{Name: "location", Type: syncproto.TypeObject, Rule: syncproto.Immutable},
		{Name: "sender_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "sender_name", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "sent_at", Type: syncproto.TypeTime, Rule: syncproto.Immutable},
		{Name: "received_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "org_path", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	},
}

const messageCols = `id, incident_id, kind, text, photos, location, sender_id, sender_name, sent_at, received_at, org_path`

func scanMessage(r sqldb.Rows) (Message, error) {
	var m Message
	var photos, loc string
	if err := r.Scan(&m.ID, &m.IncidentID, &m.Kind, &m.Text, &photos, &loc, &m.SenderID, &m.SenderName, &m.SentAt, &m.ReceivedAt, &m.OrgPath); err != nil {
		return m, err
	}
	json.Unmarshal([]byte(photos), &m.Photos)
	if m.Photos == nil {
		m.Photos = []string{}
	}
	json.Unmarshal([]byte(loc), &m.Location)
	return m, nil
}

func messageFields(m Message) syncsvc.Fields {
	b, _ := json.Marshal(m)
	var f syncsvc.Fields
	json.Unmarshal(b, &f)
	delete(f, "id")
	return f
}

func messageOf(id string, f syncsvc.Fields) (Message, error) {
	b, _ := json.Marshal(f)
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return m, syncsvc.Rejected(syncproto.CodeBadValue, "消息字段的类型不对：位置应为 {\"lat\": 纬度, \"lng\": 经度}，照片为 SHA-256 列表")
	}
	m.ID = id
	if m.Photos == nil {
		m.Photos = []string{}
	}
	return m, nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// mayChat reports whether the actor may post in the incident's group: an active member, or
// one who may edit the incident.
func (s *Service) mayChat(ctx context.Context, q sqldb.Querier, a *yingji.Actor, x Incident) (bool, error) {
	if a.Can(yingji.PermIncidentWrite) && InScope(a, x) {
		return true, nil
	}
	return s.IsMember(ctx, q, x.ID, a.UserID)
}

// prepareMessage checks a new message and fills its server fields; at and received are the
// action and receipt times.
func (s *Service) prepareMessage(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m *Message, at, received time.Time) error {
	bad := func(msg string) error { return yingji.Invalid("chat.invalid", "kind", "%s", msg) }
	x, err := s.Get(ctx, q, m.IncidentID)
	if err != nil {
		return err
	}
	ok, err := s.mayChat(ctx, q, a, x)
	if err != nil {
		return err
	}
	if !ok {
		return yingji.Errorf(yingji.EFORBIDDEN, "chat.forbidden", "您不是该事件群组的成员，不能发言")
	}
	m.Text = strings.TrimSpace(m.Text)
	switch m.Kind {
	case "text":
		if m.Text == "" {
			return bad("文字消息不能为空")
		}
	case "photo":
		if len(m.Photos) == 0 || len(m.Photos) > 9 {
			return bad("图片消息应有 1–9 张照片")
		}
		for _, p := range m.Photos {
			if !sha256Hex.MatchString(p) {
				return bad("照片应以其 SHA-256 十六进制摘要引用")
			}
		}
	case "location":
		if m.Location == nil || m.Location.Lat < -90 || m.Location.Lat > 90 || m.Location.Lng < -180 || m.Location.Lng > 180 {
			return bad("位置消息应有 {\"lat\": 纬度, \"lng\": 经度}（WGS84）")
		}
	default:
		return bad("消息类型只能是 text（文字）、photo（图片）或 location（位置）")
	}
	if m.Kind != "photo" {
		m.Photos = []string{}
	}
	if m.Kind != "location" {
		m.Location = nil
	}
	if len([]rune(m.Text)) > 2000 {
		return bad("消息不超过 2000 个字")
	}
	m.SenderID, m.SenderName, m.OrgPath = a.UserID, a.Name, x.OrgPath
	m.SentAt, m.ReceivedAt = FormatTime(at), FormatTime(received)
	return nil
}

func (s *Service) insertMessage(ctx context.Context, q sqldb.Querier, m Message) error {
	photos, _ := json.Marshal(m.Photos)
	loc, _ := json.Marshal(m.Location)
	_, err := q.Exec(ctx, `INSERT INTO incident_messages (`+messageCols+`, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		m.ID, m.IncidentID, m.Kind, m.Text, string(photos), string(loc), m.SenderID, m.SenderName, m.SentAt, m.ReceivedAt, m.OrgPath, s.now())
	if err != nil {
		return err
	}
	return mediasvc.SetRefs(ctx, q, mediasvc.Refs{Collection: MessagesName, RecordID: m.ID, SHA256s: m.Photos, OrgPath: m.OrgPath,
		IncidentID: m.IncidentID})
}

// Post posts a message from the portal.
func (s *Service) Post(ctx context.Context, a *yingji.Actor, m Message) (Message, error) {
	m.ID = yingji.NewID()
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		now := s.now()
		if err := s.prepareMessage(ctx, tx, a, &m, now, now); err != nil {
			return err
		}
		if err := s.insertMessage(ctx, tx, m); err != nil {
			return err
		}
		return s.changed(ctx, tx, MessagesName, m.ID)
	})
	if err != nil {
		return Message{}, s.deny(ctx, a, "chat.post", ObjectIncident, m.IncidentID, err)
	}
	s.ok(ctx, a, "chat.post", ObjectMessage, m.ID, map[string]any{"incident_id": m.IncidentID, "kind": m.Kind})
	return m, nil
}

// Messages lists an incident's chat in the order sent (device time, then id), after the
// message with id after ("" from the start), at most limit.
func (s *Service) Messages(ctx context.Context, a *yingji.Actor, incidentID, after string, limit int) ([]Message, error) {
	if _, err := s.Read(ctx, a, incidentID); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	w := ""
	args := []any{incidentID}
	if after != "" {
		var at string
		if err := s.DB.QueryRow(ctx, `SELECT sent_at FROM incident_messages WHERE id = $1 AND incident_id = $2`, after, incidentID).Scan(&at); err != nil {
			return nil, yingji.Invalid("chat.bad_after", "after", "参数 after 应为该事件的一条消息编号")
		}
		w = ` AND (sent_at > $2 OR (sent_at = $2 AND id > $3))`
		args = append(args, at, after)
	}
	rows, err := s.DB.Query(ctx, `SELECT `+messageCols+` FROM incident_messages WHERE incident_id = $1`+w+
		` ORDER BY sent_at, id LIMIT `+sqldb.Placeholders(len(args)+1, 1), append(args, limit)...)
	return sqldb.CollectRows(rows, err, scanMessage)
}

// MessageCollection is the synced collection of the incident chat: append-only; a message
// sent offline lands with its device time.
type MessageCollection struct{ s *Service }

// MessageCollection returns the synced collection of chat messages.
func (s *Service) MessageCollection() *MessageCollection { return &MessageCollection{s} }

func (c *MessageCollection) Spec() *syncproto.CollectionSpec { return messageSpec }

func (c *MessageCollection) Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]syncsvc.Fields, error) {
	out := map[string]syncsvc.Fields{}
	err := sqldb.InChunks(ids, nil, func(args []any, in string) error {
		rows, err := q.Query(ctx, `SELECT `+messageCols+` FROM incident_messages WHERE id IN (`+in+`)`, args...)
		ms, err := sqldb.CollectRows(rows, err, scanMessage)
		for _, m := range ms {
			out[m.ID] = messageFields(m)
		}
		return err
	})
	return out, err
}

func (c *MessageCollection) Place(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields) (syncsvc.Place, error) {
	inc := syncsvc.Str(f, "incident_id")
	x, err := syncsvc.Cached(ctx, "incident:"+inc, func() (Incident, error) { return c.s.Get(ctx, q, inc) })
	if err != nil {
		return syncsvc.Place{}, err
	}
	return PlaceOf(x), nil
}

func (c *MessageCollection) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	return nil // checked with the incident in Prepare
}

func (c *MessageCollection) Prepare(ctx context.Context, q sqldb.Querier, a *yingji.Actor, f syncsvc.Fields, created bool) error {
	m, err := messageOf("", f)
	if err != nil {
		return err
	}
	at, received := syncsvc.StepTimes(ctx, c.s.now())
	if m.SentAt != "" {
		t, err := time.Parse(time.RFC3339, m.SentAt)
		if err != nil {
			return syncsvc.Rejected(syncproto.CodeBadValue, "时间“sent_at”应为 RFC 3339 格式")
		}
		if st := syncsvc.StepOf(ctx); st != nil {
			at = st.Set(t)
		}
	}
	if err := c.s.prepareMessage(ctx, q, a, &m, at, received); err != nil {
		return asRejection(err)
	}
	for k, v := range messageFields(m) {
		f[k] = v
	}
	return nil
}

func (c *MessageCollection) Save(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields, created, deleted bool) error {
	m, err := messageOf(id, f)
	if err != nil {
		return err
	}
	return c.s.insertMessage(ctx, q, m)
}
