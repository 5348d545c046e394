// Package syncproto is the sync wire format and the conflict rules shared by the server and
// the mobile SDK. It imports only the standard library (a test enforces it), so both sides run
// the very same merge functions and the golden cases in testdata.
//
// Wire: JSON over HTTPS (gzip when the client sends Accept-Encoding / Content-Encoding gzip).
//
//	POST /api/v1/sync/push  PushRequest  → PushResponse
//	POST /api/v1/sync/pull  PullRequest  → PullResponse
//	GET  /api/v1/sync/live  WebSocket: the server sends Poke messages
//
// Every request carries Protocol; a server that cannot serve it answers 400 with the code
// "sync.upgrade_required" (the device is too old) or "sync.server_too_old", and data naming
// the oldest and newest protocol it speaks.
package syncproto

import "encoding/json"

// Protocol versions this package speaks.
const (
	Protocol       = 1
	MinProtocol    = 1
	CodeUpgrade    = "sync.upgrade_required"
	HeaderProtocol = "X-Yingji-Sync-Protocol"
	// HeaderServerTime carries the server's wall clock (Unix milliseconds, decimal) on push
	// and pull answers, taken as the answer is written. A device learns from it how far its
	// own clock is off (the offset at the middle of the exchange) and stamps its changes with
	// the corrected clock, so a phone whose clock is slow still orders its edits among
	// everybody else's. The HLC in the answers is no substitute: it is a logical clock and may
	// run ahead of the wall time.
	HeaderServerTime = "X-Yingji-Server-Time"
)

// Mutation operations.
const (
	OpCreate = "create"
	OpUpdate = "update"
	OpDelete = "delete"
)

// Mutation is one change made on a device, queued in its outbox until the server answers.
type Mutation struct {
	// MutationID is the idempotency key: a UUID made on the device. A replay gets the stored
	// answer; the same id with another payload is rejected.
	MutationID string `json:"mutation_id"`
	Collection string `json:"collection"`
	ID         string `json:"id"`
	Op         string `json:"op"`
	// BaseSeq is the server version of the record the change was made on (0 for a create).
	BaseSeq int64 `json:"base_seq"`
	// Fields are the changed fields (create: all given fields) under their API names.
	Fields map[string]json.RawMessage `json:"fields,omitempty"`
	// Base holds, for set fields, the value the device saw before its change, so the server
	// can tell an element the user removed from one somebody else added.
	Base map[string]json.RawMessage `json:"base,omitempty"`
	// HLC is the hybrid logical clock stamp of the change (see HLC).
	HLC string `json:"hlc"`
}

// PushRequest sends a batch of mutations in outbox order.
type PushRequest struct {
	Protocol  int        `json:"protocol"`
	DeviceID  string     `json:"device_id"`
	Mutations []Mutation `json:"mutations"`
}

// Result statuses.
const (
	StatusApplied  = "applied"  // the change is in, as sent
	StatusMerged   = "merged"   // the change is in, but the server kept or combined some fields
	StatusRejected = "rejected" // nothing of the change is in; Code and Message say why
)

// Result answers one mutation.
type Result struct {
	MutationID string `json:"mutation_id"`
	Status     string `json:"status"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"` // Chinese, shown to the user
	// Seq is the record's server version after the change (applied or merged).
	Seq int64 `json:"seq,omitempty"`
	// Record is the canonical record after a merge, so the device need not wait for a pull.
	Record *Record `json:"record,omitempty"`
}

// PushResponse answers every mutation of a batch, in order.
type PushResponse struct {
	Protocol int      `json:"protocol"`
	Results  []Result `json:"results"`
	// HLC is the server's clock after the batch; the device folds it into its own.
	HLC string `json:"hlc"`
}

// Record is the latest state of a synced record.
type Record struct {
	Collection string                     `json:"collection"`
	ID         string                     `json:"id"`
	Seq        int64                      `json:"seq"`
	Deleted    bool                       `json:"deleted,omitempty"`
	Fields     map[string]json.RawMessage `json:"fields,omitempty"`
	// Stamps are the HLC stamps of the last write of each field (last-writer-wins input).
	Stamps map[string]string `json:"stamps,omitempty"`
	// RawStamps, when set, are the stamps as a JSON object, kept as the server stores them:
	// the server's pull sends them without decoding them, and DecodePull hands them over
	// without decoding them (Stamps stays nil). Only PullResponse's encoding (AppendJSON)
	// writes them.
	RawStamps json.RawMessage `json:"-"`
}

// PullRequest asks for changes since a checkpoint in each scope the device holds.
type PullRequest struct {
	Protocol int `json:"protocol"`
	// Checkpoints maps scope → the seq the device has applied up to (0 or absent: snapshot).
	Checkpoints map[string]int64 `json:"checkpoints"`
	// Limit bounds the records in the answer (the server caps it).
	Limit int `json:"limit,omitempty"`
}

// ScopeChanges are the changes of one scope.
type ScopeChanges struct {
	Scope string `json:"scope"`
	// Reset tells the device to drop what it holds of the scope before applying (a snapshot
	// after its checkpoint was too old, or after a checksum mismatch).
	Reset bool `json:"reset,omitempty"`
	// Records hold the latest state of each changed record; Deleted ones are tombstones.
	Records []Record `json:"records"`
	// Removed are records that left the scope (moved elsewhere): the device drops them from
	// this scope without treating them as deleted.
	Removed []RecordRef `json:"removed,omitempty"`
	// Checkpoint is the seq to store once every record above is applied, in one transaction.
	Checkpoint int64 `json:"checkpoint"`
	// More says the scope has more changes after Checkpoint: pull again.
	More bool `json:"more,omitempty"`
	// Checksum and Count describe the scope at Checkpoint when More is false: the sum modulo
	// 2^64 of RecordHash over the live records in the scope, as a decimal string.
	Checksum string `json:"checksum,omitempty"`
	Count    int64  `json:"count,omitempty"`
}

// RecordRef names a record.
type RecordRef struct {
	Collection string `json:"collection"`
	ID         string `json:"id"`
}

// PullResponse answers a pull.
type PullResponse struct {
	Protocol int            `json:"protocol"`
	Scopes   []ScopeChanges `json:"scopes"`
	// Purge lists scopes the device holds but may no longer read: drop their records.
	Purge []string `json:"purge,omitempty"`
	// Collections describes the synced collections, so the SDK stores any of them generically.
	Collections []CollectionSpec `json:"collections,omitempty"`
	HLC         string           `json:"hlc"`
}

// Poke is what the live WebSocket sends: a scope changed up to Seq; pull it.
type Poke struct {
	Type  string `json:"type"` // "poke", or "closed" with Code/Message before the server closes
	Scope string `json:"scope,omitempty"`
	Seq   int64  `json:"seq,omitempty"`
	// Code and Message explain a close (session replaced, expired): the SDK shows them.
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Error is the body of a failed sync request (same shape as every API error).
type Error struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
	Data      any    `json:"data,omitempty"`
}
