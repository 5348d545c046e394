package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// ChangeHook records changes to synced tables in the writing transaction (the sync service's
// change log). A nil hook records nothing.
type ChangeHook interface {
	// Lock takes the change log's lock first, so a write transaction always locks in the same
	// order as a sync push (change log, then domain rows) and the two never deadlock.
	Lock(ctx context.Context, q sqldb.Querier) error
	// Changed records records the office changed: their fields get the server's stamp.
	Changed(ctx context.Context, q sqldb.Querier, collection string, ids ...string) error
	// Moved records records whose place changed but whose fields did not (an enterprise moved,
	// a sibling lost its primary flag): no field is re-stamped, so phone edits keep their say.
	Moved(ctx context.Context, q sqldb.Querier, collection string, ids ...string) error
}

// writeTx runs fn in a transaction that writes synced tables.
func (s *Store) writeTx(ctx context.Context, fn func(tx sqldb.Querier) error) error {
	return s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		if s.Changes != nil {
			if err := s.Changes.Lock(ctx, tx); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// changed calls the hook, if any.
func (s *Store) changed(ctx context.Context, q sqldb.Querier, collection string, ids ...string) error {
	if s.Changes == nil {
		return nil
	}
	return s.Changes.Changed(ctx, q, collection, ids...)
}

// The org collections phones read: org units and enterprises read-only, contacts with the
// fields an enterprise's own staff may correct.

var unitSpec = &syncproto.CollectionSpec{Name: "org_units", ReadOnly: true, Fields: []syncproto.FieldSpec{
	{Name: "parent_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "level", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "code", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "name", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "sort", Type: syncproto.TypeNumber, Rule: syncproto.ServerOwned},
}}

var enterpriseSpec = &syncproto.CollectionSpec{Name: "enterprises", ReadOnly: true, Fields: []syncproto.FieldSpec{
	{Name: "name", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "credit_code", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "industry", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "township_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "grid_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "address", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "location", Type: syncproto.TypeObject, Rule: syncproto.ServerOwned},
	{Name: "hazardous_chemicals", Type: syncproto.TypeBool, Rule: syncproto.ServerOwned},
	{Name: "major_hazard", Type: syncproto.TypeBool, Rule: syncproto.ServerOwned},
	{Name: "legal_person", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "phone", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
}}

var contactSpec = &syncproto.CollectionSpec{Name: "contacts", Fields: []syncproto.FieldSpec{
	{Name: "enterprise_id", Type: syncproto.TypeString, Rule: syncproto.Immutable},
	{Name: "name", Type: syncproto.TypeString, Rule: syncproto.LWW},
	{Name: "title", Type: syncproto.TypeString, Rule: syncproto.LWW},
	{Name: "phone", Type: syncproto.TypeString, Rule: syncproto.LWW},
	{Name: "is_primary", Type: syncproto.TypeBool, Rule: syncproto.ServerOwned},
}}

// Collections returns the synced org collections on this store.
func (s *Store) Collections() []syncsvc.Collection {
	return []syncsvc.Collection{unitCollection{}, enterpriseCollection{}, contactCollection{}}
}

type readOnly struct{}

func (readOnly) Authorize(context.Context, sqldb.Querier, *yingji.Actor, syncproto.Mutation, syncsvc.Fields) error {
	return syncsvc.Rejected(syncproto.CodeReadOnly, "该数据在移动端只读")
}
func (readOnly) Prepare(context.Context, sqldb.Querier, *yingji.Actor, syncsvc.Fields, bool) error {
	return nil
}
func (readOnly) Save(context.Context, sqldb.Querier, string, syncsvc.Fields, bool, bool) error {
	return syncsvc.Rejected(syncproto.CodeReadOnly, "该数据在移动端只读")
}

type unitCollection struct{ readOnly }

func (unitCollection) Spec() *syncproto.CollectionSpec { return unitSpec }

func (unitCollection) Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]syncsvc.Fields, error) {
	out := map[string]syncsvc.Fields{}
	err := sqldb.InChunks(ids, nil, func(args []any, ph string) error {
		rows, err := q.Query(ctx, `SELECT `+unitCols+` FROM org_units WHERE id IN (`+ph+`)`, args...)
		us, err := sqldb.CollectRows(rows, err, scanUnits)
		for _, u := range us {
			out[u.ID] = syncsvc.Fields{"parent_id": syncsvc.JSON(u.ParentID), "level": syncsvc.JSON(u.Level), "code": syncsvc.JSON(u.Code),
				"name": syncsvc.JSON(u.Name), "sort": syncsvc.JSON(u.Sort), "path": syncsvc.JSON(u.Path)}
		}
		return err
	})
	return out, err
}

func (unitCollection) Place(_ context.Context, _ sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	return syncsvc.Place{OrgPath: syncsvc.Str(f, "path")}, nil
}

type enterpriseCollection struct{ readOnly }

func (enterpriseCollection) Spec() *syncproto.CollectionSpec { return enterpriseSpec }

func (enterpriseCollection) Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]syncsvc.Fields, error) {
	out := map[string]syncsvc.Fields{}
	err := sqldb.InChunks(ids, nil, func(args []any, ph string) error {
		rows, err := q.Query(ctx, `SELECT `+enterpriseCols+` FROM enterprises WHERE id IN (`+ph+`)`, args...)
		es, err := sqldb.CollectRows(rows, err, scanEnterprises)
		for _, e := range es {
			var loc any
			if e.Lat != nil && e.Lng != nil {
				loc = map[string]float64{"lat": *e.Lat, "lng": *e.Lng}
			}
			out[e.ID] = syncsvc.Fields{"name": syncsvc.JSON(e.Name), "credit_code": syncsvc.JSON(e.CreditCode),
				"industry": syncsvc.JSON(e.Industry), "township_id": syncsvc.JSON(e.TownshipID), "grid_id": syncsvc.JSON(e.GridID),
				"address": syncsvc.JSON(e.Address), "location": syncsvc.JSON(loc), "hazardous_chemicals": syncsvc.JSON(e.HazardousChemicals),
				"major_hazard": syncsvc.JSON(e.MajorHazard), "legal_person": syncsvc.JSON(e.LegalPerson), "phone": syncsvc.JSON(e.Phone),
				"org_path": syncsvc.JSON(e.OrgPath)}
		}
		return err
	})
	return out, err
}

