package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/mediasvc"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/search"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

var _ plan.Store = (*Store)(nil)

// Plans: one row per version, the sections as JSON text in content.

const planCols = `id, plan_id, version, status, code, title, kind, level, org_unit_id, enterprise_id, org_path, content,
	author_id, author_name, editor_id, submitted_at, reviewer_id, reviewer_name, review_comment, published_at, retired_at,
	retired_reason, created_at, updated_at`

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func scanPlan(r sqldb.Row) (plan.Plan, error) {
	var p plan.Plan
	var content string
	err := r.Scan(&p.ID, &p.PlanID, &p.Version, &p.Status, &p.Code, &p.Title, &p.Kind, &p.Level, &p.OrgUnitID, &p.EnterpriseID,
		&p.OrgPath, &content, &p.AuthorID, &p.AuthorName, &p.EditorID, &p.SubmittedAt, &p.ReviewerID, &p.ReviewerName,
		&p.ReviewComment, &p.PublishedAt, &p.RetiredAt, &p.RetiredReason, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	p.SubmittedAt, p.PublishedAt, p.RetiredAt = utcPtr(p.SubmittedAt), utcPtr(p.PublishedAt), utcPtr(p.RetiredAt)
	if err := json.Unmarshal([]byte(content), &p.Content); err != nil {
		return p, fmt.Errorf("content: %w", err)
	}
	p.Normalize()
	return p, nil
}

func scanPlans(r sqldb.Rows) (plan.Plan, error) { return scanPlan(r) }

func (s *Store) GetPlan(ctx context.Context, id string) (plan.Plan, error) {
	p, err := scanPlan(s.DB.QueryRow(ctx, `SELECT `+planCols+` FROM plans WHERE id = $1`, id))
	if err != nil {
		return plan.Plan{}, fmt.Errorf("store: get plan %s: %w", id, err)
	}
	return p, nil
}

var planSorts = map[string]string{"title": "title", "code": "code", "version": "version", "status": "status",
	"published_at": "published_at", "created_at": "created_at", "updated_at": "updated_at"}

// planScope adds the read scope of a plan list.
func planScope(w *sqldb.Where, sc plan.Scope) {
	var or []string
	var args []any
	if sc.OrgPrefix != "" {
		if sc.PublishedOnly {
			or = append(or, "(org_path >= ? AND org_path < ? AND status IN ('published', 'retired'))")
		} else {
			or = append(or, "(org_path >= ? AND org_path < ?)")
		}
		args = append(args, sc.OrgPrefix, sqldb.PrefixEnd(sc.OrgPrefix))
	}
	if sc.EnterpriseID != "" {
		if sc.PublishedOnly {
			or = append(or, "(enterprise_id = ? AND status IN ('published', 'retired'))")
		} else {
			or = append(or, "enterprise_id = ?")
		}
		args = append(args, sc.EnterpriseID)
	}
	if sc.Ancestors != "" {
		or = append(or, "(enterprise_id = '' AND status IN ('published', 'retired') AND substr(?, 1, length(org_path)) = org_path)")
		args = append(args, sc.Ancestors)
	}
	if len(or) == 0 {
		w.Add("1 = 0")
		return
	}
	cond := "("
	for i, o := range or {
		if i > 0 {
			cond += " OR "
		}
		cond += o
	}
	w.Add(cond+")", args...)
}

func (s *Store) ListPlans(ctx context.Context, f plan.Filter, p yingji.ListParams) (yingji.Page[plan.Plan], error) {
	var page yingji.Page[plan.Plan]
	p.Normalize()
	order, err := p.OrderBy(planSorts, "updated_at DESC, id DESC")
	if err != nil {
		return page, err
	}
	var w sqldb.Where
	if f.Scope != (plan.Scope{}) {
		planScope(&w, f.Scope)
	}
	for col, v := range map[string]string{"plan_id": f.PlanID, "status": string(f.Status), "kind": string(f.Kind), "level": string(f.Level),
		"enterprise_id": f.EnterpriseID, "org_unit_id": f.OrgUnitID} {
		if v != "" {
			w.Add(col+" = ?", v)
		}
	}
	if f.Q != "" {
		w.Add(`(title LIKE ? ESCAPE '\' OR code LIKE ? ESCAPE '\')`, sqldb.Like(f.Q), sqldb.Like(f.Q))
	}
	if f.Latest {
		w.Add("version = (SELECT MAX(v.version) FROM plans v WHERE v.plan_id = plans.plan_id)")
	}
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM plans`+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("store: count plans: %w", err)
	}
	q := `SELECT ` + planCols + ` FROM plans` + w.SQL() + ` ORDER BY ` + order + ` LIMIT ` + w.Next(p.PageSize) + ` OFFSET ` + w.Next(p.Offset())
	rows, err := s.DB.Query(ctx, q, w.Args...)
	page.Items, err = sqldb.CollectRows(rows, err, scanPlans)
	if err != nil {
		return page, fmt.Errorf("store: list plans: %w", err)
	}
	return page, nil
}

func planRefs(p plan.Plan) mediasvc.Refs {
	r := mediasvc.Refs{Collection: "plans", RecordID: p.ID, OrgPath: p.OrgPath, EnterpriseID: p.EnterpriseID,
		Shared: p.EnterpriseID == "" && !p.Unpublished()}
	if p.Unpublished() { // a draft's files stay with those who may author it (plan.CanRead)
		r.Perm = yingji.PermPlanWrite
	}
	for _, a := range p.Content.Attachments {
		r.SHA256s = append(r.SHA256s, a.SHA256)
	}
	return r
}

func (s *Store) CreatePlans(ctx context.Context, ps []plan.Plan) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		for i, p := range ps {
			_, err := tx.Exec(ctx, `INSERT INTO plans (`+planCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
				$13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
				p.ID, p.PlanID, p.Version, string(p.Status), p.Code, p.Title, string(p.Kind), string(p.Level), p.OrgUnitID, p.EnterpriseID,
				p.OrgPath, jsonText(p.Content), p.AuthorID, p.AuthorName, p.EditorID, utcPtr(p.SubmittedAt), p.ReviewerID, p.ReviewerName,
				p.ReviewComment, utcPtr(p.PublishedAt), utcPtr(p.RetiredAt), p.RetiredReason, p.CreatedAt.UTC(), p.UpdatedAt.UTC())
			if err != nil {
				return &org.BatchError{Index: i, Err: err}
			}
			if err := mediasvc.SetRefs(ctx, tx, planRefs(p)); err != nil {
				return &org.BatchError{Index: i, Err: err}
			}
			if p.Status == plan.StatusPublished { // demo data and imports of published plans
				if err := s.publishTx(ctx, tx, p); err != nil {
					return &org.BatchError{Index: i, Err: err}
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: create plans: %w", err)
	}
	return nil
}

func (s *Store) UpdateDraft(ctx context.Context, p plan.Plan) error {
	err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		err := mustAffect(tx.Exec(ctx, `UPDATE plans SET title = $2, code = $3, kind = $4, content = $5, editor_id = $6, updated_at = $7
			WHERE id = $1 AND status = 'draft'`, p.ID, p.Title, p.Code, string(p.Kind), jsonText(p.Content), p.EditorID, p.UpdatedAt.UTC()))
		if err != nil {
			return err
		}
		return mediasvc.SetRefs(ctx, tx, planRefs(p))
	})
	if err != nil {
		return fmt.Errorf("store: update plan %s: %w", p.ID, err)
	}
	return nil
}

// publishTx indexes a newly published version and tells phones.
func (s *Store) publishTx(ctx context.Context, tx sqldb.Querier, p plan.Plan) error {
	if err := indexDoc(ctx, tx, plan.Doc(p), p.UpdatedAt); err != nil {
		return err
	}
	if err := mediasvc.SetRefs(ctx, tx, planRefs(p)); err != nil { // its files are shared below with it
		return err
	}
	return s.changed(ctx, tx, "plans", p.PlanID)
}

func (s *Store) TransitionPlan(ctx context.Context, t plan.Transition) (plan.Plan, error) {
	var out plan.Plan
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		at := t.At.UTC()
		var err error
		switch t.To {
		case plan.StatusReview:
			err = mustAffect(tx.Exec(ctx, `UPDATE plans SET status = $3, submitted_at = $4, updated_at = $4 WHERE id = $1 AND status = $2`,
				t.ID, string(t.From), string(t.To), at))
		case plan.StatusDraft: // sent back
			err = mustAffect(tx.Exec(ctx, `UPDATE plans SET status = $3, reviewer_id = $4, reviewer_name = $5, review_comment = $6,
				updated_at = $7 WHERE id = $1 AND status = $2`, t.ID, string(t.From), string(t.To), t.ReviewerID, t.ReviewerName, t.ReviewComment, at))
		case plan.StatusPublished:
			var planID string
			var version int
			if err := tx.QueryRow(ctx, `SELECT plan_id, version FROM plans WHERE id = $1`, t.ID).Scan(&planID, &version); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE plans SET status = 'retired', retired_at = $2, retired_reason = $3, updated_at = $2
				WHERE plan_id = $1 AND status = 'published'`, planID, at, fmt.Sprintf("已由第 %d 版取代", version)); err != nil {
				return err
			}
			err = mustAffect(tx.Exec(ctx, `UPDATE plans SET status = $3, reviewer_id = $4, reviewer_name = $5, review_comment = $6,
				published_at = $7, updated_at = $7 WHERE id = $1 AND status = $2`, t.ID, string(t.From), string(t.To), t.ReviewerID,
				t.ReviewerName, t.ReviewComment, at))
		case plan.StatusRetired:
			err = mustAffect(tx.Exec(ctx, `UPDATE plans SET status = $3, retired_at = $4, retired_reason = $5, updated_at = $4
				WHERE id = $1 AND status = $2`, t.ID, string(t.From), string(t.To), at, t.Reason))
		default:
			return fmt.Errorf("store: no transition to %q", t.To)
		}
		if err != nil {
			return err
		}
		if out, err = scanPlan(tx.QueryRow(ctx, `SELECT `+planCols+` FROM plans WHERE id = $1`, t.ID)); err != nil {
			return err
		}
		switch t.To {
		case plan.StatusPublished:
			return s.publishTx(ctx, tx, out)
		case plan.StatusRetired:
			if err := unindexDoc(ctx, tx, search.KindPlan, out.PlanID); err != nil {
				return err
			}
			return s.changed(ctx, tx, "plans", out.PlanID)
		}
		return nil
	})
	if err != nil {
		return plan.Plan{}, fmt.Errorf("store: plan %s to %s: %w", t.ID, t.To, err)
	}
	return out, nil
}

