package syncsvc_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// TestPush covers one server per engine: idempotent answers, per-mutation rejections inside a
// batch, the merge rules of hazards and their actions, and per-mutation authorization.
func TestPush(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		t.Run("replay", func(t *testing.T) { testReplay(t, e) })
		t.Run("bad mutations in a batch", func(t *testing.T) { testBadMutations(t, e) })
		t.Run("title last writer wins", func(t *testing.T) { testTitleLWW(t, e) })
		t.Run("status machine", func(t *testing.T) { testStatus(t, e) })
		t.Run("photos add-wins set", func(t *testing.T) { testPhotos(t, e) })
		t.Run("delete, immutable and append-only", func(t *testing.T) { testDeleteAndActions(t, e) })
		t.Run("clock ahead", func(t *testing.T) { testClockAhead(t, e) })
		t.Run("contacts", func(t *testing.T) { testContacts(t, e) })
		t.Run("security", func(t *testing.T) { testSecurity(t, e) })
	})
}

func testReplay(t *testing.T, e *env) {
	safety := e.client(t, "safety01")
	scope := "ent:" + e.entID(entA)
	before := newReplica()
	safety.sync(t, before, 0)
	cp := before.cps[scope]

	m := safety.newHazard(e.entID(entA), "储罐区消防通道堆放杂物")
	first := safety.pushOne(t, m)
	wantResult(t, first, syncproto.StatusApplied, "")

	// The same mutation again, alone and then inside a batch with a new one: the stored answer.
	again := safety.pushOne(t, m)
	if !reflect.DeepEqual(again, first) {
		t.Fatalf("replay answered %+v, first answer was %+v", again, first)
	}
	other := safety.newHazard(e.entID(entA), "配电室门未关闭")
	batch := safety.push(t, m, other)
	if !reflect.DeepEqual(batch.Results[0], first) {
		t.Fatalf("replay in a batch answered %+v, want %+v", batch.Results[0], first)
	}
	wantResult(t, batch.Results[1], syncproto.StatusApplied, "")

	// No second change: the record is there once, at the seq of the first answer, and the
	// only other change is the second hazard.
	resp := safety.pull(t, map[string]int64{scope: cp}, 0)
	if sc := placeScopes(t, safety, resp); len(sc) != 1 || sc[0].Scope != scope {
		t.Fatalf("scopes %+v", resp.Scopes)
	}
	ch := resp.Scopes[0]
	if len(ch.Records) != 2 || ch.Records[0].ID != m.ID || ch.Records[0].Seq != first.Seq || ch.Records[1].ID != other.ID {
		t.Fatalf("after a replay the pull holds %+v, want %s at %d then %s", ch.Records, m.ID, first.Seq, other.ID)
	}
	if len(ch.Removed) != 0 || ch.More || ch.Checkpoint < batch.Results[1].Seq {
		t.Fatalf("pull after a replay: %+v", ch)
	}

	// The same id with another payload is refused, and the record keeps its title.
	reused := m
	reused.Fields = vals(map[string]any{"title": "另一条内容", "enterprise_id": e.entID(entA)})
	wantResult(t, safety.pushOne(t, reused), syncproto.StatusRejected, syncproto.CodeMutationIDReused)
	// Another user replaying someone else's mutation id is refused too.
	wantResult(t, e.client(t, "principal01").pushOne(t, m), syncproto.StatusRejected, syncproto.CodeMutationIDReused)
	if rec := safety.record(t, scope, "hazards", m.ID); str(rec, "title") != "储罐区消防通道堆放杂物" || rec.Seq != first.Seq {
		t.Fatalf("record changed by a refused mutation: %+v", rec)
	}
}

