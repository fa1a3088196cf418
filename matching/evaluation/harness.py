"""The hide-and-rank harness: run rankers on a temporal split and report comparable figures.

Protocol (docs/evaluation.md has the long form): fit on projects that start before the cut, test
on projects that start after it; each test project with 4+ members keeps half of them visible
(seeded), and every ranker ranks all organisations that are not visible members. The cold-start
slice asks only for the hidden members that had no earlier participation (the other hidden members
are taken out of the list, neither rewarded nor penalised).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.models import Membership, Organisation, Partnership
from matching.diversity import OVERFETCH, DiversityOptions, diversify
from matching.evaluation.baselines import IndexRanker
from matching.evaluation.data import Embed, Progress, case_query, history_snapshot
from matching.evaluation.metrics import (
    catalogue_coverage,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
    shares,
    total_variation,
)
from matching.evaluation.split import TemporalSplit, TestCase, hide_members, temporal_split
from matching.learned import LearnedRecommender
from matching.learned.context import query_context
from matching.learned.pools import candidate_pool
from matching.snapshot import NO_REGION, Snapshot
from matching.types import PartnershipQuery

LIST_LENGTH = 100  # MRR is computed over this many recommendations (MRR@100)
TARGET_RATIO = 1.3


@dataclass
class SliceMetrics:
    queries: int = 0
    recall_at_10: float = 0.0
    recall_at_50: float = 0.0
    ndcg_at_10: float = 0.0
    mrr: float = 0.0


@dataclass
class RankerResult:
    name: str
    kind: str  # "baseline" | "product"
    all: SliceMetrics
    cold: SliceMetrics
    coverage_top10: float
    sme_share_top10: float
    country_tvd_top10: float  # total variation distance of top-10 countries vs hidden members'
    country_shares_top10: dict[str, float]
    ms_p50: float
    ms_p95: float
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class EvaluationResult:
    setup: dict[str, Any]
    hidden_sme_share: float
    hidden_country_shares: dict[str, float]
    rankers: list[RankerResult]

    def best_baseline(self, slice_name: str = "all") -> RankerResult | None:
        base = [r for r in self.rankers if r.kind == "baseline"]
        return max(base, key=lambda r: getattr(r, slice_name).recall_at_10, default=None)

    def targets(self) -> list[dict[str, Any]]:
        """Issue targets per product ranker: Recall@10 ≥ 1.3× best baseline; cold slice beats all."""
        out = []
        best, best_cold = self.best_baseline("all"), self.best_baseline("cold")
        for r in self.rankers:
            if r.kind != "product" or best is None or best_cold is None:
                continue
            ratio = r.all.recall_at_10 / best.all.recall_at_10 if best.all.recall_at_10 else math.inf
            out.append({
                "ranker": r.name,
                "recall_at_10_vs_best_baseline": ratio,
                "best_baseline": best.name,
                "meets_1_3x": ratio >= TARGET_RATIO,
                "cold_recall_at_10": r.cold.recall_at_10,
                "best_cold_baseline": best_cold.name,
                "beats_every_baseline_cold": r.cold.recall_at_10 > best_cold.cold.recall_at_10,
            })  # fmt: skip
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "setup": self.setup,
            "hidden_sme_share": self.hidden_sme_share,
            "hidden_country_shares": self.hidden_country_shares,
            "rankers": [asdict(r) for r in self.rankers],
            "targets": self.targets(),
        }


class DiversifiedRanker:
    """A learned ranker followed by MMR / quota re-ranking (to report what diversity costs)."""

    def __init__(self, base: LearnedRecommender, options: DiversityOptions) -> None:
        self.base, self.options = base, options
        self.name = f"{base.name} + {options.label()}"

    def rank(self, query: PartnershipQuery, mask: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.int64]:
        pool, _, scores, _ = self.base.score_pool(query, mask)
        order = np.lexsort((pool, -scores))
        ranked, ranked_scores = pool[order], scores[order]
        # Re-rank the top 10 (what a user sees) out of 5× as many, or out of the whole pool when
        # quotas need organisations the model ranks lower; the tail keeps the model's order.
        quotas = self.options.min_sme_share > 0 or self.options.min_newcomer_share > 0
        head_n = len(ranked) if quotas else min(len(ranked), 10 * OVERFETCH)
        head = diversify(self.base.snapshot_, ranked[:head_n], ranked_scores[:head_n], 10, self.options)
        tail = ranked[~np.isin(ranked, head)]
        return np.concatenate([head, tail])[:k]


def case_indices(snapshot: Snapshot, ids: Sequence[str]) -> npt.NDArray[np.int64]:
    return np.array([snapshot.org_index[o] for o in ids], dtype=np.int64)


def evaluate_rankers(
    snapshot: Snapshot,
    split: TemporalSplit,
    rankers: Sequence[tuple[IndexRanker, str]],
    *,
    setup: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Run every ``(ranker, kind)`` on every test case of ``split`` and collect the metrics."""
    if not split.cases:
        raise ValueError("the split has no test cases (projects with 4+ members after the cut)")
    country_code = np.array(
        [snapshot.regions.codes[c] if c != NO_REGION else "??" for c in snapshot.org_regions[:, 0]],
        dtype=object,
    )
    queries = [case_query(snapshot, c) for c in split.cases]
    hidden = [case_indices(snapshot, c.hidden) for c in split.cases]
    cold = [case_indices(snapshot, c.cold_hidden) for c in split.cases]
    all_hidden = np.concatenate(hidden)
    hidden_sme = float(np.mean(snapshot.org_sme[all_hidden] == 1))
    hidden_countries = shares(country_code[all_hidden])
    results = []
    for ranker, kind in rankers:
        full, cold_slice = _Acc(), _Acc()
        top10: list[npt.NDArray[np.int64]] = []
        times = []
        for done, (query, hid, new) in enumerate(zip(queries, hidden, cold, strict=True), 1):
            mask = np.ones(snapshot.n_orgs, dtype=bool)
            mask[query.member_indices] = False
            t0 = time.perf_counter()
            ranked = ranker.rank(query, mask, LIST_LENGTH + len(hid))
            times.append(time.perf_counter() - t0)
            shown = ranked[:LIST_LENGTH]
            full.add(shown, hid)
            top10.append(shown[:10])
            if len(new):
                warm = np.setdiff1d(hid, new)
                cold_slice.add(ranked[~np.isin(ranked, warm)][:LIST_LENGTH], new)
            if progress and (done % 25 == 0 or done == len(queries)):
                progress(f"rank: {ranker.name}", done, len(queries))
        flat = np.concatenate(top10) if top10 else np.zeros(0, dtype=np.int64)
        top_countries = shares(country_code[flat])
        extra = {}
        if isinstance(ranker, LearnedRecommender):
            extra["pool_recall"] = _pool_recall(ranker, queries, hidden, snapshot.n_orgs)
        results.append(
            RankerResult(
                name=ranker.name,
                kind=kind,
                all=full.result(),
                cold=cold_slice.result(),
                coverage_top10=catalogue_coverage(top10, snapshot.n_orgs),
                sme_share_top10=float(np.mean(snapshot.org_sme[flat] == 1)) if len(flat) else 0.0,
                country_tvd_top10=total_variation(top_countries, hidden_countries),
                country_shares_top10=top_countries,
                ms_p50=1000 * float(np.percentile(times, 50)),
                ms_p95=1000 * float(np.percentile(times, 95)),
                extra=extra,
            )
        )
    info = dict(setup or {})
    info.update({
        "cut": split.cut.isoformat(), "end": split.end.isoformat() if split.end else None,
        "test_projects": len(split.cases), "cold_start_projects": len(split.cold_cases),
        "hidden_members": len(all_hidden), "cold_hidden_members": int(sum(len(c) for c in cold)),
        "catalogue": snapshot.n_orgs, "history_partnerships": len(split.history), "left_out": split.left_out,
        "list_length": LIST_LENGTH,
    })  # fmt: skip
    return EvaluationResult(info, hidden_sme, hidden_countries, results)