func (s *Store) DeleteDraft(ctx context.Context, id string) error {
	err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		if err := mustAffect(tx.Exec(ctx, `DELETE FROM plans WHERE id = $1 AND status = 'draft'`, id)); err != nil {
			return err
		}
		return mediasvc.SetRefs(ctx, tx, mediasvc.Refs{Collection: "plans", RecordID: id})
	})
	if err != nil {
		return fmt.Errorf("store: delete plan %s: %w", id, err)
	}
	return nil
}

// planSpec: phones hold the published version of each plan in their scope, read-only, under
// the plan's id. search_text is the text the SDK indexes for offline search.
var planSpec = &syncproto.CollectionSpec{Name: "plans", ReadOnly: true, Fields: []syncproto.FieldSpec{
	{Name: "version_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "version", Type: syncproto.TypeNumber, Rule: syncproto.ServerOwned},
	{Name: "code", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "title", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "kind", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "level", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "org_unit_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "enterprise_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "content", Type: syncproto.TypeObject, Rule: syncproto.ServerOwned},
	{Name: "published_at", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "search_text", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
}}

// PlanCollection is the synced collection of published plans on this store.
func (s *Store) PlanCollection() syncsvc.Collection { return planCollection{} }

type planCollection struct{ readOnly }

func (planCollection) Spec() *syncproto.CollectionSpec { return planSpec }

// Load reads the published version of each plan id; a plan without one is gone for phones.
func (planCollection) Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]syncsvc.Fields, error) {
	out := map[string]syncsvc.Fields{}
	err := sqldb.InChunks(ids, nil, func(args []any, ph string) error {
		rows, err := q.Query(ctx, `SELECT `+planCols+` FROM plans WHERE status = 'published' AND plan_id IN (`+ph+`)`, args...)
		ps, err := sqldb.CollectRows(rows, err, scanPlans)
		for _, p := range ps {
			published := ""
			if p.PublishedAt != nil {
				published = p.PublishedAt.Format(time.RFC3339)
			}
			out[p.PlanID] = syncsvc.Fields{"version_id": syncsvc.JSON(p.ID), "version": syncsvc.JSON(p.Version), "code": syncsvc.JSON(p.Code),
				"title": syncsvc.JSON(p.Title), "kind": syncsvc.JSON(p.Kind), "level": syncsvc.JSON(p.Level),
				"org_unit_id": syncsvc.JSON(p.OrgUnitID), "enterprise_id": syncsvc.JSON(p.EnterpriseID), "content": syncsvc.JSON(p.Content),
				"published_at": syncsvc.JSON(published), "search_text": syncsvc.JSON(p.Text()), "org_path": syncsvc.JSON(p.OrgPath)}
		}
		return err
	})
	return out, err
}

// Place: a government unit's published plan is shared with every unit and enterprise below it
// (Load answers only published versions); an enterprise's own plan stays with the enterprise
// and the units above it.
func (planCollection) Place(_ context.Context, _ sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	ent := syncsvc.Str(f, "enterprise_id")
	return syncsvc.Place{OrgPath: syncsvc.Str(f, "org_path"), EnterpriseID: ent, Shared: ent == ""}, nil
}