func testBadMutations(t *testing.T, e *env) {
	safety := e.client(t, "safety01")
	ent := e.entID(entA)
	good1 := safety.newHazard(ent, "叉车未年检")
	good2 := safety.newHazard(ent, "应急照明损坏")
	withField := func(name string, v any) syncproto.Mutation {
		m := safety.newHazard(ent, "坏的修改")
		m.Fields[name] = vals(map[string]any{name: v})[name]
		return m
	}
	badHLC := safety.newHazard(ent, "时间戳错误")
	badHLC.HLC = "昨天下午"
	cases := []struct {
		name string
		m    syncproto.Mutation
		code string
	}{
		{"unknown collection", mutation("weather", yingji.NewID(), syncproto.OpCreate, safety.hlc(), map[string]any{"x": 1}), syncproto.CodeUnknownColl},
		{"unknown field", withField("colour", "红"), syncproto.CodeUnknownField},
		{"wrong type", withField("title", 42), syncproto.CodeBadValue},
		{"bad level", withField("level", "catastrophic"), syncproto.CodeBadValue},
		{"bad photo", withField("photos", []string{"not-a-hash"}), syncproto.CodeBadValue},
		{"bad HLC", badHLC, syncproto.CodeBadHLC},
		{"server-owned field", withField("reported_by", "someone"), syncproto.CodeServerOwned},
		{"missing required field", mutation("hazards", yingji.NewID(), syncproto.OpCreate, safety.hlc(), map[string]any{"enterprise_id": ent}), syncproto.CodeMissingField},
		{"unknown enterprise", mutation("hazards", yingji.NewID(), syncproto.OpCreate, safety.hlc(), map[string]any{"title": "x", "enterprise_id": yingji.NewID()}), syncproto.CodeInvalid},
		{"id not a UUID", mutation("hazards", "h-1", syncproto.OpCreate, safety.hlc(), map[string]any{"title": "x", "enterprise_id": ent}), syncproto.CodeInvalid},
		{"bad op", mutation("hazards", yingji.NewID(), "upsert", safety.hlc(), map[string]any{"title": "x", "enterprise_id": ent}), syncproto.CodeBadOp},
		{"update of a missing record", safety.update("hazards", yingji.NewID(), map[string]any{"title": "x"}), syncproto.CodeNotFound},
		{"read-only enterprises", safety.update("enterprises", ent, map[string]any{"name": "改名"}), syncproto.CodeReadOnly},
		{"read-only org units", safety.update("org_units", e.unitID(townA), map[string]any{"name": "改名"}), syncproto.CodeReadOnly},
		{"no mutation id", syncproto.Mutation{Collection: "hazards", ID: yingji.NewID(), Op: "create", HLC: safety.hlc()}, syncproto.CodeInvalid},
	}
	muts := []syncproto.Mutation{good1}
	for _, c := range cases {
		muts = append(muts, c.m)
	}
	muts = append(muts, good2)
	resp := safety.push(t, muts...)
	wantResult(t, resp.Results[0], syncproto.StatusApplied, "")
	wantResult(t, resp.Results[len(muts)-1], syncproto.StatusApplied, "")
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantResult(t, resp.Results[i+1], syncproto.StatusRejected, c.code) })
	}
	// The good ones are in, the bad ones nowhere: the scope changed by exactly two records.
	scope := "ent:" + ent
	inc := safety.pull(t, map[string]int64{scope: resp.Results[0].Seq - 1}, 0)
	if ch := inc.Scopes[0]; len(ch.Records) != 2 || ch.Records[0].ID != good1.ID || ch.Records[1].ID != good2.ID {
		t.Fatalf("changes after the batch: %+v", ch.Records)
	}
	r := newReplica()
	safety.sync(t, r, 0)
	for _, m := range []syncproto.Mutation{good1, good2} {
		if _, ok := r.get(scope, "hazards", m.ID); !ok {
			t.Fatalf("applied hazard %s missing from the pull", m.ID)
		}
	}
	for _, c := range cases {
		if _, ok := r.get(scope, c.m.Collection, c.m.ID); ok && c.m.Collection == "hazards" {
			t.Fatalf("rejected %s is in the pull", c.name)
		}
	}
	// A replayed rejection gets the same rejection.
	again := safety.pushOne(t, cases[2].m)
	if !reflect.DeepEqual(again, resp.Results[3]) {
		t.Fatalf("replayed rejection %+v, first %+v", again, resp.Results[3])
	}
}

