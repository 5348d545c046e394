package api_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/yingji"
)

// TestRemindersForRectifier: a hazard due within a day reminds its rectifier once, and he
// reads the reminder through the API; nobody else sees it.
func TestRemindersForRectifier(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	safety := s.Login(t, "safety01")
	var me struct {
		ID           string `json:"id"`
		EnterpriseID string `json:"enterprise_id"`
	}
	want(t, s.Do(t, "GET", "/api/v1/auth/me", safety, nil), http.StatusOK, &me)
	var path string
	if err := s.DB.QueryRow(ctx, `SELECT org_path FROM enterprises WHERE id = $1`, me.EnterpriseID).Scan(&path); err != nil {
		t.Fatal(err)
	}
	id := yingji.NewID()
	now := time.Now().UTC()
	if _, err := s.DB.Exec(ctx, `INSERT INTO hazards (id, enterprise_id, org_path, title, status, deadline, rectifier_id, created_at, updated_at)
		VALUES ($1, $2, $3, '消防通道堵塞', 'assigned', $4, $5, $6, $6)`, id, me.EnterpriseID, path, now.Add(2*time.Hour).Format(time.RFC3339), me.ID, now); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.Jobs.RunReminders(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var page struct {
		Items []struct {
			Kind     string `json:"kind"`
			ObjectID string `json:"object_id"`
			Message  string `json:"message"`
		}
		Total int
	}
	want(t, s.Do(t, "GET", "/api/v1/reminders", safety, nil), http.StatusOK, &page)
	if page.Total != 1 || page.Items[0].ObjectID != id || !chineseText(page.Items[0].Message) {
		t.Fatalf("reminders of the rectifier: %+v", page)
	}
	want(t, s.Do(t, "GET", "/api/v1/reminders", s.Login(t, "grid01"), nil), http.StatusOK, &page)
	if page.Total != 0 {
		t.Fatalf("another user sees %d reminders", page.Total)
	}
}

func chineseText(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// TestChecklistReminderBeforePeriodEnds: two hours before a daily checklist's day ends with a
// risk point unpatrolled, the assignee is reminded once.
func TestChecklistReminderBeforePeriodEnds(t *testing.T) {
	bj := time.FixedZone("CST", 8*3600)
	y, m, d := time.Now().In(bj).Date()
	late := time.Date(y, m, d, 22, 30, 0, 0, bj) // 90 minutes before the day's period ends
	s := apptest.Start(t, apptest.WithClock(func() time.Time { return late }))
	ctx := context.Background()
	rp, ent := riskPoint(t, s)
	admin := s.Login(t, "admin")
	var grid struct {
		ID string `json:"id"`
	}
	grid01 := s.Login(t, "grid01")
	want(t, s.Do(t, "GET", "/api/v1/auth/me", grid01, nil), http.StatusOK, &grid)
	want(t, s.Do(t, "POST", "/api/v1/checklists", admin, map[string]any{"enterprise_id": ent, "name": "储罐区每日巡查",
		"frequency": "daily", "risk_point_ids": []string{rp}, "assignee": grid.ID}), http.StatusCreated, nil)
	for range 2 {
		if _, err := s.Jobs.RunReminders(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var page struct {
		Items []struct {
			Kind       string `json:"kind"`
			ObjectType string `json:"object_type"`
			Message    string `json:"message"`
		}
		Total int
	}
	want(t, s.Do(t, "GET", "/api/v1/reminders", grid01, nil), http.StatusOK, &page)
	n := 0
	for _, it := range page.Items {
		if it.ObjectType == "checklist" && it.Kind == "before_deadline" && chineseText(it.Message) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("checklist reminders before the period ends: %d in %+v", n, page.Items)
	}
}

// TestChecklistOverdueSinceCreated: a checklist created now has no overdue period — not in the
// overdue list, not in its calendar, not as a reminder or notification of its assignee — while
// one created three days ago is overdue for the days since.
func TestChecklistOverdueSinceCreated(t *testing.T) {
	bj := time.FixedZone("CST", 8*3600)
	y, m, d := time.Now().In(bj).Date()
	noon := time.Date(y, m, d, 12, 0, 0, 0, bj) // the day's period ends in 12 hours: no reminder before it ends
	var clock atomic.Int64
	clock.Store(noon.UnixNano())
	s := apptest.Start(t, apptest.WithClock(func() time.Time { return time.Unix(0, clock.Load()) }))
	ctx := context.Background()
	rp, ent := riskPoint(t, s)
	admin, grid01 := s.Login(t, "admin"), s.Login(t, "grid01")
	var grid struct {
		ID string `json:"id"`
	}
	want(t, s.Do(t, "GET", "/api/v1/auth/me", grid01, nil), http.StatusOK, &grid)
	create := func(name string) string {
		var c struct {
			ID string `json:"id"`
		}
		want(t, s.Do(t, "POST", "/api/v1/checklists", admin, map[string]any{"enterprise_id": ent, "name": name,
			"frequency": "daily", "risk_point_ids": []string{rp}, "assignee": grid.ID}), http.StatusCreated, &c)
		return c.ID
	}
	fresh := create("今天新建的每日巡查")
	clock.Store(noon.AddDate(0, 0, -3).UnixNano())
	old := create("三天前建的每日巡查")
	clock.Store(noon.UnixNano())
	for range 2 {
		if _, err := s.Jobs.RunReminders(ctx); err != nil {
			t.Fatal(err)
		}
	}

	var overdue struct {
		Items []struct {
			ChecklistID string    `json:"checklist_id"`
			Start       time.Time `json:"start"`
		}
	}
	want(t, s.Do(t, "GET", "/api/v1/checklists/overdue", admin, nil), http.StatusOK, &overdue)
	perList := map[string]int{}
	for _, p := range overdue.Items {
		perList[p.ChecklistID]++
	}
	if perList[fresh] != 0 || perList[old] != 3 {
		t.Fatalf("overdue periods: new checklist %d (want 0), three days old %d (want 3): %+v", perList[fresh], perList[old], overdue.Items)
	}

	var cal struct {
		Items []struct {
			Start  time.Time `json:"start"`
			Status string    `json:"status"`
		}
	}
	want(t, s.Do(t, "GET", "/api/v1/checklists/"+fresh+"/calendar", admin, nil), http.StatusOK, &cal)
	if len(cal.Items) != 1 || cal.Items[0].Status != "due" || !cal.Items[0].Start.Equal(time.Date(y, m, d, 0, 0, 0, 0, bj)) {
		t.Fatalf("calendar of the new checklist: %+v, want only today's period, due", cal.Items)
	}
	want(t, s.Do(t, "GET", "/api/v1/checklists/"+old+"/calendar", admin, nil), http.StatusOK, &cal)
	if len(cal.Items) != 4 {
		t.Fatalf("calendar of the three days old checklist: %+v, want 4 periods", cal.Items)
	}

	var reminders struct {
		Items []struct {
			Kind     string `json:"kind"`
			ObjectID string `json:"object_id"`
		}
	}
	want(t, s.Do(t, "GET", "/api/v1/reminders?page_size=100", grid01, nil), http.StatusOK, &reminders)
	perList = map[string]int{}
	for _, r := range reminders.Items {
		if r.Kind == "overdue" {
			perList[r.ObjectID]++
		}
	}
	// The job looks two days back: the old checklist's last two days.
	if perList[fresh] != 0 || perList[old] != 2 {
		t.Fatalf("overdue reminders: new checklist %d (want 0), three days old %d (want 2): %+v", perList[fresh], perList[old], reminders.Items)
	}
	var inbox struct {
		Items []struct {
			Kind  string `json:"kind"`
			RefID string `json:"ref_id"`
		}
	}
	want(t, s.Do(t, "GET", "/api/v1/notifications?kind=checklist_overdue&page_size=100", grid01, nil), http.StatusOK, &inbox)
	perList = map[string]int{}
	for _, n := range inbox.Items {
		perList[n.RefID]++
	}
	if perList[fresh] != 0 || perList[old] != 2 {
		t.Fatalf("overdue notifications: new checklist %d (want 0), three days old %d (want 2): %+v", perList[fresh], perList[old], inbox.Items)
	}
}
