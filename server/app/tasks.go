package app

import (
	"github.com/yingji/yingji/server/assess"
	"github.com/yingji/yingji/server/task"
	"github.com/yingji/yingji/server/timeline"
)

// registerTasks registers the responders' collections of an incident: tasks, check-ins and
// scene feedback.
func (m *Main) registerTasks() {
	tasks, checkins, feedback := task.NewTasks(), task.NewCheckins(), task.NewFeedback()
	if m.Now != nil {
		tasks.Now, checkins.Now, feedback.Now = m.Now, m.Now, m.Now
	}
	m.Sync.Register(tasks)
	m.Sync.Register(checkins)
	m.Sync.Register(feedback)
}

// newAssessments returns the assessment reports service (应急评估).
func (m *Main) newAssessments() *assess.Service {
	svc := assess.New(m.DB, m.Audit)
	if m.Now != nil {
		svc.Now = m.Now
	}
	return svc
}

// timelineAnchorer is the periodic anchoring of the incidents' timelines (a read of a timeline
// never writes); with TimelineAnchorEvery < 0 it never runs.
func (m *Main) timelineAnchorer() *timeline.Anchorer {
	return &timeline.Anchorer{DB: m.DB, Now: m.Now, Log: m.Log.With("component", "timeline"), Every: m.TimelineAnchorEvery}
}
