package syncproto_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/yingji/yingji/syncproto"
)

func roundTrip[T any](t *testing.T, in T, keys ...string) {
	t.Helper()
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip of %T changed it:\n%+v\n%+v", in, in, out)
	}
	for _, k := range keys {
		if !strings.Contains(string(data), `"`+k+`":`) {
			t.Errorf("%T JSON lacks %q: %s", in, k, data)
		}
	}
}

func TestWireRoundTrip(t *testing.T) {
	hlc := "0001732780800000-00001-phone"
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	m := syncproto.Mutation{MutationID: "019372a0-0000-7000-8000-000000000001", Collection: "hazards", ID: "019372a0-0000-7000-8000-000000000002",
		Op: syncproto.OpUpdate, BaseSeq: 41, HLC: hlc,
		Fields: map[string]json.RawMessage{"title": raw(`"管道泄漏"`), "photos": raw(`["a","b"]`), "location": raw(`{"lat":30.2,"lng":120.1}`)},
		Base:   map[string]json.RawMessage{"photos": raw(`["a"]`)}}
	roundTrip(t, syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "dev-1", Mutations: []syncproto.Mutation{m, {MutationID: "x", Op: syncproto.OpDelete, HLC: hlc}}},
		"protocol", "device_id", "mutations", "mutation_id", "collection", "id", "op", "base_seq", "fields", "base", "hlc")
	rec := &syncproto.Record{Collection: "hazards", ID: "h1", Seq: 42, Deleted: true,
		Fields: map[string]json.RawMessage{"title": raw(`"t"`)}, Stamps: map[string]string{"title": hlc}}
	roundTrip(t, syncproto.PushResponse{Protocol: 1, HLC: hlc, Results: []syncproto.Result{
		{MutationID: "a", Status: syncproto.StatusApplied, Seq: 42},
		{MutationID: "b", Status: syncproto.StatusMerged, Seq: 43, Record: rec},
		{MutationID: "c", Status: syncproto.StatusRejected, Code: syncproto.CodeBadTransition, Message: "状态不能从“新”变为“关闭”"},
	}}, "results", "status", "code", "message", "seq", "record", "stamps", "deleted")
	roundTrip(t, syncproto.PullRequest{Protocol: 1, Checkpoints: map[string]int64{"org:330100": 10, "user:u1": 0}, Limit: 500},
		"checkpoints", "limit")
	spec := syncproto.CollectionSpec{Name: "alerts", Deletable: true, AppendOnly: true, ReadOnly: true, Fields: []syncproto.FieldSpec{
		{Name: "status", Type: syncproto.TypeString, Rule: syncproto.State, Required: true, Machine: &syncproto.StateMachine{
			States: []string{"new", "closed"}, Transitions: map[string][]string{"new": {"closed"}}, Initial: "new"}}}}
	roundTrip(t, syncproto.PullResponse{Protocol: 1, HLC: hlc, Purge: []string{"ent:9"}, Collections: []syncproto.CollectionSpec{spec},
		Scopes: []syncproto.ScopeChanges{{Scope: "org:330100", Reset: true, Records: []syncproto.Record{*rec},
			Removed: []syncproto.RecordRef{{Collection: "hazards", ID: "h2"}}, Checkpoint: 99, More: true,
			Checksum: syncproto.FormatChecksum(1<<63 + 1), Count: 7}}},
		"scopes", "scope", "reset", "records", "removed", "checkpoint", "more", "checksum", "count", "purge", "collections",
		"append_only", "read_only", "deletable", "machine", "transitions", "initial", "required")
	roundTrip(t, syncproto.Poke{Type: "closed", Scope: "s", Seq: 3, Code: "session.replaced", Message: "您的账号已在其他设备登录"}, "type", "scope", "seq", "code", "message")
	roundTrip(t, syncproto.Error{Code: syncproto.CodeUpgrade, Message: "请升级", RequestID: "r1",
		Data: map[string]any{"min_protocol": float64(syncproto.MinProtocol), "protocol": float64(syncproto.Protocol)}}, "code", "message", "request_id", "data")
	roundTrip(t, syncproto.RecordState{Exists: true, Deleted: true, DeletedAt: hlc,
		Fields: map[string]json.RawMessage{"a": raw(`1`)}, Stamps: map[string]string{"a": hlc}}, "exists", "fields", "stamps", "deleted", "deleted_at")
}

// TestWireOmitsEmpty keeps the wire small: optional members are left out when empty.
func TestWireOmitsEmpty(t *testing.T) {
	data, _ := json.Marshal(syncproto.Result{MutationID: "a", Status: syncproto.StatusApplied})
	if string(data) != `{"mutation_id":"a","status":"applied"}` {
		t.Fatal(string(data))
	}
	data, _ = json.Marshal(syncproto.Mutation{MutationID: "a", Op: "delete", HLC: "h"})
	if strings.Contains(string(data), "fields") || strings.Contains(string(data), "base\"") {
		t.Fatal(string(data))
	}
}
