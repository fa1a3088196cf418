"""Match-making events: reciprocal pair scores, introductions (b-matching MILP) and 1:1 agendas.

Pure logic over arrays; no store, API or driver imports. Entry point: :func:`plan_meetings`.
"""

from matching.events.participants import PairRules, Participants, build_participants, met_before_pairs
from matching.events.scheduler import (
    DroppedPin,
    Pin,
    Plan,
    PlannedMeeting,
    PlanStats,
    ScheduleOptions,
    Unmatched,
    plan_meetings,
)
from matching.events.scoring import PairContribution, PairScorer
from matching.events.validate import PlacedMeeting, schedule_violations

__all__ = [
    "DroppedPin",
    "PairContribution",
    "PairRules",
    "PairScorer",
    "Participants",
    "Pin",
    "PlacedMeeting",
    "Plan",
    "PlanStats",
    "PlannedMeeting",
    "ScheduleOptions",
    "Unmatched",
    "build_participants",
    "met_before_pairs",
    "plan_meetings",
    "schedule_violations",
]
