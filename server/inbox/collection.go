package inbox

import (
	"context"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// CollectionName is the synced collection of notifications.
const CollectionName = "notifications"

func serverField(name, typ string) syncproto.FieldSpec {
	return syncproto.FieldSpec{Name: name, Type: typ, Rule: syncproto.ServerOwned}
}

var spec = &syncproto.CollectionSpec{
	Name: CollectionName,
	Fields: []syncproto.FieldSpec{
		serverField("user_id", syncproto.TypeString),
		serverField("kind", syncproto.TypeString),
		serverField("title", syncproto.TypeString),
		serverField("body", syncproto.TypeString),
		serverField("level", syncproto.TypeString),
		serverField("ref_collection", syncproto.TypeString),
		serverField("ref_id", syncproto.TypeString),
		serverField("link", syncproto.TypeString),
		serverField("created_at", syncproto.TypeTime),
		// read_at is set on the phone, offline too; null marks it unread again.
		{Name: "read_at", Type: syncproto.TypeTime, Rule: syncproto.LWW},
	},
}

var columns = []string{"user_id", "kind", "title", "body", "level", "ref_collection", "ref_id", "link", "created_at", "read_at"}

// Collection is the notifications collection: one user's records, in his user scope. The
// server writes them (Put); the user's phone changes only read_at.
type Collection struct{ syncsvc.Table }

// NewCollection returns the notifications collection.
func NewCollection() *Collection {
	return &Collection{syncsvc.Table{Name: "notifications", Columns: columns}}
}

func (c *Collection) Spec() *syncproto.CollectionSpec { return spec }

// Place is the user's scope, and only his.
func (c *Collection) Place(_ context.Context, _ sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	return syncsvc.Place{UserID: syncsvc.Str(f, "user_id")}, nil
}

// Authorize lets a user mark his own notifications read or unread; nobody creates or deletes
// them on a phone.
func (c *Collection) Authorize(_ context.Context, _ sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	if cur == nil || m.Op != syncproto.OpUpdate {
		return syncsvc.Rejected(syncproto.CodeForbidden, "消息由系统产生，不能在移动端新建或删除")
	}
	if a == nil || a.UserID == "" || syncsvc.Str(cur, "user_id") != a.UserID {
		return syncsvc.Rejected(syncproto.CodeForbidden, "只能标记本人的消息")
	}
	return nil
}

// Prepare checks read_at: a time (RFC 3339) or empty.
func (c *Collection) Prepare(_ context.Context, _ sqldb.Querier, _ *yingji.Actor, f syncsvc.Fields, _ bool) error {
	if v := syncsvc.Str(f, "read_at"); v != "" {
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			return syncsvc.Rejected(syncproto.CodeBadValue, "已读时间（read_at）应为 RFC 3339 格式")
		}
	}
	return nil
}