func testTitleLWW(t *testing.T, e *env) {
	safety, principal := e.client(t, "safety01"), e.client(t, "principal01")
	scope := "ent:" + e.entID(entA)
	// Offline edits from a minute ago: stamps in the past, so the server's clock stays put.
	base := time.Now().Add(-time.Minute)
	at := func(c *client, d time.Duration) string { return stampAt(base.Add(d), c.device) }
	create := func(t *testing.T, title string) string {
		m := mutation("hazards", yingji.NewID(), syncproto.OpCreate, at(safety, 0), map[string]any{"title": title, "enterprise_id": e.entID(entA)})
		wantResult(t, safety.pushOne(t, m), syncproto.StatusApplied, "")
		return m.ID
	}
	for _, order := range []string{"later arrives first", "earlier arrives first"} {
		t.Run(order, func(t *testing.T) {
			id := create(t, "原标题")
			early := mutation("hazards", id, syncproto.OpUpdate, at(safety, 10*time.Second), map[string]any{"title": "早改的标题"})
			late := mutation("hazards", id, syncproto.OpUpdate, at(principal, 20*time.Second), map[string]any{"title": "晚改的标题"})
			if order == "later arrives first" {
				wantResult(t, principal.pushOne(t, late), syncproto.StatusApplied, "")
				res := safety.pushOne(t, early)
				wantResult(t, res, syncproto.StatusMerged, "")
				if res.Record == nil || res.Record.ID != id || str(*res.Record, "title") != "晚改的标题" ||
					res.Record.Stamps["title"] != late.HLC || res.Record.Seq != res.Seq {
					t.Fatalf("merged answer does not carry the canonical record: %+v", res.Record)
				}
			} else {
				wantResult(t, safety.pushOne(t, early), syncproto.StatusApplied, "")
				wantResult(t, principal.pushOne(t, late), syncproto.StatusApplied, "")
			}
			rec := safety.record(t, scope, "hazards", id)
			if str(rec, "title") != "晚改的标题" || rec.Stamps["title"] != late.HLC {
				t.Fatalf("title %q stamped %s, want the later write %s", str(rec, "title"), rec.Stamps["title"], late.HLC)
			}
		})
	}
	t.Run("same millisecond: node breaks the tie", func(t *testing.T) {
		id := create(t, "同一毫秒")
		a := mutation("hazards", id, syncproto.OpUpdate, stampAt(base.Add(30*time.Second), "phone-a"), map[string]any{"title": "甲"})
		b := mutation("hazards", id, syncproto.OpUpdate, stampAt(base.Add(30*time.Second), "phone-b"), map[string]any{"title": "乙"})
		wantResult(t, principal.pushOne(t, b), syncproto.StatusApplied, "")
		wantResult(t, safety.pushOne(t, a), syncproto.StatusMerged, "")
		if rec := safety.record(t, scope, "hazards", id); str(rec, "title") != "乙" {
			t.Fatalf("title %q, want 乙 (node phone-b sorts after phone-a)", str(rec, "title"))
		}
	})
	t.Run("fields merge independently", func(t *testing.T) {
		id := create(t, "独立字段")
		a := mutation("hazards", id, syncproto.OpUpdate, at(safety, 30*time.Second), map[string]any{"description": "甲写的描述"})
		b := mutation("hazards", id, syncproto.OpUpdate, at(principal, 10*time.Second), map[string]any{"level": "major"})
		wantResult(t, safety.pushOne(t, a), syncproto.StatusApplied, "")
		wantResult(t, principal.pushOne(t, b), syncproto.StatusApplied, "")
		rec := safety.record(t, scope, "hazards", id)
		if str(rec, "description") != "甲写的描述" || str(rec, "level") != "major" {
			t.Fatalf("concurrent edits of different fields lost one: %s", rec.Fields)
		}
	})
}

