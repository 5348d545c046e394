// Package e2e_test drives the real server (in-process or as its own process, on SQLite and on
// PostgreSQL) with real SDK clients, each on its own replica file, the way phones do: offline
// edits, syncs at random moments, cut connections, a killed server, clocks off by an hour,
// live pokes and refused writes. Nothing here is a fake.
//
//	go test -race -count=1 ./mobile-sdk/e2e/
//	YINGJI_E2E_SEEDS=50 go test -race -count=1 -run TestE2EConvergence ./mobile-sdk/e2e/
package e2e_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/syncproto"
)

// engine starts a whole server in-process.
type engine struct {
	name  string
	start func(testing.TB, ...apptest.Option) *apptest.Server
}

var engines = []engine{{"sqlite", apptest.Start}, {"postgres", apptest.StartPostgres}}

var chinese = regexp.MustCompile(`\p{Han}`)

const coll = "hazards"

// device is one phone: an SDK client on its own replica file (its own device id), signed in
// as one demo account, and a read-only connection to the same file so tests can read what
// the SDK does not show (the HLC stamps of queued changes and of the server's state).
type device struct {
	*sdk.Client
	tb   testing.TB
	user string
	path string
	ent  string // the user's enterprise_id, when he has one
	ro   *sql.DB
}

var replicaSeq atomic.Int64

// openDevice opens a fresh replica for user (not signed in).
func openDevice(tb testing.TB, user string, opts sdk.Options) *device {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), fmt.Sprintf("%s-%d.db", user, replicaSeq.Add(1)))
	c, err := sdk.Open(context.Background(), path, opts)
	if err != nil {
		tb.Fatalf("open replica of %s: %v", user, err)
	}
	ro, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	ro.SetMaxOpenConns(1)
	d := &device{Client: c, tb: tb, user: user, path: path, ro: ro}
	tb.Cleanup(func() {
		ro.Close()
		d.Client.Close()
	})
	return d
}

// reopen closes the replica and opens the same file again, as a restarted app does.
func (d *device) reopen(opts sdk.Options) {
	d.tb.Helper()
	id := d.DeviceID()
	if err := d.Client.Close(); err != nil {
		d.tb.Fatal(err)
	}
	c, err := sdk.Open(context.Background(), d.path, opts)
	if err != nil {
		d.tb.Fatalf("reopen replica of %s: %v", d.user, err)
	}
	if c.DeviceID() != id {
		d.tb.Fatalf("device id changed on reopen: %s, was %s", c.DeviceID(), id)
	}
	d.Client = c
	d.tb.Cleanup(func() { c.Close() })
}

// login opens a fresh replica and signs user in at serverURL.
func login(tb testing.TB, serverURL, user string, opts sdk.Options) *device {
	tb.Helper()
	d := openDevice(tb, user, opts)
	d.login(serverURL)
	return d
}

func (d *device) login(serverURL string) {
	d.tb.Helper()
	raw, err := d.Login(context.Background(), serverURL, d.user, apptest.Password)
	if err != nil {
		d.tb.Fatalf("login %s: %v", d.user, err)
	}
	var u struct {
		EnterpriseID string `json:"enterprise_id"`
	}
	json.Unmarshal(raw, &u)
	d.ent = u.EnterpriseID
}

// sync syncs once and fails the test on an error.
func (d *device) sync() sdk.SyncStats {
	d.tb.Helper()
	st, err := d.Sync(context.Background())
	if err != nil {
		d.tb.Fatalf("%s: sync: %v", d.user, err)
	}
	return st
}

// fields encodes a map of values as record fields.
func fields(tb testing.TB, kv map[string]any) map[string]json.RawMessage {
	tb.Helper()
	out := make(map[string]json.RawMessage, len(kv))
	for k, v := range kv {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		out[k] = b
	}
	return out
}

// create queues a new hazard of enterprise ent and returns its id.
func (d *device) create(ent, title, description string) string {
	d.tb.Helper()
	id, err := d.Create(context.Background(), coll, fields(d.tb, map[string]any{
		"title": title, "description": description, "enterprise_id": ent, "photos": []string{}}))
	if err != nil {
		d.tb.Fatalf("%s: create: %v", d.user, err)
	}
	return id
}

// update queues a change of a hazard.
func (d *device) update(id string, kv map[string]any) {
	d.tb.Helper()
	if err := d.Update(context.Background(), coll, id, fields(d.tb, kv)); err != nil {
		d.tb.Fatalf("%s: update %s %v: %v", d.user, id, kv, err)
	}
}

// hz is what the tests compare of a hazard.
type hz struct {
	ID          string
	Title       string
	Description string
	Status      string
	Enterprise  string
	Photos      []string
	Seq         int64
	State       string
}

func (h hz) String() string {
	return fmt.Sprintf("{title %q, description %q, status %s, photos %d, seq %d, %s}", h.Title, h.Description, h.Status, len(h.Photos), h.Seq, h.State)
}

// sameValues compares what the user sees and the server version (not the local state).
func (h hz) sameValues(o hz) bool {
	return h.ID == o.ID && h.Title == o.Title && h.Description == o.Description && h.Status == o.Status &&
		h.Enterprise == o.Enterprise && slices.Equal(h.Photos, o.Photos) && h.Seq == o.Seq
}