func (enterpriseCollection) Place(_ context.Context, _ sqldb.Querier, id string, f syncsvc.Fields) (syncsvc.Place, error) {
	return syncsvc.Place{OrgPath: syncsvc.Str(f, "org_path"), EnterpriseID: id}, nil
}

type contactCollection struct{}

func (contactCollection) Spec() *syncproto.CollectionSpec { return contactSpec }

func (contactCollection) Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]syncsvc.Fields, error) {
	out := map[string]syncsvc.Fields{}
	err := sqldb.InChunks(ids, nil, func(args []any, ph string) error {
		rows, err := q.Query(ctx, `SELECT `+contactCols+` FROM contacts WHERE id IN (`+ph+`)`, args...)
		cs, err := sqldb.CollectRows(rows, err, scanContacts)
		for _, c := range cs {
			out[c.ID] = syncsvc.Fields{"enterprise_id": syncsvc.JSON(c.EnterpriseID), "name": syncsvc.JSON(c.Name),
				"title": syncsvc.JSON(c.Title), "phone": syncsvc.JSON(c.Phone), "is_primary": syncsvc.JSON(c.IsPrimary)}
		}
		return err
	})
	return out, err
}

func (contactCollection) Place(ctx context.Context, q sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	id := syncsvc.Str(f, "enterprise_id")
	var path string
	if err := q.QueryRow(ctx, `SELECT org_path FROM enterprises WHERE id = $1`, id).Scan(&path); err != nil {
		return syncsvc.Place{}, fmt.Errorf("store: contact place: %w", err)
	}
	return syncsvc.Place{OrgPath: path, EnterpriseID: id}, nil
}

// Authorize lets an enterprise's own safety officer or principal, and administrators over it,
// correct a contact's name, title and phone; contacts are added and removed in the portal.
func (contactCollection) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	if m.Op != syncproto.OpUpdate || cur == nil {
		return syncsvc.Rejected(syncproto.CodeForbidden, "联系人只能在管理平台新增或删除，移动端只能修改姓名、职务和电话")
	}
	if !a.Can(yingji.PermContactWrite) {
		return syncsvc.Rejected(syncproto.CodeForbidden, "您的角色不能修改企业联系人")
	}
	ent := syncsvc.Str(cur, "enterprise_id")
	var path string
	if err := q.QueryRow(ctx, `SELECT org_path FROM enterprises WHERE id = $1`, ent).Scan(&path); err != nil {
		return err
	}
	if !a.CanReadEnterprise(ent, path) || (a.Role.ScopeKind() == yingji.ScopeOrg && a.Role.AdminRank() == 0) {
		return syncsvc.Rejected(syncproto.CodeForbidden, "该企业不在您的管辖范围内，不能修改其联系人")
	}
	return nil
}

func (contactCollection) Prepare(_ context.Context, _ sqldb.Querier, _ *yingji.Actor, f syncsvc.Fields, _ bool) error {
	c := org.Contact{EnterpriseID: syncsvc.Str(f, "enterprise_id"), Name: syncsvc.Str(f, "name"), Title: syncsvc.Str(f, "title"),
		Phone: syncsvc.Str(f, "phone")}
	c.Normalize()
	if err := c.Validate(); err != nil {
		var ye *yingji.Error
		if errors.As(err, &ye) {
			return syncsvc.Rejected(syncproto.CodeBadValue, ye.Message)
		}
		return err
	}
	return nil
}

func (contactCollection) Save(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields, created, deleted bool) error {
	if created || deleted {
		return syncsvc.Rejected(syncproto.CodeForbidden, "联系人只能在管理平台新增或删除")
	}
	_, err := q.Exec(ctx, `UPDATE contacts SET name = $2, title = $3, phone = $4, updated_at = $5 WHERE id = $1`,
		id, strings.TrimSpace(syncsvc.Str(f, "name")), strings.TrimSpace(syncsvc.Str(f, "title")), strings.TrimSpace(syncsvc.Str(f, "phone")), time.Now().UTC())
	return err
}
