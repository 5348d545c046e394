package alert_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/syncproto"
)

func TestPhoneDisposal(t *testing.T) {
	engines(t, func(t *testing.T, db sqldb.DB) {
		e := newEnv(t, db, alert.Config{})
		ctx := context.Background()
		e.apply(t, raise("c", "dv1", "p1", 2, 95, time.Now()))
		id := e.openAlert(t, "c").ID

		// Phones never create alerts nor write server-owned fields.
		if r := e.push(t, "u-safety", "alerts", "0190a000-0000-7000-8000-00000000abcd", syncproto.OpCreate, map[string]any{"title": "x"}); r.Code != syncproto.CodeForbidden {
			t.Fatalf("create: %+v", r)
		}
		if r := e.push(t, "u-safety", "alerts", id, syncproto.OpUpdate, map[string]any{"level": 1}); r.Code != syncproto.CodeServerOwned {
			t.Fatalf("server-owned level: %+v", r)
		}
		if r := e.push(t, "u-safety", "alerts", id, syncproto.OpUpdate, map[string]any{"acknowledged_by": "me"}); r.Code != syncproto.CodeServerOwned {
			t.Fatalf("server-owned acknowledged_by: %+v", r)
		}
		// Out of scope: the other enterprise's officer and the other township.
		for _, u := range []string{"u-safety2", "u-town2"} {
			if r := e.push(t, u, "alerts", id, syncproto.OpUpdate, map[string]any{"status": "acknowledged"}); r.Code != syncproto.CodeForbidden {
				t.Fatalf("%s: %+v", u, r)
			}
		}
		// Acknowledge: the server records who and when.
		if r := e.push(t, "u-safety", "alerts", id, syncproto.OpUpdate, map[string]any{"status": "acknowledged"}); r.Status == syncproto.StatusRejected {
			t.Fatalf("acknowledge: %+v", r)
		}
		a := e.get(t, id)
		if a.Status != alert.StatusAcknowledged || a.AcknowledgedBy != "u-safety" || a.AcknowledgedAt == "" {
			t.Fatalf("acknowledged: %+v", a)
		}
		// Closing without a reason is refused with a Chinese message.
		r := e.push(t, "u-safety", "alerts", id, syncproto.OpUpdate, map[string]any{"status": "closed"})
		if r.Code != syncproto.CodeMissingField || !strings.Contains(r.Message, "处置原因") {
			t.Fatalf("close without reason: %+v", r)
		}
		// Closing with reason, measures and a photo.
		photo := strings.Repeat("ab", 32)
		r = e.push(t, "u-safety", "alerts", id, syncproto.OpUpdate, map[string]any{"status": "closed", "disposal_reason": "阀门泄漏",
			"disposal_measures": "关闭阀门，更换垫片", "photos": []string{photo}})
		if r.Status == syncproto.StatusRejected {
			t.Fatalf("close: %+v", r)
		}
		a = e.get(t, id)
		if a.Status != alert.StatusClosed || a.DisposedBy != "u-safety" || a.ClosedAt == "" || a.DisposalMeasures != "关闭阀门，更换垫片" ||
			len(a.Photos) != 1 {
			t.Fatalf("closed: %+v", a)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM media_refs WHERE collection = 'alerts' AND record_id = $1 AND sha256 = $2 AND enterprise_id = $3`,
			id, photo, entE1).Scan(&n); err != nil || n != 1 {
			t.Fatalf("media refs %d %v", n, err)
		}
		// A late acknowledgement from another phone is superseded: closed stays.
		if r := e.push(t, "u-principal", "alerts", id, syncproto.OpUpdate, map[string]any{"status": "acknowledged"}); r.Status == syncproto.StatusRejected {
			t.Fatalf("late acknowledge: %+v", r)
		}
		if a := e.get(t, id); a.Status != alert.StatusClosed {
			t.Fatalf("status after late ack %s", a.Status)
		}
		// Feedback actions from the phone, with the server's tier and author.
		r = e.push(t, "u-town1", "alert_actions", "0190a000-0000-7000-8000-00000000f001", syncproto.OpCreate,
			map[string]any{"alert_id": id, "kind": "feedback", "text": "已到场核实"})
		if r.Status == syncproto.StatusRejected {
			t.Fatalf("feedback: %+v", r)
		}
		var tier, by string
		if err := db.QueryRow(ctx, `SELECT tier, by_user FROM alert_actions WHERE id = '0190a000-0000-7000-8000-00000000f001'`).Scan(&tier, &by); err != nil ||
			tier != alert.TierTownship || by != "u-town1" {
			t.Fatalf("feedback row %s %s %v", tier, by, err)
		}
	})
}
