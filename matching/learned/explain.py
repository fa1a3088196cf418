"""Explanations of the learned ranker: per-feature contributions, each with evidence a person can check.

The model supplies the numbers (a baseline and one additive contribution per feature, exact for
both models); this module says what each feature's value means for the candidate at hand. The
evidence is one row of :data:`EVIDENCE` per feature, so a new feature needs one new row here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.candidates import graph_evidence, region_evidence
from matching.features import regional_fit
from matching.learned.context import QueryContext, SnapshotStats
from matching.learned.features import FEATURES
from matching.learned.models import Estimator
from matching.snapshot import NO_REGION, TYPE_ORDER, Snapshot
from matching.types import Contribution, Recommendation

#: What the baseline contribution is, per model: the score before any feature is looked at.
BASELINE_EVIDENCE: Mapping[Estimator, str] = {
    "logreg": "average log-odds of joining for a typical candidate",
    "lgbm": "the model's average score over the candidates it was trained on",
}


@dataclass(frozen=True)
class FeatureValue:
    """One candidate's value of one feature, with the query and snapshot its evidence may quote."""

    stats: SnapshotStats
    ctx: QueryContext
    org: int  # the candidate's organisation index
    value: float

    @property
    def snapshot(self) -> Snapshot:
        return self.stats.snapshot

    @property
    def n_members(self) -> int:
        return len(self.ctx.query.member_indices)

    @property
    def type_label(self) -> str:
        return TYPE_ORDER[int(self.snapshot.org_types[self.org])].label


def _text_partnership(f: FeatureValue) -> str:
    if f.ctx.text_source == "none":
        return "no text to compare with"
    return f"text similarity {f.value:.2f} to the {f.ctx.text_source}"


def _most_similar_member(f: FeatureValue) -> str:
    s, members = f.snapshot, f.ctx.members
    if not len(members):
        return "no member profiles to compare with"
    sims = s.org_vectors[members] @ s.org_vectors[f.org]
    best = int(members[int(np.argmax(sims))])
    return f"most similar current member: {s.org_names[best]} ({f.value:.2f})"


def _collaborations(f: FeatureValue) -> str:
    prox, names = f.ctx.proximity, f.snapshot.org_names
    return graph_evidence(prox.links, [names[int(m)] for m in prox.members], f.org)


def _reunion(recent: str) -> Callable[[FeatureValue], str]:
    """The group features' evidence: the most current members it met in one earlier partnership."""

    def evidence(f: FeatureValue) -> str:
        own = f.snapshot.partnerships_of(f.org)
        most = float(f.ctx.overlap[own].max()) if len(own) else 0.0
        return (
            f"was in an earlier partnership with {round(most)} of the {f.n_members} current members{recent}"
        )

    return evidence


def _country_share(f: FeatureValue) -> str:
    cid = int(f.snapshot.org_regions[f.org, 0])
    country = f.snapshot.regions.codes[cid] if cid != NO_REGION else "an unknown country"
    return f"{round(f.value * f.n_members)} of {f.n_members} current members are in {country}"


def _region_fit(f: FeatureValue) -> str:
    s, ctx = f.snapshot, f.ctx
    if ctx.region is None:  # only explanations need the full signal: computed once per query
        ctx.region = regional_fit(s, ctx.query)
    sig = ctx.region
    return region_evidence(int(sig.level[f.org]), s.org_regions[f.org], s.regions, sig.references, sig.source)


def _type_prior(f: FeatureValue) -> str:
    share = float(f.stats.type_share_all[int(f.snapshot.org_types[f.org])])
    return f"{f.type_label}s hold {share:.0%} of all memberships"


#: Evidence per feature, in :data:`~matching.learned.features.FEATURES` order.
EVIDENCE: Mapping[str, Callable[[FeatureValue], str]] = {
    "text_partnership": _text_partnership,
    "text_members_max": _most_similar_member,
    "text_members_mean": lambda f: f"similarity {f.value:.2f} to the members' average profile",
    "graph_adamic_adar": _collaborations,
    "graph_common_members": lambda f: (
        f"worked before with {round(f.value * max(1, f.n_members))} of {f.n_members} current members"
    ),
    "graph_shared_partnerships": lambda f: (
        f"{round(math.expm1(f.value))} earlier partnership(s) shared with current members"
    ),
    "graph_best_overlap": lambda f: (
        f"met up to {round(f.value * f.n_members)} of the {f.n_members} current members"
        " in one earlier partnership"
    ),
    "graph_consortium_share": lambda f: (
        f"in an earlier partnership whose members were {f.value:.0%} current members"
    ),
    "graph_recent_shared": lambda f: (
        f"recency-weighted partnerships shared with current members: {math.expm1(f.value):.1f}"
    ),
    "graph_group_repeat": _reunion(""),
    "graph_group_overlap": _reunion(""),
    "graph_group_repeat_recent": _reunion(" (recent ones weigh more)"),
    "graph_random_walk": lambda f: (
        "reachable from the current members through shared partnerships"
        f" (walk score {math.expm1(f.value):.1f})"
    ),
    "graph_confidence_max": lambda f: f"took part in up to {f.value:.0%} of a current member's partnerships",
    "graph_confidence_sum": lambda f: (
        f"share of current members' partnerships it took part in, summed over members: {f.value:.2f}"
    ),
    "graph_loyalty_max": lambda f: f"up to {f.value:.0%} of its partnerships were with one current member",
    "graph_loyalty": lambda f: (
        f"its partnerships shared with current members, per member and partnership: {f.value:.2f}"
    ),
    "popularity": lambda f: f"member of {round(math.expm1(f.value))} partnership(s)",
    "recent_activity": lambda f: f"{round(math.expm1(f.value))} partnership(s) started in the last two years",
    "no_history": lambda f: "no earlier partnership" if f.value else "has earlier partnerships",
    "country_share": _country_share,
    "country_popularity": lambda f: f"activity weighted by the members' share of its country ({f.value:.2f})",
    "region_fit": _region_fit,
    "type_share": lambda f: (
        f"{round(f.value * f.n_members)} of {f.n_members} current members are {f.type_label}s"
    ),
    "type_prior": _type_prior,
    "sme": lambda f: {1: "an SME", 0: "not an SME", -1: "SME status unknown"}[int(f.snapshot.org_sme[f.org])],
    "coordinator_rate": lambda f: f"coordinated {f.value:.0%} of its partnerships",
}


def recommendation(
    stats: SnapshotStats,
    ctx: QueryContext,
    org: int,
    x: npt.NDArray[np.float64],
    baseline: float,
    parts: npt.NDArray[np.float64],
    *,
    estimator: Estimator,
    model: str,
) -> Recommendation:
    """The recommendation of organisation ``org`` from its feature row ``x`` and the model's attribution.

    ``baseline`` and ``parts`` (one value per feature) add up to the model's score, so the score is
    their sum and each contribution is that feature's exact share of it.
    """
    contributions = [Contribution("baseline", baseline, BASELINE_EVIDENCE[estimator])]
    contributions += [
        Contribution(name, float(parts[f]), EVIDENCE[name](FeatureValue(stats, ctx, org, float(x[f]))))
        for f, name in enumerate(FEATURES)
    ]
    return Recommendation(
        org_id=stats.snapshot.org_ids[org],
        score=float(sum(c.value for c in contributions)),
        contributions=tuple(contributions),
        model=model,
    )


__all__ = ["BASELINE_EVIDENCE", "EVIDENCE", "FeatureValue", "recommendation"]
