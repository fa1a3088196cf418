"""Latency of one candidate query, heuristic vs learned ranker, at 40k organisations.

One query = what ``GET /partnerships/{id}/candidates`` does after the snapshot is cached: compute the
features, rank, and build the top-10 explanations. Both rankers answer the same test-project
queries (visible members + project text) on the same snapshot; p50/p95 are printed side by side,
with the machine's load average, because a busy shared machine moves these numbers a lot.

    .venv/bin/python bench/bench_ranker.py                 # real CORDIS data padded to 40k organisations
    .venv/bin/python bench/bench_ranker.py --synthetic     # no data needed
    .venv/bin/python bench/bench_ranker.py --orgs 80000 --queries 500

Vectors come from the hashing encoder at 384 dimensions (the size of the default minilm vectors), so
the run needs no model download and embeds in seconds; latency depends on the dimension, not on
what the vectors mean. Target from the issue: p95 ≤ 50 ms at 40k organisations on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.models import Organisation, StakeholderType
from embeddings import make_encoder
from matching.blas import single_threaded_blas
from matching.evaluation.data import case_query, history_snapshot
from matching.evaluation.harness import fit_learned_ranker
from matching.evaluation.split import temporal_split
from matching.evaluation.synthetic import synthetic_consortia
from matching.learned.context import query_context
from matching.learned.pools import candidate_pool
from matching.recommender import HeuristicRecommender

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "consortia"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--orgs", type=int, default=40_000, help="pad the catalogue to this many organisations"
    )
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--synthetic", action="store_true", help="synthetic consortia instead of CORDIS")
    parser.add_argument("--fit-cases", type=int, default=400, help="training examples for the learned ranker")
    args = parser.parse_args()

    encoder = make_encoder("hashing-384")
    t0 = time.perf_counter()
    if args.synthetic or not (DATA / "projects.csv").exists():
        data = synthetic_consortia(args.orgs, args.orgs * 3 // 4, seed=0)
        orgs, partnerships, memberships = data.organisations, data.partnerships, data.memberships
        source = "synthetic consortia"
    else:
        from pactmatch.importers import read_cordis

        batch = read_cordis(DATA / "projects.csv", DATA / "participants.csv")
        orgs, partnerships, memberships = batch.organisations, batch.partnerships, batch.memberships
        source = "CORDIS"
    if len(orgs) < args.orgs:  # pad with organisations that have no partnership yet
        orgs = [
            *orgs,
            *(
                Organisation(
                    org_id=f"pad-{i}",
                    name=f"Padding organisation {i} for scale",
                    stakeholder_type=StakeholderType.SME,
                    country="DE",
                )
                for i in range(args.orgs - len(orgs))
            ),
        ]
    print(f"{source}: {len(orgs)} organisations, {len(partnerships)} partnerships, {len(memberships)} memberships "
          f"({time.perf_counter() - t0:.0f} s to load)")  # fmt: skip

    def embed(texts: object) -> np.ndarray:
        return encoder.encode(list(texts))  # type: ignore[call-overload]

    cut = date(2018, 1, 1)
    learned = fit_learned_ranker(
        orgs, partnerships, memberships, fit_cut=date(2017, 1, 1), end=cut, embed=embed, model=encoder.name,
        max_cases=args.fit_cases,
    )  # fmt: skip
    split = temporal_split(partnerships, memberships, cut, max_cases=args.queries)
    snapshot = history_snapshot(orgs, partnerships, memberships, split, embed, model=encoder.name)
    heuristic = HeuristicRecommender().fit(snapshot)
    learned = learned.bind(snapshot)
    queries = [case_query(snapshot, c) for c in split.cases]
    print(f"snapshot: {snapshot.n_orgs} organisations × {snapshot.org_vectors.shape[1]}-d vectors; "
          f"{len(queries)} test-project queries; {os.cpu_count()} CPU cores")  # fmt: skip

    # Both rankers on single-threaded BLAS: per-query products are small, and OpenBLAS threads left
    # spinning after one ranker's call would slow the next (a server answering concurrent requests
    # wants one thread per request anyway).
    results: dict[str, list[float]] = {heuristic.name: [], learned.name: []}
    with single_threaded_blas():
        for q in queries[:10]:  # warm caches and code paths
            heuristic.recommend(q, top_k=10)
            learned.recommend(q, top_k=10)
        load_before = os.getloadavg()[0]
        for q in queries:  # interleaved, so both see the same machine load
            t = time.perf_counter()
            heuristic.recommend(q, top_k=10)
            results[heuristic.name].append(time.perf_counter() - t)
            t = time.perf_counter()
            learned.recommend(q, top_k=10)
            results[learned.name].append(time.perf_counter() - t)
        load_after = os.getloadavg()[0]
    pool_sizes = []
    for q in queries:
        mask = np.ones(snapshot.n_orgs, dtype=bool)
        mask[q.member_indices] = False
        pool_sizes.append(
            len(candidate_pool(learned.stats_, query_context(learned.stats_, q), mask, learned.pool))
        )

    print(f"\none candidate query (features + ranking + top-10 explanations), {len(queries)} queries")
    print(f"{'ranker':<22}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, times in results.items():
        ms = np.array(times) * 1000
        print(f"{name:<22}{np.percentile(ms, 50):>10.1f}{np.percentile(ms, 95):>10.1f}{ms.max():>10.1f}")
    p95 = float(np.percentile(np.array(results[learned.name]) * 1000, 95))
    print(
        f"learned candidate pool: median {int(np.median(pool_sizes))} of {snapshot.n_orgs} organisations scored"
    )
    print(f"target p95 ≤ 50 ms: {'met' if p95 <= 50 else 'NOT met'} ({p95:.1f} ms); "
          f"load average {load_before:.1f} → {load_after:.1f} on {os.cpu_count()} cores")  # fmt: skip


if __name__ == "__main__":
    main()
