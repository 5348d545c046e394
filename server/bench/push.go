package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/yingji/yingji/syncproto"
)

// enterpriseOf returns the enterprise a safety officer's replica holds.
func enterpriseOf(c *client) (string, error) {
	var pull syncproto.PullResponse
	if err := c.do("POST", "/api/v1/sync/pull", syncproto.PullRequest{Protocol: syncproto.Protocol, Checkpoints: map[string]int64{}}, &pull); err != nil {
		return "", err
	}
	for _, s := range pull.Scopes {
		for _, r := range s.Records {
			if r.Collection == "enterprises" {
				return r.ID, nil
			}
		}
	}
	return "", fmt.Errorf("no enterprise in the replica")
}

func hazardCreate(clock *syncproto.Clock, ent string, i int) syncproto.Mutation {
	title, _ := json.Marshal(fmt.Sprintf("压测隐患 %d", i))
	entJSON, _ := json.Marshal(ent)
	return syncproto.Mutation{MutationID: uuid.NewString(), Collection: "hazards", ID: uuid.Must(uuid.NewV7()).String(),
		Op: syncproto.OpCreate, Fields: map[string]json.RawMessage{"title": title, "enterprise_id": entJSON, "description": json.RawMessage(`"储罐区"`)},
		HLC: clock.Now().String()}
}

// push sends batches of 100 new hazards from one phone, one batch after another, as a phone
// that comes back online with a full outbox does, and counts applied changes per second.
func push(engine, pgURL string, batches int) (string, error) {
	m, stop, err := start(engine, pgURL)
	if err != nil {
		return "", err
	}
	defer stop()
	c, _, err := login(m.URL, "safety01", password, "mobile", "bench-phone")
	if err != nil {
		return "", err
	}
	ent, err := enterpriseOf(c)
	if err != nil {
		return "", err
	}
	clock := syncproto.NewClock("bench-phone", nil)
	var lat []time.Duration
	n := 0
	begin := time.Now()
	for b := 0; b < batches; b++ {
		req := syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "bench-phone"}
		for i := 0; i < 100; i++ {
			req.Mutations = append(req.Mutations, hazardCreate(clock, ent, n+i))
		}
		var resp syncproto.PushResponse
		t0 := time.Now()
		if err := c.do("POST", "/api/v1/sync/push", req, &resp); err != nil {
			return "", err
		}
		lat = append(lat, time.Since(t0))
		for _, r := range resp.Results {
			if r.Status != syncproto.StatusApplied {
				return "", fmt.Errorf("mutation %s: %s %s", r.MutationID, r.Status, r.Message)
			}
		}
		n += len(resp.Results)
	}
	secs := time.Since(begin).Seconds()
	return fmt.Sprintf("| %s | %d × 100 | %d | %.2f | %.0f | %s | %s |", engine, batches, n, secs, float64(n)/secs,
		ms(quantile(lat, .5)), ms(quantile(lat, .99))), nil
}
