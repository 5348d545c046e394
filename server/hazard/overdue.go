package hazard

import (
	"context"
	"slices"
	"time"

	"github.com/yingji/yingji/server/sqldb"
)

// Unfinished are the statuses whose rectification is still to be done. A submitted hazard has
// been rectified (it waits for acceptance) and an accepted one is closed: neither is overdue.
var Unfinished = []string{"reported", "assigned", "rectifying"}

// IsOverdue reports whether a hazard in status with the rectification deadline (RFC 3339, ”
// when none was set) is overdue at now: the deadline passed and the rectification is not
// finished. The dashboard, the statistics and the list's overdue filter all use it.
func IsOverdue(status, deadline string, now time.Time) bool {
	if deadline == "" || !slices.Contains(Unfinished, status) {
		return false
	}
	d, err := time.Parse(time.RFC3339Nano, deadline)
	if err != nil { // a bare date (older imports): the end of that day, Beijing time
		day, derr := time.ParseInLocation(time.DateOnly, deadline, beijing)
		if derr != nil {
			return false
		}
		d = day.AddDate(0, 0, 1)
	}
	return !now.Before(d)
}

// beijing is Asia/Shanghai (no daylight saving time since 1991).
var beijing = time.FixedZone("CST", 8*3600)

// overdueIDs returns the ids of the overdue hazards among those w selects (w on alias h).
// Deadlines are RFC 3339 with any offset, so they are compared as times here, not as text.
func overdueIDs(ctx context.Context, db sqldb.Querier, w sqldb.Where, now time.Time) ([]string, error) {
	w.Add("h.deadline <> ''")
	w.Add("h.status IN (?, ?, ?)", Unfinished[0], Unfinished[1], Unfinished[2])
	type row struct{ id, status, deadline string }
	rows, err := db.Query(ctx, "SELECT h.id, h.status, h.deadline FROM hazards h"+w.SQL(), w.Args...)
	all, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.status, &x.deadline)
	})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, x := range all {
		if IsOverdue(x.status, x.deadline, now) {
			ids = append(ids, x.id)
		}
	}
	return ids, nil
}
