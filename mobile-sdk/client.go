// Package sdk is the Yingji field client library: a local SQLite replica of the records the
// user may read, an outbox of changes made offline, and the sync that exchanges them with the
// server (syncproto). It stores every collection generically, by the specs the server sends.
//
// Local writes (Create, Update, Delete) go to the outbox and the record's local view in one
// transaction, so they survive a crash or a reboot; Sync pushes the outbox in order and pulls
// every scope; Live holds a WebSocket and syncs when the server pokes.
package sdk

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/yingji/yingji/syncproto"
)

// Options tune a Client; zero values take the defaults.
type Options struct {
	// HTTPClient makes the requests (default: 3 s to connect, 60 s per request).
	HTTPClient *http.Client
	// Now is the wall clock (tests replace it).
	Now func() time.Time
	// RetryBudget bounds the time one Sync spends retrying after network errors before it
	// gives up with KindUnreachable (default 4 s).
	RetryBudget time.Duration
	// BatchSize is the number of mutations per push (default 500; halved on 413).
	BatchSize int
	// PullLimit is the number of records asked per pull page (default: the server's).
	PullLimit int
	// Log receives diagnostics (default: discarded).
	Log *slog.Logger
	// MediaChunkSize is the size of one upload request of an attached file (default 1 MiB).
	MediaChunkSize int
}

// Client is one device's replica. It is safe for concurrent use.
type Client struct {
	db    *sql.DB
	opts  Options
	log   *slog.Logger
	clock *syncproto.Clock
	// offset is how far the server's clock is ahead of this device's (milliseconds), learned
	// at each exchange and kept in the replica: the clock stamps changes with the corrected
	// time, so a phone whose clock is slow does not lose every last-writer-wins race.
	offset   atomic.Int64
	deviceID string
	path     string // the replica file; its media folder is path + "-media"

	mediaMu sync.Mutex // the files of the media folder: attach against upload end

	syncMu sync.Mutex // one exchange with the server at a time
	rndMu  sync.Mutex
	rnd    *rand.Rand
}

// Open opens (or creates) the replica at path.
func Open(ctx context.Context, path string, opts Options) (*Client, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetryBudget <= 0 {
		opts.RetryBudget = 4 * time.Second
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.MediaChunkSize <= 0 {
		opts.MediaChunkSize = 1 << 20
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{
			Timeout: 60 * time.Second,
			Transport: &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				TLSHandshakeTimeout:   5 * time.Second,
				ResponseHeaderTimeout: 30 * time.Second,
				MaxIdleConns:          4,
				IdleConnTimeout:       90 * time.Second,
				DisableCompression:    true, // gzip is handled here, both ways
			},
		}
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	db, err := openDB(ctx, path)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Code: "replica.open", Message: "无法打开本地数据库", Err: err}
	}
	c := &Client{db: db, opts: opts, log: log.With("component", "sdk"), path: path,
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x59696e676a69))}
	if err := c.initDevice(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// initDevice makes the device id once and restores the clock.
func (c *Client) initDevice(ctx context.Context) error {
	return c.inTx(ctx, func(tx *sql.Tx) error {
		id, err := getMeta(ctx, tx, metaDeviceID)
		if err != nil {
			return err
		}
		if id == "" {
			id = uuid.NewString()
			if err := setMeta(ctx, tx, metaDeviceID, id); err != nil {
				return err
			}
		}
		c.deviceID = id
		if v, err := getMeta(ctx, tx, metaClockOffset); err != nil {
			return err
		} else if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			c.offset.Store(ms)
		}
		c.clock = syncproto.NewClock(id, c.serverNow)
		s, err := getMeta(ctx, tx, metaHLC)
		if err != nil {
			return err
		}
		if h, err := syncproto.ParseHLC(s); err == nil {
			c.clock.Observe(h)
		}
		return nil
	})
}

// Close closes the replica.
func (c *Client) Close() error { return c.db.Close() }

// DeviceID is this replica's device id, made once.
func (c *Client) DeviceID() string { return c.deviceID }

// observe folds a server stamp into the clock and persists the clock.
func (c *Client) observe(ctx context.Context, q querier, s string) error {
	if h, err := syncproto.ParseHLC(s); err == nil {
		c.clock.Observe(h)
	}
	return c.saveClock(ctx, q)
}

// saveClock persists a stamp no earlier than every stamp issued or observed so far, and the
// clock offset learned from the server.
func (c *Client) saveClock(ctx context.Context, q querier) error {
	h := c.clock.Now()
	if err := setMeta(ctx, q, metaClockOffset, strconv.FormatInt(c.offset.Load(), 10)); err != nil {
		return err
	}
	return setMeta(ctx, q, metaHLC, h.String())
}