func toHz(r sdk.Record) hz {
	h := hz{ID: r.ID, Seq: r.Seq, State: r.State}
	json.Unmarshal(r.Fields["title"], &h.Title)
	json.Unmarshal(r.Fields["description"], &h.Description)
	json.Unmarshal(r.Fields["status"], &h.Status)
	json.Unmarshal(r.Fields["enterprise_id"], &h.Enterprise)
	json.Unmarshal(r.Fields["photos"], &h.Photos)
	sort.Strings(h.Photos)
	if h.Photos == nil {
		h.Photos = []string{}
	}
	return h
}

// get returns the local view of a hazard.
func (d *device) get(id string) hz {
	d.tb.Helper()
	r, err := d.Get(context.Background(), coll, id)
	if err != nil {
		d.tb.Fatalf("%s: get %s: %v", d.user, id, err)
	}
	return toHz(r)
}

// has reports whether the replica shows the hazard.
func (d *device) has(id string) bool {
	_, err := d.Get(context.Background(), coll, id)
	return err == nil
}

// hazards lists the live hazards of the replica by id.
func (d *device) hazards() map[string]hz {
	d.tb.Helper()
	rs, err := d.List(context.Background(), coll)
	if err != nil {
		d.tb.Fatalf("%s: list: %v", d.user, err)
	}
	out := make(map[string]hz, len(rs))
	for _, r := range rs {
		out[r.ID] = toHz(r)
	}
	return out
}

// pendingIDs lists the mutation ids in the outbox.
func (d *device) pendingIDs() map[string]bool {
	d.tb.Helper()
	ps, err := d.Pending(context.Background())
	if err != nil {
		d.tb.Fatal(err)
	}
	out := map[string]bool{}
	for _, p := range ps {
		out[p.MutationID] = true
	}
	return out
}

// outbox reads the queued mutations, as they will be pushed, from the replica file.
func (d *device) outbox() []syncproto.Mutation {
	d.tb.Helper()
	rows, err := d.ro.Query(`SELECT mutation_id, collection, id, op, base_seq, fields, base, hlc FROM outbox ORDER BY pos`)
	if err != nil {
		d.tb.Fatal(err)
	}
	defer rows.Close()
	var out []syncproto.Mutation
	for rows.Next() {
		var m syncproto.Mutation
		var f, b string
		if err := rows.Scan(&m.MutationID, &m.Collection, &m.ID, &m.Op, &m.BaseSeq, &f, &b, &m.HLC); err != nil {
			d.tb.Fatal(err)
		}
		json.Unmarshal([]byte(f), &m.Fields)
		json.Unmarshal([]byte(b), &m.Base)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		d.tb.Fatal(err)
	}
	return out
}

// lastQueued is the mutation most recently queued.
func (d *device) lastQueued() syncproto.Mutation {
	d.tb.Helper()
	ms := d.outbox()
	if len(ms) == 0 {
		d.tb.Fatalf("%s: outbox is empty", d.user)
	}
	return ms[len(ms)-1]
}

// serverStamps reads the HLC stamps of the server's state of a record the replica holds.
func (d *device) serverStamps(id string) map[string]string {
	d.tb.Helper()
	var raw string
	if err := d.ro.QueryRow(`SELECT s_stamps FROM records WHERE collection = ? AND id = ?`, coll, id).Scan(&raw); err != nil {
		d.tb.Fatalf("%s: stamps of %s: %v", d.user, id, err)
	}
	out := map[string]string{}
	json.Unmarshal([]byte(raw), &out)
	return out
}

// status returns the replica's status.
func (d *device) status() sdk.Status {
	d.tb.Helper()
	st, err := d.Status(context.Background())
	if err != nil {
		d.tb.Fatal(err)
	}
	return st
}

// snapshot is the server's state of every hazard user may read: a fresh device's full pull.
func snapshot(tb testing.TB, serverURL, user string) map[string]hz {
	tb.Helper()
	d := login(tb, serverURL, user, sdk.Options{})
	d.sync()
	if st := d.status(); st.Pending != 0 || len(st.Scopes) == 0 {
		tb.Fatalf("fresh %s: %d pending, %d scopes", user, st.Pending, len(st.Scopes))
	} else {
		for _, s := range st.Scopes {
			if !s.Verified {
				tb.Fatalf("fresh %s: scope %s not verified by its checksum", user, s.Scope)
			}
		}
	}
	out := d.hazards()
	d.Logout(context.Background())
	return out
}

// photo is a random photo reference: the SHA-256 of random bytes, in hex.
func photo() string {
	var b [16]byte
	rand.Read(b[:])
	h := sha256.Sum256(b[:])
	return hex.EncodeToString(h[:])
}

// eventually polls cond every 10 ms until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kindOf is the SDK error kind and code of err.
func kindOf(err error) (sdk.Kind, string) {
	if err == nil {
		return sdk.KindNone, ""
	}
	e := sdk.AsError(err)
	return e.Kind, e.Code
}
