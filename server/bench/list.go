package main

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// list has clients, each with its own account and session, list enterprises as fast as they can.
func list(engine, pgURL, path string, clients int, d time.Duration) (string, error) {
	m, stop, err := start(engine, pgURL)
	if err != nil {
		return "", err
	}
	defer stop()
	admin, au, err := login(m.URL, "admin", password, "web", "bench-admin")
	if err != nil {
		return "", err
	}
	tokens := make([]string, clients)
	for i := range tokens {
		name := fmt.Sprintf("bench%03d", i)
		if err := admin.do("POST", "/api/v1/users", map[string]any{"username": name, "name": fmt.Sprintf("压测%d", i),
			"role": "duty_officer", "org_unit_id": au["org_unit_id"], "password": password}, nil); err != nil {
			return "", err
		}
		c, _, err := login(m.URL, name, password, "web", "bench-"+name)
		if err != nil {
			return "", err
		}
		tokens[i] = c.token
	}
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for _, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodGet, m.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				t0 := time.Now()
				res, err := httpClient.Do(req)
				if err != nil {
					bad++
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(lat) == 0 {
		return "", fmt.Errorf("no successful request (%d errors)", errs)
	}
	return fmt.Sprintf("| %s | `GET %s` | %d | %d | %d | %.0f | %s | %s | %s | %s |", engine, path, clients, len(lat), errs,
		float64(len(lat))/d.Seconds(), ms(quantile(lat, .5)), ms(quantile(lat, .9)), ms(quantile(lat, .99)), ms(quantile(lat, 1))), nil
}
