package timeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// genesis is the chain value before an incident's first anchor.
const genesis = "yingji-timeline-v1"

func chain(prev, key, hash string) string {
	s := sha256.Sum256([]byte(prev + "\n" + key + "\n" + hash))
	return hex.EncodeToString(s[:])
}

type anchor struct {
	Seq                         int64
	Key, Kind, At, Title        string
	EventHash, ChainHash, Stamp string
}

func loadAnchors(ctx context.Context, q sqldb.Querier, incidentID string) ([]anchor, error) {
	rows, err := q.Query(ctx, `SELECT seq, event_key, kind, at, title, event_hash, chain_hash, anchored_at FROM timeline_anchors
		WHERE incident_id = $1 ORDER BY seq`, incidentID)
	return sqldb.CollectRows(rows, err, func(r sqldb.Rows) (anchor, error) {
		var a anchor
		err := r.Scan(&a.Seq, &a.Key, &a.Kind, &a.At, &a.Title, &a.EventHash, &a.ChainHash, &a.Stamp)
		return a, err
	})
}

// Anchor appends the events of the incident not anchored yet to its hash chain, in timeline
// order, and returns how many it added. From then on a change to the rows they come from is
// evidence. The periodic job (Anchorer, AnchorOpen) and the assessment report run it; a read of
// the timeline never does.
func Anchor(ctx context.Context, db sqldb.DB, incidentID string, now time.Time) (int, error) {
	return anchorChain(ctx, db, incidentID, nil, now)
}

// AnchorEvents anchors events the caller derived (Get's): those not anchored yet join the
// chain, without deriving them a second time.
func AnchorEvents(ctx context.Context, db sqldb.DB, incidentID string, evs []Event, now time.Time) (int, error) {
	if evs == nil {
		evs = []Event{}
	}
	return anchorChain(ctx, db, incidentID, evs, now)
}

func anchorChain(ctx context.Context, db sqldb.DB, incidentID string, derived []Event, now time.Time) (int, error) {
	added := 0
	err := db.InTx(ctx, func(q sqldb.Querier) error {
		added = 0
		// One anchoring per incident at a time: the chain is a sequence.
		if db.Engine() == "postgres" {
			if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('timeline:' || $1))`, incidentID); err != nil {
				return err
			}
		}
		evs := derived
		if evs == nil {
			var err error
			if _, evs, err = Derive(ctx, q, incidentID); err != nil {
				return err
			}
		}
		as, err := loadAnchors(ctx, q, incidentID)
		if err != nil {
			return err
		}
		have := make(map[string]bool, len(as))
		prev, seq := genesis, int64(0)
		for _, a := range as {
			have[a.Key] = true
			prev, seq = a.ChainHash, a.Seq
		}
		stamp := now.UTC().Format(timeLayout)
		var vals []string
		var args []any
		flush := func() error {
			if len(vals) == 0 {
				return nil
			}
			_, err := q.Exec(ctx, `INSERT INTO timeline_anchors (incident_id, seq, event_key, kind, at, title, event_hash, chain_hash, anchored_at)
				VALUES `+strings.Join(vals, ", "), args...)
			vals, args = vals[:0], args[:0]
			return err
		}
		for _, e := range evs {
			if have[e.Key] {
				continue
			}
			seq++
			prev = chain(prev, e.Key, e.Hash)
			title := []rune(e.Title)
			if len(title) > 200 {
				title = title[:200]
			}
			n := len(args)
			vals = append(vals, fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9))
			args = append(args, incidentID, seq, e.Key, e.Kind, e.At, string(title), e.Hash, prev, stamp)
			added++
			if len(vals) == 100 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		return nil
	})
	return added, err
}

// Finding is one anchored event that no longer matches.
type Finding struct {
	Key   string `json:"key"`
	Kind  string `json:"kind"`
	At    string `json:"at"`
	Title string `json:"title"`
	// Problem: "altered" (its row says something else now), "deleted" (its row is gone) or
	// "anchor_altered" (the anchor itself was edited: the chain breaks here).
	Problem string `json:"problem"`
	Message string `json:"message"`
}

// Verification is the answer of Verify.
type Verification struct {
	IncidentID string    `json:"incident_id"`
	OK         bool      `json:"ok"`
	Events     int       `json:"events"`     // derived now
	Anchored   int       `json:"anchored"`   // in the chain
	Unanchored int       `json:"unanchored"` // derived, not yet in the chain (new since the last anchoring)
	Head       string    `json:"head"`       // the chain's last hash
	Findings   []Finding `json:"findings"`
	CheckedAt  string    `json:"checked_at"`
}

// Verify re-derives the incident's events and checks them and the chain against the anchors.
func Verify(ctx context.Context, db sqldb.DB, a *yingji.Actor, incidentID string, now time.Time) (Verification, error) {
	v := Verification{IncidentID: incidentID, Findings: []Finding{}, CheckedAt: now.UTC().Format(timeLayout)}
	err := db.ReadTx(ctx, func(q sqldb.Querier) error {
		if err := readable(ctx, q, a, incidentID); err != nil {
			return err
		}
		_, evs, err := Derive(ctx, q, incidentID)
		if err != nil {
			return err
		}
		as, err := loadAnchors(ctx, q, incidentID)
		if err != nil {
			return err
		}
		byKey := make(map[string]Event, len(evs))
		for _, e := range evs {
			byKey[e.Key] = e
		}
		v.Events, v.Anchored = len(evs), len(as)
		prev := genesis
		anchored := map[string]bool{}
		for i, an := range as {
			anchored[an.Key] = true
			want := chain(prev, an.Key, an.EventHash)
			if want != an.ChainHash || an.Seq != int64(i+1) {
				v.Findings = append(v.Findings, Finding{Key: an.Key, Kind: an.Kind, At: an.At, Title: an.Title, Problem: "anchor_altered",
					Message: "防篡改链在此处断开：锚点记录被修改或删除"})
			}
			prev = an.ChainHash
			e, ok := byKey[an.Key]
			switch {
			case !ok:
				v.Findings = append(v.Findings, Finding{Key: an.Key, Kind: an.Kind, At: an.At, Title: an.Title, Problem: "deleted",
					Message: "该事件已登记在防篡改链上，但其数据已被删除"})
			case e.Hash != an.EventHash:
				v.Findings = append(v.Findings, Finding{Key: an.Key, Kind: an.Kind, At: an.At, Title: an.Title, Problem: "altered",
					Message: "该事件的数据与登记时不一致，已被修改"})
			}
		}
		v.Head = prev
		for _, e := range evs {
			if !anchored[e.Key] {
				v.Unanchored++
			}
		}
		v.OK = len(v.Findings) == 0
		return nil
	})
	return v, err
}
