package patrol

import (
	"context"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

var checklistSpec = &syncproto.CollectionSpec{Name: "checklists", ReadOnly: true, Fields: []syncproto.FieldSpec{
	{Name: "enterprise_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "name", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "frequency", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "shifts", Type: syncproto.TypeArray, Rule: syncproto.ServerOwned},
	{Name: "risk_point_ids", Type: syncproto.TypeArray, Rule: syncproto.ServerOwned},
	{Name: "measure_ids", Type: syncproto.TypeArray, Rule: syncproto.ServerOwned},
	{Name: "assignee", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
}}

// Checklists is the read-only synced collection of checklists, so a phone knows offline what
// it has to patrol and when.
type Checklists struct{ syncsvc.Table }

// NewChecklists returns the checklists collection.
func NewChecklists() *Checklists {
	return &Checklists{syncsvc.Table{Name: "checklists",
		Columns: []string{"enterprise_id", "org_path", "name", "frequency", "shifts", "risk_point_ids", "measure_ids", "assignee"},
		JSON:    map[string]bool{"shifts": true, "risk_point_ids": true, "measure_ids": true}}}
}

func (c *Checklists) Spec() *syncproto.CollectionSpec { return checklistSpec }

func (c *Checklists) Place(_ context.Context, _ sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	return syncsvc.Place{OrgPath: syncsvc.Str(f, "org_path"), EnterpriseID: syncsvc.Str(f, "enterprise_id")}, nil
}

func (c *Checklists) Authorize(context.Context, sqldb.Querier, *yingji.Actor, syncproto.Mutation, syncsvc.Fields) error {
	return syncsvc.Rejected(syncproto.CodeReadOnly, "巡查清单只能在管理平台维护")
}

func (c *Checklists) Prepare(context.Context, sqldb.Querier, *yingji.Actor, syncsvc.Fields, bool) error {
	return nil
}

func (c *Checklists) Save(context.Context, sqldb.Querier, string, syncsvc.Fields, bool, bool) error {
	return syncsvc.Rejected(syncproto.CodeReadOnly, "巡查清单只能在管理平台维护")
}
