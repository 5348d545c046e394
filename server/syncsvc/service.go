package syncsvc

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Limits of one exchange.
const (
	MaxBatch     = 1000 // mutations in one push
	DefaultLimit = 1000 // records in one pull answer
	MaxLimit     = 5000
)

// Service is the sync service.
type Service struct {
	DB    sqldb.DB
	Clock *syncproto.Clock
	Hub   *Hub
	Audit yingji.Auditor
	Log   *slog.Logger
	Now   func() time.Time
	// Notify, when set, carries pokes to other server instances (PostgreSQL LISTEN/NOTIFY);
	// the local hub is poked by whoever receives them. Unset: the local hub is poked directly.
	Notify func(pokes map[string]int64)
	// OnChange, when set, is told the scopes of every committed change on the instance that
	// committed it, once, with the device whose push made it (zero for the server's own
	// writes): the FCM wake of background phones.
	OnChange func(pokes map[string]int64, origin Origin)

	colls     map[string]Collection
	observers map[string][]Observer
	mu        sync.RWMutex
	sources   []ScopeSource
}

// New returns a service on db; register collections before serving.
func New(db sqldb.DB, audit yingji.Auditor, log *slog.Logger) *Service {
	s := &Service{DB: db, Audit: audit, Log: log.With("component", "sync"), Now: time.Now, Hub: NewHub(), colls: map[string]Collection{},
		observers: map[string][]Observer{}}
	s.Clock = syncproto.NewClock("server", func() time.Time { return s.Now() })
	return s
}

// Register adds a collection. A spec that contradicts itself is a programming error.
func (s *Service) Register(c Collection) {
	if err := c.Spec().Validate(); err != nil {
		panic(fmt.Sprintf("sync: collection %s: %v", c.Spec().Name, err))
	}
	s.colls[c.Spec().Name] = c
}

// Observe adds an observer of the changes pushes make to a collection.
func (s *Service) Observe(collection string, o Observer) {
	s.observers[collection] = append(s.observers[collection], o)
}

// Specs lists the registered collections by name.
func (s *Service) Specs() []syncproto.CollectionSpec {
	out := make([]syncproto.CollectionSpec, 0, len(s.colls))
	for _, c := range s.colls {
		out = append(out, *c.Spec())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Origin is the user and device whose push made a change.
type Origin struct{ UserID, DeviceID string }

func (s *Service) notify(pokes map[string]int64, origin Origin) {
	if s.OnChange != nil {
		s.OnChange(pokes, origin)
	}
	if s.Notify != nil {
		s.Notify(pokes)
		return
	}
	s.Hub.Publish(pokes)
}
