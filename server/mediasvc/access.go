package mediasvc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Refs are the media one record refers to, with the record's scope keys.
type Refs struct {
	Collection   string
	RecordID     string
	OrgPath      string // the record's org path ("/id1/id2/")
	EnterpriseID string // its enterprise, "" when it belongs to an org unit only
	// IncidentID is the incident the record belongs to (scene feedback, the incident chat): the
	// incident's active members read its media too. "" for none.
	IncidentID string
	// Shared: the record is published to everyone below its unit (a published government
	// plan), so its files are readable there too.
	Shared bool
	// Perm is a permission the reader's role must also hold ("" for none): the files of a plan
	// not yet published are read only by those who may author plans (yingji.PermPlanWrite).
	Perm    string
	SHA256s []string
}

// SetRefs replaces the media references of one record. Call it in the transaction that saves
// the record, so access to its media follows access to it at once; a deleted record passes no
// hashes. Hashes that are not SHA-256 are ignored (the collection validates its fields).
func SetRefs(ctx context.Context, q sqldb.Querier, r Refs) error {
	if _, err := q.Exec(ctx, "DELETE FROM media_refs WHERE collection = $1 AND record_id = $2", r.Collection, r.RecordID); err != nil {
		return fmt.Errorf("media: refs of %s/%s: %w", r.Collection, r.RecordID, err)
	}
	var vals []string
	var args []any
	seen := map[string]bool{}
	for _, h := range r.SHA256s {
		if !media.ValidSHA256(h) || seen[h] {
			continue
		}
		seen[h] = true
		n := len(args)
		vals = append(vals, fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8))
		args = append(args, h, r.Collection, r.RecordID, r.OrgPath, r.EnterpriseID, r.IncidentID, r.Shared, r.Perm)
	}
	if len(vals) == 0 {
		return nil
	}
	if _, err := q.Exec(ctx, "INSERT INTO media_refs (sha256, collection, record_id, org_path, enterprise_id, incident_id, shared, perm) VALUES "+
		strings.Join(vals, ", "), args...); err != nil {
		return fmt.Errorf("media: refs of %s/%s: %w", r.Collection, r.RecordID, err)
	}
	return nil
}

// readsRef reports whether the actor may read a record with these scope keys: the rule of the
// sync scopes (an enterprise role reads its enterprise; the others their org subtree; a shared
// record's files everyone below its unit), and the role holds the reference's permission.
func readsRef(a *yingji.Actor, r refRow) bool {
	if r.Perm != "" && !a.Can(r.Perm) {
		return false
	}
	if r.Shared && r.EnterpriseID == "" && a.IsAncestorOf(r.OrgPath) {
		return true
	}
	if r.EnterpriseID != "" {
		return a.CanReadEnterprise(r.EnterpriseID, r.OrgPath)
	}
	return a.Role.ScopeKind() != yingji.ScopeEnterprise && r.OrgPath != "" && a.InSubtree(r.OrgPath)
}

// state is what the server knows of a hash.
type state struct {
	obj     *object     // stored
	uploads []uploadRow // uploads in progress
	refs    []refRow    // records referring to it
}

func (s *Service) load(ctx context.Context, sha string) (state, error) {
	var st state
	if !media.ValidSHA256(sha) {
		return st, badSHA256()
	}
	err := s.DB.ReadTx(ctx, func(q sqldb.Querier) error {
		o, err := getObject(ctx, q, sha)
		switch {
		case err == nil:
			st.obj = &o
		case !isNotFound(err):
			return err
		}
		if st.uploads, err = uploadsOf(ctx, q, sha); err != nil {
			return err
		}
		st.refs, err = refsOf(ctx, q, sha)
		return err
	})
	return st, err
}

// canRead: the actor sent it (or is sending it), or may read a record that refers to it.
func (st state) canRead(a *yingji.Actor) bool {
	if a == nil || a.UserID == "" && a != yingji.System {
		return false
	}
	if st.obj != nil && st.obj.UploadedBy == a.UserID {
		return true
	}
	if slices.ContainsFunc(st.uploads, func(u uploadRow) bool { return u.UserID == a.UserID }) {
		return true
	}
	return slices.ContainsFunc(st.refs, func(r refRow) bool { return readsRef(a, r) })
}

