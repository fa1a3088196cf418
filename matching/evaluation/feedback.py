"""How the organisations that coordinators shortlisted, and those that joined, ranked.

Shortlist outcomes are the product's own feedback: a coordinator shortlisted an organisation,
contacted it, and it joined or declined. For each partnership with outcomes, every ranker ranks
the organisations that are not members (as in hide-and-rank, :mod:`matching.evaluation.harness`),
and the rank of each outcome's organisation is recorded, reported per latest status.

An organisation that joined is a member now, and its membership would give it away (it shares the
partnership with every member): :func:`without_joined` removes those memberships from the
snapshot first, so it is ranked as it was before it joined. Unlike hide-and-rank this is no
controlled experiment: coordinators shortlist what a ranker showed them, so the figures describe
the rankers on the cases people acted on, and a learned ranker fitted after the joins has seen
them in training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import sparse

from domain.outreach import Outcome, ShortlistStatus
from matching.evaluation.baselines import IndexRanker
from matching.recommender import query_for_partnership
from matching.snapshot import Snapshot

#: How deep each ranker's list is read: an organisation ranked lower counts as not found.
DEPTH = 1000


def latest_outcomes(outcomes: Iterable[Outcome]) -> list[Outcome]:
    """The latest outcome of each (partnership, organisation): its last row, since a shortlist's
    changes are listed in the order they were recorded (a date is what a change refers to, and a
    call made last week may be recorded after today's shortlisting)."""
    latest = {(o.partnership_id, o.org_id): o for o in outcomes}
    return sorted(latest.values(), key=lambda o: (o.partnership_id, o.org_id))


def without_joined(snapshot: Snapshot, outcomes: Sequence[Outcome]) -> Snapshot:
    """``snapshot`` without the memberships that joined outcomes led to."""
    drop = [
        (snapshot.org_index[o.org_id], snapshot.partnership_index[o.partnership_id])
        for o in outcomes
        if o.status == ShortlistStatus.JOINED
        and o.org_id in snapshot.org_index
        and o.partnership_id in snapshot.partnership_index
    ]
    if not drop:
        return snapshot
    rows, cols = (np.asarray(x, dtype=np.int64) for x in zip(*drop, strict=True))
    removed = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=snapshot.membership.shape
    )
    membership = (snapshot.membership - snapshot.membership.multiply(removed)).tocsr()
    membership.eliminate_zeros()
    coordinators = (snapshot.coordinators - snapshot.coordinators.multiply(removed)).tocsr()
    coordinators.eliminate_zeros()
    # A new snapshot, so its cached co-membership degrees and indexes are computed afresh.
    return replace(snapshot, membership=membership, coordinators=coordinators)


@dataclass
class StatusRanks:
    """The ranks one ranker gave the organisations whose latest outcome is one status."""

    status: ShortlistStatus
    ranks: list[int | None] = field(default_factory=list)  # None: not in the first DEPTH

    @property
    def count(self) -> int:
        return len(self.ranks)

    @property
    def found(self) -> list[int]:
        return sorted(r for r in self.ranks if r is not None)

    def share_within(self, k: int) -> float:
        return sum(1 for r in self.found if r <= k) / self.count if self.count else 0.0

    @property
    def median_rank(self) -> float | None:
        """The median over all of them, those not found counting as below the list (``None`` when
        fewer than half were found)."""
        if not self.count:
            return None
        ordered = [float(r) for r in self.found] + [float("inf")] * (self.count - len(self.found))
        median = float(np.median(ordered))
        return None if median == float("inf") else median

    @property
    def mrr(self) -> float:
        return sum(1.0 / r for r in self.found) / self.count if self.count else 0.0


@dataclass
class FeedbackResult:
    """Per ranker, per latest status, the ranks; and what could not be ranked, with why."""

    rankers: dict[str, dict[ShortlistStatus, StatusRanks]]
    partnerships: int
    outcomes: int
    skipped: dict[str, int]  # reason -> count


def rank_outcomes(
    snapshot: Snapshot, rankers: Sequence[IndexRanker], outcomes: Sequence[Outcome], depth: int = DEPTH
) -> FeedbackResult:
    """Rank each outcome's organisation for its partnership with every ranker.

    ``snapshot`` must already be :func:`without_joined` (the service builds it so, once for all
    rankers); ``outcomes`` are the latest per pair. An outcome whose partnership or organisation is
    gone, or whose organisation is a member without having joined through the shortlist, is skipped.
    """
    skipped: Counter[str] = Counter()
    cases: dict[str, list[tuple[int, ShortlistStatus]]] = {}
    for o in outcomes:
        org = snapshot.org_index.get(o.org_id)
        j = snapshot.partnership_index.get(o.partnership_id)
        if org is None or j is None:
            skipped["partnership or organisation no longer in the store"] += 1
        elif j in snapshot.partnerships_of(org):
            skipped["a member without a joined outcome"] += 1
        else:
            cases.setdefault(o.partnership_id, []).append((org, o.status))
    result: dict[str, dict[ShortlistStatus, StatusRanks]] = {}
    for ranker in rankers:
        per_status = {s: StatusRanks(s) for s in ShortlistStatus}
        for pid, wanted in cases.items():
            query = query_for_partnership(snapshot, pid)
            mask = np.ones(snapshot.n_orgs, dtype=bool)
            mask[query.member_indices] = False
            ranked = ranker.rank(query, mask, depth)
            position = {int(org): n for n, org in enumerate(ranked, 1)}
            for org, status in wanted:
                per_status[status].ranks.append(position.get(org))
        result[ranker.name] = {s: r for s, r in per_status.items() if r.count}
    return FeedbackResult(result, len(cases), sum(len(w) for w in cases.values()), dict(skipped))