func testStatus(t *testing.T, e *env) {
	safety, principal, township := e.client(t, "safety01"), e.client(t, "principal01"), e.client(t, "township01")
	scope := "ent:" + e.entID(entA)
	id, _ := safety.createHazard(t, e.entID(entA), "罐区防火堤裂缝")
	status := func(s string) map[string]any { return map[string]any{"status": s} }
	submit := func(n int) map[string]any { // with the after-photos taken so far
		var ps []string
		for i := 1; i <= n; i++ {
			ps = append(ps, photo(i))
		}
		return map[string]any{"status": "submitted", "photos": ps}
	}

	wantResult(t, safety.pushOne(t, safety.update("hazards", id, status("accepted"))), syncproto.StatusRejected, syncproto.CodeBadTransition)
	wantResult(t, safety.pushOne(t, safety.update("hazards", id, status("finished"))), syncproto.StatusRejected, syncproto.CodeBadValue)

	// principal01, offline, assigns the hazard; meanwhile safety01 moves it to rectifying and on.
	offline := principal.update("hazards", id, status("assigned"))
	wantResult(t, safety.pushOne(t, safety.update("hazards", id, status("rectifying"))), syncproto.StatusApplied, "")
	wantResult(t, safety.pushOne(t, safety.update("hazards", id, submit(1))), syncproto.StatusApplied, "")
	res := principal.pushOne(t, offline)
	wantResult(t, res, syncproto.StatusMerged, "")
	if res.Record == nil || str(*res.Record, "status") != "submitted" {
		t.Fatalf("a stale state moved the record back: %+v", res.Record)
	}
	// Sent back for rework, then accepted.
	wantResult(t, township.pushOne(t, township.update("hazards", id, status("rectifying"))), syncproto.StatusApplied, "")
	wantResult(t, safety.pushOne(t, safety.update("hazards", id, submit(2))), syncproto.StatusApplied, "")
	wantResult(t, township.pushOne(t, township.update("hazards", id, status("accepted"))), syncproto.StatusApplied, "")
	// A device still at rectifying sends it again: the record has moved past it and stays.
	res = safety.pushOne(t, safety.update("hazards", id, status("rectifying")))
	wantResult(t, res, syncproto.StatusMerged, "")
	if rec := safety.record(t, scope, "hazards", id); str(rec, "status") != "accepted" {
		t.Fatalf("status %q, want accepted", str(rec, "status"))
	}
	// A create may start in the initial state or one step after it, no further.
	skip := safety.newHazard(e.entID(entA), "直接验收")
	skip.Fields["status"] = json.RawMessage(`"accepted"`)
	wantResult(t, safety.pushOne(t, skip), syncproto.StatusRejected, syncproto.CodeBadTransition)
}

func testPhotos(t *testing.T, e *env) {
	safety, principal := e.client(t, "safety01"), e.client(t, "principal01")
	scope := "ent:" + e.entID(entA)
	id, _ := safety.createHazard(t, e.entID(entA), "压力表超期未检")
	p1, p2, p3 := photo(1), photo(2), photo(3)
	add := func(c *client, value, base []string) syncproto.Mutation {
		m := c.update("hazards", id, map[string]any{"photos": value})
		m.Base = vals(map[string]any{"photos": base})
		return m
	}
	// Both devices saw no photos and each adds one.
	wantResult(t, safety.pushOne(t, add(safety, []string{p1}, []string{})), syncproto.StatusApplied, "")
	res := principal.pushOne(t, add(principal, []string{p2}, []string{}))
	wantResult(t, res, syncproto.StatusMerged, "")
	if got := strs(*res.Record, "photos"); !slices.Equal(got, []string{p1, p2}) {
		t.Fatalf("concurrent adds give %v, want the union", got)
	}
	// A device that saw both removes p1 and adds p3; one that saw only p1 removes nothing of p2.
	wantResult(t, safety.pushOne(t, add(safety, []string{p2, p3}, []string{p1, p2})), syncproto.StatusApplied, "")
	wantResult(t, principal.pushOne(t, add(principal, []string{p1}, []string{p1})), syncproto.StatusMerged, "")
	if got := strs(safety.record(t, scope, "hazards", id), "photos"); !slices.Equal(got, []string{p2, p3}) {
		t.Fatalf("photos %v, want [p2 p3]: a removal by a device that saw the photo must stick", got)
	}
}

func testDeleteAndActions(t *testing.T, e *env) {
	safety := e.client(t, "safety01")
	id, _ := safety.createHazard(t, e.entID(entA), "安全出口被锁")
	del := mutation("hazards", id, syncproto.OpDelete, safety.hlc(), nil)
	wantResult(t, safety.pushOne(t, del), syncproto.StatusRejected, syncproto.CodeNotDeletable)
	// reported_at is set once (by the server when the device leaves it out) and never moves.
	rec := safety.record(t, "ent:"+e.entID(entA), "hazards", id)
	at := str(rec, "reported_at")
	if _, err := time.Parse(time.RFC3339, at); err != nil {
		t.Fatalf("reported_at %q", at)
	}
	wantResult(t, safety.pushOne(t, safety.update("hazards", id, map[string]any{"reported_at": "2020-01-01T00:00:00Z"})),
		syncproto.StatusRejected, syncproto.CodeImmutable)
	wantResult(t, safety.pushOne(t, safety.update("hazards", id, map[string]any{"reported_at": at, "description": "补充说明"})),
		syncproto.StatusApplied, "")

	act := mutation("hazard_actions", yingji.NewID(), syncproto.OpCreate, safety.hlc(), map[string]any{"hazard_id": id, "kind": "comment", "text": "已通知仓库主管"})
	res := safety.pushOne(t, act)
	wantResult(t, res, syncproto.StatusApplied, "")
	wantResult(t, safety.pushOne(t, safety.update("hazard_actions", act.ID, map[string]any{"text": "改一下"})), syncproto.StatusRejected, syncproto.CodeAppendOnly)
	wantResult(t, safety.pushOne(t, mutation("hazard_actions", act.ID, syncproto.OpDelete, safety.hlc(), nil)), syncproto.StatusRejected, syncproto.CodeAppendOnly)
	again := act
	again.MutationID = yingji.NewID()
	wantResult(t, safety.pushOne(t, again), syncproto.StatusRejected, syncproto.CodeExists)
	wantResult(t, safety.pushOne(t, mutation("hazard_actions", yingji.NewID(), syncproto.OpCreate, safety.hlc(),
		map[string]any{"hazard_id": yingji.NewID(), "kind": "comment"})), syncproto.StatusRejected, syncproto.CodeInvalid)
	rec = safety.record(t, "ent:"+e.entID(entA), "hazard_actions", act.ID)
	if str(rec, "text") != "已通知仓库主管" || str(rec, "by_user") != e.userID(t, "safety01") || rec.Seq != res.Seq {
		t.Fatalf("action %+v", rec)
	}
}