@dataclass
class _Acc:
    r10: list[float] = field(default_factory=list)
    r50: list[float] = field(default_factory=list)
    ndcg: list[float] = field(default_factory=list)
    rr: list[float] = field(default_factory=list)

    def add(self, ranked: npt.NDArray[np.int64], relevant: npt.NDArray[np.int64]) -> None:
        items, rel = ranked.tolist(), set(relevant.tolist())
        self.r10.append(recall_at_k(items, rel, 10))
        self.r50.append(recall_at_k(items, rel, 50))
        self.ndcg.append(ndcg_at_k(items, rel, 10))
        self.rr.append(reciprocal_rank(items, rel))

    def result(self) -> SliceMetrics:
        if not self.r10:
            return SliceMetrics()
        return SliceMetrics(
            len(self.r10),
            float(np.mean(self.r10)),
            float(np.mean(self.r50)),
            float(np.mean(self.ndcg)),
            float(np.mean(self.rr)),
        )


def _pool_recall(
    ranker: LearnedRecommender,
    queries: Sequence[PartnershipQuery],
    hidden: Sequence[npt.NDArray[np.int64]],
    n: int,
) -> float:
    """Share of hidden members that candidate generation lets the model see at all (its ceiling)."""
    found = total = 0
    for query, hid in zip(queries, hidden, strict=True):
        mask = np.ones(n, dtype=bool)
        mask[query.member_indices] = False
        pool = candidate_pool(ranker.stats_, query_context(ranker.stats_, query), mask, ranker.pool)
        found += int(np.isin(hid, pool).sum())
        total += len(hid)
    return found / total if total else 0.0