// serverNow is the device's clock corrected by the offset learned from the server: what the
// HLC stamps changes with.
func (c *Client) serverNow() time.Time {
	return c.opts.Now().Add(time.Duration(c.offset.Load()) * time.Millisecond)
}

// ClockOffset is how far the server's clock was found ahead of this device's (negative:
// behind) at the last exchange; zero before the first.
func (c *Client) ClockOffset() time.Duration {
	return time.Duration(c.offset.Load()) * time.Millisecond
}

// learnOffset takes the server's time from an answer (syncproto.HeaderServerTime) and sets
// the offset: the server's time minus the device's at the middle of the exchange, so the
// error is at most half the round trip.
func (c *Client) learnOffset(header string, sent, got time.Time) {
	ms, err := strconv.ParseInt(header, 10, 64)
	if err != nil || ms <= 0 {
		return
	}
	mid := sent.Add(got.Sub(sent) / 2)
	c.offset.Store(ms - mid.UnixMilli())
	// Stamps made by a clock that ran fast are forgotten, or the clock would stay in the
	// future; the server replaced them with its own when they arrived.
	if c.clock.Rebase(syncproto.MaxDrift) {
		c.log.Info("clock corrected by the server's time; stamps ahead of it dropped", "offset", c.ClockOffset())
	}
}

func (c *Client) now() time.Time { return c.opts.Now().UTC() }

func (c *Client) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	c.rndMu.Lock()
	defer c.rndMu.Unlock()
	return time.Duration(c.rnd.Int64N(int64(d)))
}

// specs loads the known collection specs.
func loadSpecs(ctx context.Context, q querier) (map[string]*syncproto.CollectionSpec, error) {
	rows, err := q.QueryContext(ctx, "SELECT name, spec FROM specs")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*syncproto.CollectionSpec{}
	for rows.Next() {
		var name, raw string
		if err := rows.Scan(&name, &raw); err != nil {
			return nil, err
		}
		var s syncproto.CollectionSpec
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return nil, fmt.Errorf("sdk: spec %s: %w", name, err)
		}
		out[name] = &s
	}
	return out, rows.Err()
}

// specFor returns the collection's spec. known reports whether the server has told the specs
// yet; before that an ad-hoc permissive spec (every field last-writer-wins) lets the device
// work offline and the server judge.
func specFor(ctx context.Context, q querier, collection string, fieldNames ...map[string]json.RawMessage) (spec *syncproto.CollectionSpec, known bool, err error) {
	cache, _ := ctx.Value(specCacheKey{}).(map[string]*syncproto.CollectionSpec)
	if s := cache[collection]; s != nil {
		return s, true, nil
	}
	defer func() {
		if cache != nil && known && err == nil {
			cache[collection] = spec
		}
	}()
	loaded, err := getMeta(ctx, q, metaSpecsLoaded)
	if err != nil {
		return nil, false, err
	}
	if loaded != "" {
		var raw string
		err := q.QueryRowContext(ctx, "SELECT spec FROM specs WHERE name = ?", collection).Scan(&raw)
		if err == sql.ErrNoRows {
			return nil, true, errorf(KindInvalid, CodeUnknownColl, "未知的数据集“%s”", collection)
		} else if err != nil {
			return nil, true, err
		}
		var s syncproto.CollectionSpec
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return nil, true, err
		}
		return &s, true, nil
	}
	return permissiveSpec(collection, fieldNames...), false, nil
}

type specCacheKey struct{}

// withSpecCache lets the specs read by specFor be kept for the rest of ctx: for a batch in one
// transaction that does not store specs (a push answer, an import), which would otherwise read
// and decode the same spec once per record.
func withSpecCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, specCacheKey{}, map[string]*syncproto.CollectionSpec{})
}

// permissiveSpec accepts any field, last-writer-wins: the device's rules before it knows the
// server's.
func permissiveSpec(collection string, fieldNames ...map[string]json.RawMessage) *syncproto.CollectionSpec {
	s := &syncproto.CollectionSpec{Name: collection, Deletable: true}
	seen := map[string]bool{}
	for _, fs := range fieldNames {
		for name := range fs {
			if !seen[name] {
				seen[name] = true
				s.Fields = append(s.Fields, syncproto.FieldSpec{Name: name, Rule: syncproto.LWW})
			}
		}
	}
	return s
}

func validName(s string) bool {
	return s != "" && len(s) <= 64 && !strings.ContainsAny(s, " \t\r\n\"'")
}
