package syncproto_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/yingji/yingji/syncproto"
)

func TestChecksumOrderIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var hashes []uint64
	for i := 0; i < 500; i++ {
		hashes = append(hashes, syncproto.RecordHash([]string{"hazards", "alerts", "tasks"}[i%3], fmt.Sprintf("id-%d", i), int64(r.IntN(1_000_000))))
	}
	sum := func(hs []uint64) uint64 {
		var s uint64
		for _, h := range hs {
			s += h // modulo 2^64 by overflow
		}
		return s
	}
	want := sum(hashes)
	for i := 0; i < 20; i++ {
		r.Shuffle(len(hashes), func(a, b int) { hashes[a], hashes[b] = hashes[b], hashes[a] })
		if got := sum(hashes); got != want {
			t.Fatalf("order %d: %d != %d", i, got, want)
		}
	}
	// Adding a record then subtracting it returns to the prior sum; so does an update
	// (subtract the old version's hash, add the new one, then undo).
	h := syncproto.RecordHash("hazards", "new", 9)
	if s := want + h - h; s != want {
		t.Fatal("add then subtract")
	}
	old, upd := syncproto.RecordHash("hazards", "id-1", 5), syncproto.RecordHash("hazards", "id-1", 6)
	if s := want - old + upd - upd + old; s != want {
		t.Fatal("update then undo")
	}
	if syncproto.RecordHash("hazards", "id-1", 5) == syncproto.RecordHash("hazards", "id-1", 6) ||
		syncproto.RecordHash("a", "bc", 1) == syncproto.RecordHash("ab", "c", 1) {
		t.Fatal("hash collision on distinct input")
	}
	if syncproto.RecordHash("hazards", "id-1", 5) != old {
		t.Fatal("hash not deterministic")
	}
}

func TestChecksumFormat(t *testing.T) {
	for _, v := range []uint64{0, 1, 1<<63 + 5, ^uint64(0)} {
		got, err := syncproto.ParseChecksum(syncproto.FormatChecksum(v))
		if err != nil || got != v {
			t.Fatalf("%d: %d, %v", v, got, err)
		}
	}
	for _, s := range []string{"", "-1", "x", "18446744073709551616"} {
		if _, err := syncproto.ParseChecksum(s); err == nil {
			t.Errorf("ParseChecksum(%q) accepted", s)
		}
	}
}
