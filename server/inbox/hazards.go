package inbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
)

var hazardLevels = map[string]string{"general": "一般隐患", "major": "重大隐患"}

// HazardAssigned observes pushed hazards (register it with the sync service's Observe for
// "hazards"): a hazard assigned to a rectifier — or handed to another one, or given a new
// deadline — puts a notification in the rectifier's inbox and sends it on his channels.
// Whoever assigns a hazard to himself is not told.
func (s *Service) HazardAssigned(ctx context.Context, q sqldb.Querier, a *yingji.Actor, id string, prev, next syncsvc.Fields) error {
	if next == nil {
		return nil
	}
	rect, status, deadline := syncsvc.Str(next, "rectifier_id"), syncsvc.Str(next, "status"), syncsvc.Str(next, "deadline")
	if rect == "" || (status != "assigned" && status != "rectifying") || (a != nil && a.UserID == rect) {
		return nil
	}
	if prev != nil {
		was := syncsvc.Str(prev, "status")
		if syncsvc.Str(prev, "rectifier_id") == rect && syncsvc.Str(prev, "deadline") == deadline && (was == "assigned" || was == "rectifying") {
			return nil
		}
	}
	var entName string
	err := q.QueryRow(ctx, `SELECT e.name FROM users u, enterprises e WHERE u.id = $1 AND e.id = $2`, rect,
		syncsvc.Str(next, "enterprise_id")).Scan(&entName)
	if errors.Is(err, yingji.ErrNotFound) {
		return nil // not a user of this platform (or the enterprise is gone): nobody to tell
	}
	if err != nil {
		return fmt.Errorf("inbox: hazard assigned: %w", err)
	}
	title := syncsvc.Str(next, "title")
	body := fmt.Sprintf("%s的隐患“%s”已交办给您整改", entName, title)
	if t, err := time.Parse(time.RFC3339, deadline); err == nil {
		body += "，整改期限 " + t.In(beijing).Format("2006-01-02 15:04")
	}
	body += "。"
	_, err = s.PutTx(ctx, q, Item{Key: strings.Join([]string{"hazard_assigned", id, rect, deadline}, ":"), UserID: rect,
		Kind: KindHazardAssigned, Title: "隐患交办：" + title, Body: body, Level: hazardLevels[syncsvc.Str(next, "level")],
		RefCollection: "hazards", RefID: id, Link: HazardLink(id), Deliver: true})
	return err
}
