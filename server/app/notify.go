package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/yingji/yingji/server/postgres"
)

// pokeChannel carries sync pokes between server instances sharing one PostgreSQL.
const pokeChannel = "yingji_sync_poke"

// listen makes sync pokes travel through PostgreSQL LISTEN/NOTIFY, so a change accepted by
// one instance pokes the devices connected to every instance (this one included).
func (m *Main) listen(ctx context.Context, pg *postgres.DB) error {
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	log := m.Log.With("component", "sync_notify")
	ready := make(chan struct{})
	go pg.Listen(lctx, pokeChannel, log, ready, func(payload string) {
		var pokes map[string]int64
		if err := json.Unmarshal([]byte(payload), &pokes); err != nil {
			log.Warn("bad poke payload", "err", err)
			return
		}
		m.Sync.Publish(pokes) // scope pokes, and users whose scopes changed
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		log.Warn("listener not ready after 10s; devices will converge by pulling")
	}
	m.Sync.Notify = func(pokes map[string]int64) {
		// NOTIFY payloads are limited to 8000 bytes: split big poke sets.
		batch := map[string]int64{}
		size := 0
		flush := func() {
			if len(batch) == 0 {
				return
			}
			b, _ := json.Marshal(batch)
			nctx, cancel := context.WithTimeout(lctx, 5*time.Second)
			defer cancel()
			if err := pg.Notify(nctx, pokeChannel, string(b)); err != nil {
				log.Warn("notify failed; publishing locally", "err", err)
				m.Sync.Publish(batch)
			}
			batch, size = map[string]int64{}, 0
		}
		for sc, seq := range pokes {
			batch[sc] = seq
			size += len(sc) + 24
			if size > 7000 {
				flush()
			}
		}
		flush()
	}
	return nil
}
