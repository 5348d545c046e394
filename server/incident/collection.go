package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// The synced collection of incidents: phones read those of their scope and their incidents,
// and report new ones offline (a field report, source "field"); the server owns the status,
// level and plan (they change by approved response steps), the code and the times it receives.
var spec = &syncproto.CollectionSpec{
	Name: CollectionName,
	Fields: []syncproto.FieldSpec{
		{Name: "code", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "title", Type: syncproto.TypeString, Rule: syncproto.LWW, Required: true},
		{Name: "class", Type: syncproto.TypeString, Rule: syncproto.LWW, Required: true},
		{Name: "sub_type", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "grade", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "status", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "response_level", Type: syncproto.TypeNumber, Rule: syncproto.ServerOwned},
		{Name: "plan_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "lat", Type: syncproto.TypeNumber, Rule: syncproto.LWW},
		{Name: "lng", Type: syncproto.TypeNumber, Rule: syncproto.LWW},
		{Name: "cell", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "area", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "address", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "org_path", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "org_unit_id", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "enterprise_id", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "occurred_at", Type: syncproto.TypeTime, Rule: syncproto.LWW},
		{Name: "reported_at", Type: syncproto.TypeTime, Rule: syncproto.Immutable},
		{Name: "received_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "reporter_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "reporter_name", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "reporter_phone", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "source", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "alert_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "dead", Type: syncproto.TypeNumber, Rule: syncproto.LWW},
		{Name: "injured", Type: syncproto.TypeNumber, Rule: syncproto.LWW},
		{Name: "missing", Type: syncproto.TypeNumber, Rule: syncproto.LWW},
		{Name: "trapped", Type: syncproto.TypeNumber, Rule: syncproto.LWW},
		{Name: "affected", Type: syncproto.TypeNumber, Rule: syncproto.LWW},
		{Name: "economic_loss", Type: syncproto.TypeNumber, Rule: syncproto.LWW},
		{Name: "materials", Type: syncproto.TypeArray, Rule: syncproto.LWW},
		{Name: "exercise", Type: syncproto.TypeBool, Rule: syncproto.LWW},
		{Name: "description", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "created_by", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "terminated_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
	},
}

// Collection is the synced collection of incidents.
type Collection struct{ s *Service }

// Collection returns the synced collection of incidents.
func (s *Service) Collection() *Collection { return &Collection{s} }

func (c *Collection) Spec() *syncproto.CollectionSpec { return spec }

// toFields turns an incident into its synced fields.
func toFields(x Incident) syncsvc.Fields {
	b, _ := json.Marshal(x)
	var f syncsvc.Fields
	json.Unmarshal(b, &f)
	delete(f, "id")
	delete(f, "created_at")
	delete(f, "updated_at")
	return f
}

// fromFields reads an incident from synced fields.
func fromFields(id string, f syncsvc.Fields) (Incident, error) {
	b, _ := json.Marshal(f)
	var x Incident
	if err := json.Unmarshal(b, &x); err != nil {
		return x, syncsvc.Rejected(syncproto.CodeBadValue, "事件字段的类型不对："+err.Error())
	}
	x.ID = id
	if x.Materials == nil {
		x.Materials = []Material{}
	}
	return x, nil
}

func (c *Collection) Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]syncsvc.Fields, error) {
	out := map[string]syncsvc.Fields{}
	err := sqldb.InChunks(ids, nil, func(args []any, in string) error {
		rows, err := q.Query(ctx, `SELECT `+cols+` FROM incidents WHERE id IN (`+in+`)`, args...)
		xs, err := sqldb.CollectRows(rows, err, scanRows)
		if err != nil {
			return fmt.Errorf("load incidents: %w", err)
		}
		for _, x := range xs {
			out[x.ID] = toFields(x)
		}
		return nil
	})
	return out, err
}

// PlaceOf is where an incident's records belong: its unit chain, its enterprise and the
// incident's own scope (its members).
func PlaceOf(x Incident) syncsvc.Place {
	return syncsvc.Place{OrgPath: x.OrgPath, EnterpriseID: x.EnterpriseID}
}

func (c *Collection) Place(_ context.Context, _ sqldb.Querier, id string, f syncsvc.Fields) (syncsvc.Place, error) {
	x, err := fromFields(id, f)
	if err != nil {
		return syncsvc.Place{}, err
	}
	return PlaceOf(x), nil
}

// asRejection turns the service's coded errors into the sync refusals phones show.
func asRejection(err error) error {
	if e, ok := err.(*yingji.Error); ok {
		code := syncproto.CodeBadValue
		if e.Kind == yingji.EFORBIDDEN {
			code = syncproto.CodeForbidden
		}
		return syncsvc.Rejected(code, e.Message)
	}
	return err
}

// Authorize lets reporters create incidents in their scope (checked again with the place in
// Prepare); changes of an existing incident take the incident-write permission in scope, or
// being its reporter while no response has started.
func (c *Collection) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	if m.Op == syncproto.OpDelete {
		return syncsvc.Rejected(syncproto.CodeForbidden, "事件不能删除")
	}
	if cur == nil {
		if !a.Can(yingji.PermIncidentReport) {
			return syncsvc.Rejected(syncproto.CodeForbidden, "您的角色不能上报事件")
		}
		return nil
	}
	x, err := fromFields(m.ID, cur)
	if err != nil {
		return err
	}
	if a.Can(yingji.PermIncidentWrite) && InScope(a, x) {
		return nil
	}
	if x.CreatedBy == a.UserID && x.Status == StatusReported {
		return nil
	}
	return syncsvc.Rejected(syncproto.CodeForbidden, "无权修改该事件：不在您的管辖范围内")
}

// Prepare fills a new incident's server fields (its report time is the device's action time,
// received_at the server's) and validates every change.
func (c *Collection) Prepare(ctx context.Context, q sqldb.Querier, a *yingji.Actor, f syncsvc.Fields, created bool) error {
	x, err := fromFields("", f)
	if err != nil {
		return err
	}
	if created {
		at, received := syncsvc.StepTimes(ctx, c.s.now())
		if x.ReportedAt != "" {
			if t, err := time.Parse(time.RFC3339, x.ReportedAt); err == nil {
				if st := syncsvc.StepOf(ctx); st != nil {
					at = st.Set(t)
				}
				x.ReportedAt = FormatTime(at)
			}
		}
		if x.Source == "" {
			x.Source = SourceField
		}
		x.ID = yingji.NewID() // replaced by the record's id on save; prepareNew needs one
		if err := c.s.prepareNew(ctx, q, a, &x, at, received); err != nil {
			return asRejection(err)
		}
		if x.Code, err = nextCode(ctx, q, received); err != nil {
			return err
		}
	} else {
		if err := Validate(&x); err != nil {
			return asRejection(err)
		}
		if err := c.s.linkMaterials(ctx, q, x.Materials); err != nil {
			return err
		}
	}
	x.Cell = cellOf(x)
	for k, v := range toFields(x) {
		f[k] = v
	}
	return nil
}

// Save writes the incident: a new one gets its code.
func (c *Collection) Save(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields, created, deleted bool) error {
	if deleted {
		return nil
	}
	x, err := fromFields(id, f)
	if err != nil {
		return err
	}
	if created {
		return c.s.Insert(ctx, q, &x)
	}
	cur, err := c.s.Get(ctx, q, id)
	if err != nil {
		return err
	}
	x.Code, x.CreatedBy, x.CreatedAt = cur.Code, cur.CreatedBy, cur.CreatedAt
	return c.s.Save(ctx, q, &x)
}
