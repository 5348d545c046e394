package patrol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
)

// Supervision levels of an enterprise.
const (
	LevelNormal    = "normal"    // 一般监管
	LevelAttention = "attention" // 重点关注
	LevelKey       = "key"       // 重点监管
)

// Reason is one entry of an enterprise's supervision history.
type Reason struct {
	At          time.Time `json:"at"`
	PatrolID    string    `json:"patrol_id"`
	RiskPointID string    `json:"risk_point_id"`
	Flag        string    `json:"flag"`
	Delta       int       `json:"delta"`
	Text        string    `json:"text"`
}

// Supervision is an enterprise's credit score and supervision level with their reasons.
type Supervision struct {
	EnterpriseID     string    `json:"enterprise_id"`
	CreditScore      int       `json:"credit_score"`
	SupervisionLevel string    `json:"supervision_level"`
	Reasons          []Reason  `json:"reasons"`
	UpdatedAt        time.Time `json:"updated_at,omitzero"`
}

// LevelFor is the supervision level a credit score calls for.
func LevelFor(score int) string {
	switch {
	case score >= 90:
		return LevelNormal
	case score >= 75:
		return LevelAttention
	}
	return LevelKey
}

const maxReasons = 200

// GetSupervision reads an enterprise's supervision (a fresh one when none was recorded).
func GetSupervision(ctx context.Context, q sqldb.Querier, enterpriseID string) (Supervision, error) {
	s := Supervision{EnterpriseID: enterpriseID, CreditScore: 100, SupervisionLevel: LevelNormal, Reasons: []Reason{}}
	var reasons string
	err := q.QueryRow(ctx, `SELECT credit_score, supervision_level, reasons, updated_at FROM enterprise_supervision
		WHERE enterprise_id = $1`, enterpriseID).Scan(&s.CreditScore, &s.SupervisionLevel, &reasons, &s.UpdatedAt)
	if errors.Is(err, yingji.ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	json.Unmarshal([]byte(reasons), &s.Reasons)
	if s.Reasons == nil {
		s.Reasons = []Reason{}
	}
	return s, nil
}

// penalize lowers the enterprise's credit score for each flag of the patrol and records why.
func (c *Collection) penalize(ctx context.Context, q sqldb.Querier, id string, rp *RiskPoint, f syncsvc.Fields, flags []string) error {
	if len(flags) == 0 {
		return nil
	}
	s, err := GetSupervision(ctx, q, rp.EnterpriseID)
	if err != nil {
		return err
	}
	now := c.Now().UTC()
	for _, fl := range flags {
		r := Reason{At: now, PatrolID: id, RiskPointID: rp.ID, Flag: fl, Delta: -c.Penalty}
		switch fl {
		case FlagFar:
			var d float64
			json.Unmarshal(f["distance_m"], &d)
			r.Text = fmt.Sprintf("风险点“%s”的巡查位置距风险点约 %.0f 米（超过 %.0f 米），疑似弄虚作假，信用分扣 %d 分", rp.Name, d, c.FarMeters, c.Penalty)
		case FlagForgedQR:
			r.Text = fmt.Sprintf("风险点“%s”的巡查所扫二维码不是该风险点的有效二维码，疑似弄虚作假，信用分扣 %d 分", rp.Name, c.Penalty)
		case FlagTooFast:
			start, _ := time.Parse(time.RFC3339, syncsvc.Str(f, "started_at"))
			fin, _ := time.Parse(time.RFC3339, syncsvc.Str(f, "finished_at"))
			var items []Item
			json.Unmarshal(f["items"], &items)
			r.Text = fmt.Sprintf("风险点“%s”的巡查用时 %.0f 秒检查了 %d 项措施，用时过短，疑似弄虚作假，信用分扣 %d 分", rp.Name, fin.Sub(start).Seconds(), len(items), c.Penalty)
		default:
			continue
		}
		s.CreditScore = max(0, s.CreditScore-c.Penalty)
		s.Reasons = append(s.Reasons, r)
	}
	if len(s.Reasons) > maxReasons {
		s.Reasons = s.Reasons[len(s.Reasons)-maxReasons:]
	}
	// The level only rises automatically; lowering it is a supervisor's decision.
	if lv := LevelFor(s.CreditScore); rank(lv) > rank(s.SupervisionLevel) {
		s.SupervisionLevel = lv
	}
	reasons, _ := json.Marshal(s.Reasons)
	_, err = q.Exec(ctx, `INSERT INTO enterprise_supervision (enterprise_id, credit_score, supervision_level, reasons, updated_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (enterprise_id) DO UPDATE SET credit_score = excluded.credit_score,
		supervision_level = excluded.supervision_level, reasons = excluded.reasons, updated_at = excluded.updated_at`,
		rp.EnterpriseID, s.CreditScore, s.SupervisionLevel, string(reasons), now)
	return err
}

func rank(level string) int {
	switch level {
	case LevelAttention:
		return 1
	case LevelKey:
		return 2
	}
	return 0
}