// incidentMember reports whether the actor is an active member (incident_members) of an
// incident whose records refer to the object: members of an incident see each other's scene
// photos and chat pictures, whatever their units.
func (s *Service) incidentMember(ctx context.Context, a *yingji.Actor, refs []refRow) (bool, error) {
	if a == nil || a.UserID == "" {
		return false, nil
	}
	var ids []string
	for _, r := range refs {
		if r.IncidentID != "" && !slices.Contains(ids, r.IncidentID) {
			ids = append(ids, r.IncidentID)
		}
	}
	if len(ids) == 0 {
		return false, nil
	}
	n := 0
	err := sqldb.InChunks(ids, []any{a.UserID}, func(args []any, in string) error {
		var c int
		err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM incident_members WHERE user_id = $1 AND removed_at IS NULL AND incident_id IN (`+in+`)`,
			args...).Scan(&c)
		n += c
		return err
	})
	if err != nil {
		return false, fmt.Errorf("media: incident members: %w", err)
	}
	return n > 0, nil
}

func (st state) known() bool { return st.obj != nil || len(st.uploads) > 0 || len(st.refs) > 0 }

// authorize loads what is known of a hash and checks that the actor may read it. A refusal is
// audited under action and answered as if the hash were unknown (media.not_found): whether
// another enterprise holds a file, and its size, is not for everyone to learn.
func (s *Service) authorize(ctx context.Context, a *yingji.Actor, sha, action string) (state, error) {
	st, err := s.load(ctx, sha)
	if err != nil {
		return st, err
	}
	if !st.known() {
		return st, notFound()
	}
	ok := st.canRead(a)
	if !ok {
		if ok, err = s.incidentMember(ctx, a, st.refs); err != nil {
			return st, err
		}
	}
	if !ok {
		s.Audit.Record(ctx, a, yingji.Event{Action: action, ObjectType: "media", ObjectID: sha, Result: "denied"})
		return st, notFound()
	}
	return st, nil
}

// Exists reports whether the server holds an object the actor may read (HEAD /media/:sha256),
// by the same rule as a download: a file the actor may not read does not exist for him.
func (s *Service) Exists(ctx context.Context, a *yingji.Actor, sha string) (Info, bool, error) {
	st, err := s.authorize(ctx, a, sha, "media.exists")
	if yingji.ErrorKind(err) == yingji.ENOTFOUND {
		return Info{}, false, nil
	} else if err != nil {
		return Info{}, false, err
	}
	if st.obj == nil {
		return Info{}, false, nil
	}
	return st.obj.info(), true, nil
}

// Info describes a media object the actor may read: stored (ready), being uploaded
// (uploading, with the bytes received so far) or only referred to (missing).
func (s *Service) Info(ctx context.Context, a *yingji.Actor, sha string) (Info, error) {
	st, err := s.authorize(ctx, a, sha, "media.read")
	if err != nil {
		return Info{}, err
	}
	if st.obj != nil {
		return st.obj.info(), nil
	}
	in := Info{SHA256: sha, Status: StatusMissing, StatusLabel: statusLabels[StatusMissing]}
	if len(st.uploads) > 0 {
		u := st.uploads[0]
		in.Status, in.StatusLabel, in.Size, in.Filename = StatusUploading, statusLabels[StatusUploading], u.Size, u.Filename
		var got int64
		if fi, err := os.Stat(filepath.Join(s.cfg.UploadDir, u.ID)); err == nil {
			got = fi.Size()
		}
		in.ReceivedBytes = &got
	}
	return in, nil
}

func (o object) info() Info {
	at := o.ReceivedAt.UTC()
	var taken *time.Time
	if o.TakenAt != nil {
		t := o.TakenAt.UTC()
		taken = &t
	}
	return Info{SHA256: o.SHA256, Size: o.Size, ContentType: o.ContentType, Kind: o.Kind, Filename: o.Filename,
		Status: StatusReady, StatusLabel: statusLabels[StatusReady], TakenAt: taken, Lat: o.Lat, Lng: o.Lng,
		ReceivedAt: &at, UploadedBy: o.UploadedBy}
}
