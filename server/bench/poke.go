package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/yingji/yingji/syncproto"
)

// poke measures push → poke → pulled: device B changes a hazard; device A, online with its
// WebSocket, is poked and pulls the change. The time runs from B's push to A holding the record.
func poke(engine, pgURL string, rounds int) (string, error) {
	m, stop, err := start(engine, pgURL)
	if err != nil {
		return "", err
	}
	defer stop()
	a, _, err := login(m.URL, "safety01", password, "mobile", "bench-a")
	if err != nil {
		return "", err
	}
	b, _, err := login(m.URL, "principal01", password, "mobile", "bench-b")
	if err != nil {
		return "", err
	}
	ent, err := enterpriseOf(a)
	if err != nil {
		return "", err
	}
	scope := "ent:" + ent
	clock := syncproto.NewClock("bench-b", nil)
	create := hazardCreate(clock, ent, 0)
	if err := b.do("POST", "/api/v1/sync/push", syncproto.PushRequest{Protocol: syncproto.Protocol, Mutations: []syncproto.Mutation{create}}, nil); err != nil {
		return "", err
	}
	// A's checkpoint: pull everything once.
	cp := map[string]int64{}
	pullA := func() (map[string]int64, []syncproto.Record, error) {
		var resp syncproto.PullResponse
		if err := a.do("POST", "/api/v1/sync/pull", syncproto.PullRequest{Protocol: syncproto.Protocol, Checkpoints: cp}, &resp); err != nil {
			return nil, nil, err
		}
		next := map[string]int64{}
		var recs []syncproto.Record
		for _, s := range resp.Scopes {
			next[s.Scope] = s.Checkpoint
			recs = append(recs, s.Records...)
		}
		return next, recs, nil
	}
	if cp, _, err = pullA(); err != nil {
		return "", err
	}
	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, strings.Replace(m.URL, "http", "ws", 1)+"/api/v1/sync/live",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + a.token}}})
	if err != nil {
		return "", err
	}
	defer ws.CloseNow()
	pokes := make(chan syncproto.Poke, 16)
	go func() {
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				close(pokes)
				return
			}
			var p syncproto.Poke
			json.Unmarshal(data, &p)
			pokes <- p
		}
	}()
	<-pokes // hello
	var lat []time.Duration
	for i := 0; i < rounds; i++ {
		title, _ := json.Marshal(fmt.Sprintf("第 %d 次修改", i))
		mu := syncproto.Mutation{MutationID: fmt.Sprintf("poke-%d-%d", time.Now().UnixNano(), i), Collection: "hazards", ID: create.ID,
			Op: syncproto.OpUpdate, Fields: map[string]json.RawMessage{"title": title}, HLC: clock.Now().String()}
		t0 := time.Now()
		if err := b.do("POST", "/api/v1/sync/push", syncproto.PushRequest{Protocol: syncproto.Protocol, Mutations: []syncproto.Mutation{mu}}, nil); err != nil {
			return "", err
		}
		got := false
		timeout := time.After(5 * time.Second)
		for !got {
			select {
			case p, ok := <-pokes:
				if !ok {
					return "", fmt.Errorf("live connection closed")
				}
				if p.Scope != scope {
					continue
				}
				next, recs, err := pullA()
				if err != nil {
					return "", err
				}
				cp = next
				for _, r := range recs {
					if r.ID == create.ID && string(r.Fields["title"]) == string(title) {
						got = true
					}
				}
			case <-timeout:
				return "", fmt.Errorf("round %d: no poke within 5 s", i)
			}
		}
		lat = append(lat, time.Since(t0))
	}
	return fmt.Sprintf("| %s | %d | %s | %s | %s | %s |", engine, rounds, ms(quantile(lat, .5)), ms(quantile(lat, .9)),
		ms(quantile(lat, .99)), ms(quantile(lat, 1))), nil
}