func testClockAhead(t *testing.T, e *env) {
	safety, principal := e.client(t, "safety01"), e.client(t, "principal01")
	scope := "ent:" + e.entID(entA)
	id, _ := safety.createHazard(t, e.entID(entA), "时钟测试")
	// safety01's phone is an hour fast.
	fast := mutation("hazards", id, syncproto.OpUpdate, stampAt(time.Now().Add(time.Hour), safety.device), map[string]any{"title": "快一小时的手机写的"})
	wantResult(t, safety.pushOne(t, fast), syncproto.StatusApplied, "")
	rec := safety.record(t, scope, "hazards", id)
	stamp, err := syncproto.ParseHLC(rec.Stamps["title"])
	if err != nil || stamp.Wall > time.Now().Add(syncproto.MaxDrift).UnixMilli() {
		t.Fatalf("the far-future stamp was kept: %q", rec.Stamps["title"])
	}
	// The server's own clock was not dragged an hour ahead.
	resp := principal.push(t, principal.update("hazards", id, map[string]any{"description": "看时钟"}))
	if h, _ := syncproto.ParseHLC(resp.HLC); h.Wall > time.Now().Add(time.Minute).UnixMilli() {
		t.Fatalf("server clock dragged to %s", resp.HLC)
	}
	// A later edit from a correct clock wins.
	time.Sleep(5 * time.Millisecond)
	right := mutation("hazards", id, syncproto.OpUpdate, stampAt(time.Now().Add(2*time.Millisecond), principal.device), map[string]any{"title": "时钟正确的手机写的"})
	wantResult(t, principal.pushOne(t, right), syncproto.StatusApplied, "")
	if rec := safety.record(t, scope, "hazards", id); str(rec, "title") != "时钟正确的手机写的" {
		t.Fatalf("title %q: the fast clock beat a later edit", str(rec, "title"))
	}
}

func testContacts(t *testing.T, e *env) {
	safety := e.client(t, "safety01")
	scope := "ent:" + e.entID(entA)
	r := newReplica()
	safety.sync(t, r, 0)
	contacts := r.ids(scope, "contacts")
	if len(contacts) != 2 {
		t.Fatalf("%d contacts of the enterprise, want 2", len(contacts))
	}
	id := contacts[0]
	wantResult(t, safety.pushOne(t, safety.update("contacts", id, map[string]any{"phone": "13900001111"})), syncproto.StatusApplied, "")
	if rec := safety.record(t, scope, "contacts", id); str(rec, "phone") != "13900001111" {
		t.Fatalf("contact phone %q", str(rec, "phone"))
	}
	wantResult(t, e.client(t, "safety02").pushOne(t, e.client(t, "safety02").update("contacts", id, map[string]any{"phone": "13900002222"})),
		syncproto.StatusRejected, syncproto.CodeForbidden)
	wantResult(t, e.client(t, "grid01").pushOne(t, e.client(t, "grid01").update("contacts", id, map[string]any{"phone": "13900002222"})),
		syncproto.StatusRejected, syncproto.CodeForbidden)
	wantResult(t, safety.pushOne(t, mutation("contacts", yingji.NewID(), syncproto.OpCreate, safety.hlc(),
		map[string]any{"enterprise_id": e.entID(entA), "name": "新人", "phone": "13900003333"})), syncproto.StatusRejected, syncproto.CodeForbidden)
	wantResult(t, safety.pushOne(t, safety.update("contacts", id, map[string]any{"is_primary": true})), syncproto.StatusRejected, syncproto.CodeServerOwned)
}