def fit_learned_ranker(
    orgs: Sequence[Organisation],
    partnerships: Sequence[Partnership],
    memberships: Sequence[Membership],
    *,
    fit_cut: date,
    end: date | None,
    embed: Embed,
    model: str,
    incomplete: frozenset[str] = frozenset(),
    seed: int = 0,
    max_cases: int | None = 3000,
    hidings: int = 3,
    ranker: LearnedRecommender | None = None,
    progress: Progress | None = None,
) -> LearnedRecommender:
    """Fit the learned ranker on hide-and-rank examples from partnerships in ``[fit_cut, end)``.

    The history it learns from is everything before ``fit_cut``, texts included, so the examples
    look exactly like test cases do later. Each partnership is hidden ``hidings`` ways (seeds
    ``seed``, ``seed + 1``, ...): more joiner/non-joiner contrasts from the same history, which
    helped on the validation year (docs/evaluation.md).
    """
    split = temporal_split(
        partnerships, memberships, fit_cut, end=end, seed=seed, incomplete=incomplete, max_cases=max_cases
    )
    if not split.cases:
        raise ValueError(f"no partnership with 4+ members starts in [{fit_cut}, {end}) to learn from")
    snapshot = history_snapshot(orgs, partnerships, memberships, split, embed, model=model, progress=progress)
    cases = [*split.cases]
    for extra in range(1, hidings):
        cases += [rehide(c, seed + extra) for c in split.cases]
    examples = [(case_query(snapshot, c), case_indices(snapshot, c.hidden)) for c in cases]
    ranker = ranker or LearnedRecommender(seed=seed)
    on_fit: Callable[[int, int], None] | None = (
        (lambda d, t: progress("fit examples", d, t)) if progress else None
    )
    ranker.fit(snapshot, examples, progress=on_fit)
    ranker.meta_ = {
        "encoder_model": model,
        "fit_cut": fit_cut.isoformat(),
        "examples_until": end.isoformat() if end else None,
        "history_partnerships": len(split.history),
        "example_partnerships": len(split.cases),
        "hidings": hidings,
    }
    return ranker


def rehide(case: TestCase, seed: int) -> TestCase:
    """The same partnership with its members hidden another (seeded) way."""
    visible, hidden = hide_members(case.partnership_id, case.visible + case.hidden, seed)
    return TestCase(case.partnership_id, case.start, visible, hidden)
