package postgres

import (
	"context"
	"log/slog"
	"time"
)

// Notify sends payload on channel to every listening connection (every server instance), on
// the pool of the reads: a poke does not wait behind the writers.
func (db *DB) Notify(ctx context.Context, channel, payload string) error {
	_, err := db.reads.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	return err
}

// Listen calls fn with each notification on channel until ctx ends, holding one connection of
// the pool and reconnecting after a failure. ready, if not nil, is closed once listening.
func (db *DB) Listen(ctx context.Context, channel string, log *slog.Logger, ready chan<- struct{}, fn func(payload string)) {
	for ctx.Err() == nil {
		err := db.listen(ctx, channel, &ready, fn)
		if ctx.Err() != nil {
			return
		}
		log.Warn("listen: reconnecting", "channel", channel, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (db *DB) listen(ctx context.Context, channel string, ready *chan<- struct{}, fn func(string)) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+quoteIdent(channel)); err != nil {
		return err
	}
	defer func() {
		// The connection goes back to the pool: stop listening first.
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn.Exec(c, "UNLISTEN *")
	}()
	if *ready != nil {
		close(*ready)
		*ready = nil
	}
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn(n.Payload)
	}
}

func quoteIdent(s string) string {
	out := []byte{'"'}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}
