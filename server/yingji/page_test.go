package yingji_test

import (
	"testing"

	"github.com/yingji/yingji/server/yingji"
)

func TestOrderBy(t *testing.T) {
	allowed := map[string]string{"name": "name", "started_at": "a.started_at", "level": "CAST(a.level AS INTEGER)"}
	for _, c := range []struct{ sort, want string }{
		{"", "a.started_at DESC"},
		{"name", "name ASC, id ASC"},
		{"-started_at", "a.started_at DESC, a.id DESC"},
		{"level", "CAST(a.level AS INTEGER) ASC, id ASC"},
	} {
		got, err := yingji.ListParams{Sort: c.sort}.OrderBy(allowed, "a.started_at DESC")
		if err != nil || got != c.want {
			t.Errorf("sort %q: %q, %v; want %q", c.sort, got, err, c.want)
		}
	}
	if _, err := (yingji.ListParams{Sort: "password"}).OrderBy(allowed, ""); yingji.ErrorKind(err) != yingji.EINVALID {
		t.Errorf("unknown sort: %v", err)
	}
}