func testSecurity(t *testing.T, e *env) {
	safety, other, expert := e.client(t, "safety01"), e.client(t, "safety02"), e.client(t, "expert01")
	own, _ := safety.createHazard(t, e.entID(entA), "他人不可修改的隐患")
	foreignCreate := other.newHazard(e.entID(entA), "冒名上报")
	foreignUpdate := other.update("hazards", own, map[string]any{"title": "被篡改"})
	theirs, _ := other.createHazard(t, e.entID(entB), "青山化肥的隐患")
	moveIn := other.update("hazards", theirs, map[string]any{"enterprise_id": e.entID(entA)})
	foreignAction := mutation("hazard_actions", yingji.NewID(), syncproto.OpCreate, other.hlc(), map[string]any{"hazard_id": own, "kind": "comment", "text": "插一句"})
	moveOut := safety.update("hazards", own, map[string]any{"enterprise_id": e.entID(entB)})
	expertCreate := expert.newHazard(e.entID(entA), "专家上报")
	owned := safety.newHazard(e.entID(entA), "冒充他人上报")
	owned.Fields["reported_by"] = json.RawMessage(`"` + e.userID(t, "principal01") + `"`)

	denied := []struct {
		c    *client
		m    syncproto.Mutation
		code string
	}{
		{other, foreignCreate, syncproto.CodeForbidden},
		{other, foreignUpdate, syncproto.CodeForbidden},
		{other, moveIn, syncproto.CodeForbidden},
		{other, foreignAction, syncproto.CodeForbidden},
		{safety, moveOut, syncproto.CodeForbidden},
		{expert, expertCreate, syncproto.CodeForbidden},
		{safety, owned, syncproto.CodeServerOwned},
	}
	for _, d := range denied {
		wantResult(t, d.c.pushOne(t, d.m), syncproto.StatusRejected, d.code)
	}
	// A township admin writes hazards under his township, not elsewhere.
	wantResult(t, e.client(t, "township02").pushOne(t, e.client(t, "township02").newHazard(e.entID(entA), "越界")),
		syncproto.StatusRejected, syncproto.CodeForbidden)
	wantResult(t, e.client(t, "township01").pushOne(t, e.client(t, "township01").newHazard(e.entID(entA), "乡镇检查发现")),
		syncproto.StatusApplied, "")

	rec := safety.record(t, "ent:"+e.entID(entA), "hazards", own)
	if str(rec, "title") != "他人不可修改的隐患" || str(rec, "reported_by") != e.userID(t, "safety01") {
		t.Fatalf("hazard after refused writes: %s", rec.Fields)
	}
	// Reading follows the same scopes: a checkpoint of a scope the user may not hold gets a
	// purge, never its data.
	resp := other.pull(t, map[string]int64{"ent:" + e.entID(entA): 0, "org:" + e.unitID(townA): 0}, 0)
	wantPurge := []string{"ent:" + e.entID(entA), "org:" + e.unitID(townA)}
	slices.Sort(wantPurge)
	if !slices.Equal(resp.Purge, wantPurge) {
		t.Fatalf("purge %v", resp.Purge)
	}
	if sc := placeScopes(t, other, resp); len(sc) != 1 || sc[0].Scope != "ent:"+e.entID(entB) {
		t.Fatalf("safety02 got scopes %+v", resp.Scopes)
	}
	// Every refusal is in the audit log, per mutation.
	q := url.Values{"action": {"sync.push"}, "result": {"denied"}, "page_size": {"100"}}
	var page yingji.Page[audit.Entry]
	mustOK(t, e.Do(t, "GET", "/api/v1/audit?"+q.Encode(), e.admin, nil), &page)
	for _, d := range denied {
		found := false
		for _, en := range page.Items {
			if en.ObjectID == d.m.ID && en.Username == d.c.user && en.ObjectType == d.m.Collection &&
				strings.Contains(string(en.Detail), d.m.MutationID) {
				found = true
			}
		}
		if !found {
			t.Errorf("no audit entry for %s's denied %s of %s", d.c.user, d.m.Op, d.m.ID)
		}
	}
}
