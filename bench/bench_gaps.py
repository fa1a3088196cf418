"""Benchmark: gap reports (and optionally synergies) over every real CORDIS partnership.

Imports ``../shared/data/consortia`` into a temporary embedded store with the hashing encoder (or the
one given), then runs the batch exactly as ``pactmatch gaps --all --format json --out FILE`` does:
gap analysis, candidates for every gap from the service's ranker, and the JSON written to disk.
Prints per-partnership milliseconds and totals. Target (issue 5): the whole batch in under 10
minutes on 2 cores.

Baseline, measured in the same run: the same reports for a sample of partnerships through a
ranker that answers one query × filter at a time (what a ranker without ``recommend_batch`` gets),
extrapolated to all partnerships, so the batched path's speed-up is visible.

    .venv/bin/python bench/bench_gaps.py [--data ../shared/data/consortia] [--encoder hashing]
        [--candidates-per-gap 5] [--synergies] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from domain.accounts import Actor
from domain.candidates import CandidateFilters
from embeddings import EmbeddingCache
from graph.embedded import EmbeddedStore
from matching.gaps import GapMapper
from matching.target_mix import default_target_mix
from matching.types import PartnershipQuery, Recommendation
from pactmatch.importers import read_cordis
from pactmatch.mapping import MappingService
from pactmatch.reports import ReportMeta, gap_report_public, synergy_pair_public, write_gaps, write_synergies
from pactmatch.service import PactmatchService, Ranker


class OneAtATime:
    """The service's ranker, hiding ``recommend_batch``: one full scoring pass per query × filter."""

    def __init__(self, inner: Ranker) -> None:
        self.inner = inner
        self.name = inner.name

    def recommend(
        self, query: PartnershipQuery, top_k: int = 10, filters: CandidateFilters | None = None
    ) -> list[Recommendation]:
        return self.inner.recommend(query, top_k, filters)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/consortia"
    )
    parser.add_argument("--encoder", default="hashing")
    parser.add_argument("--candidates-per-gap", type=int, default=5)
    parser.add_argument("--baseline-sample", type=int, default=300)
    parser.add_argument("--limit", type=int, default=None, help="only the first N partnerships (quick runs)")
    parser.add_argument("--synergies", action="store_true", help="also time synergies over every partnership")
    parser.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (default: none)")
    args = parser.parse_args()

    print(f"cpu cores visible: {os.cpu_count()}, encoder: {args.encoder}")
    with tempfile.TemporaryDirectory(prefix="pactmatch-bench-gaps-") as tmp:
        cache = EmbeddingCache(args.cache_dir / "embeddings.sqlite") if args.cache_dir else None
        service = PactmatchService(EmbeddedStore(Path(tmp) / "store"), encoder=args.encoder, cache=cache)
        t0 = time.perf_counter()
        batch = read_cordis(args.data / "projects.csv", args.data / "participants.csv")
        report = service.import_batch(batch, "CORDIS consortia", actor=Actor.cli("bench"))
        t_import = time.perf_counter() - t0
        counts = service.store.counts()
        print(
            f"import: {counts.organisations:,} organisations, {counts.partnerships:,} partnerships, "
            f"{counts.memberships:,} memberships, {report.embedded:,} texts embedded in {t_import:.1f} s"
        )

        mapping = MappingService(service)
        t0 = time.perf_counter()
        snapshot = service.snapshot()
        ranker = service.ranker()
        t_snapshot = time.perf_counter() - t0
        ids = snapshot.partnership_ids[: args.limit] if args.limit else snapshot.partnership_ids
        n = len(ids)

        # -- the batch, as the CLI runs it ------------------------------------------------------
        out = Path(tmp) / "gaps.json"
        categories: Counter[str] = Counter()
        with_gaps = 0
        t0 = time.perf_counter()
        reports = mapping.gap_reports(ids, candidates_per_gap=args.candidates_per_gap)

        def counted():  # type: ignore[no-untyped-def]
            nonlocal with_gaps
            for r in reports:
                with_gaps += bool(r.gaps)
                categories.update(g.category for g in r.gaps)
                yield gap_report_public(r)

        with out.open("w", encoding="utf-8") as fh:
            written = write_gaps(counted(), "json", fh, ReportMeta("bench"))
        t_batch = time.perf_counter() - t0
        size_mb = out.stat().st_size / 1e6

        # -- baseline: one query × filter at a time, on a sample ----------------------------------
        sample = ids[:: max(1, n // args.baseline_sample)][: args.baseline_sample]
        slow = GapMapper(default_target_mix(), candidates_per_gap=args.candidates_per_gap).fit(
            snapshot, OneAtATime(ranker)
        )
        t0 = time.perf_counter()
        for _ in slow.reports(sample):
            pass
        t_base = time.perf_counter() - t0
        fast = GapMapper(default_target_mix(), candidates_per_gap=args.candidates_per_gap).fit(
            snapshot, ranker
        )
        t0 = time.perf_counter()
        for _ in fast.reports(sample):
            pass
        t_fast_sample = time.perf_counter() - t0

        print(f"snapshot + ranker: {t_snapshot:.1f} s (ranker {ranker.name})")
        print(
            f"gap batch: {written:,} partnerships in {t_batch:.1f} s = {1000 * t_batch / max(1, written):.2f} ms per "
            f"partnership (analysis, {args.candidates_per_gap} candidates per gap, JSON {size_mb:.0f} MB written)"
        )
        print(f"  partnerships with gaps: {with_gaps:,}; gaps: {dict(categories)}")
        print(
            f"  baseline (one query × filter at a time) on {len(sample)} partnerships: "
            f"{1000 * t_base / len(sample):.2f} ms per partnership vs batched {1000 * t_fast_sample / len(sample):.2f} ms "
            f"(×{t_base / max(t_fast_sample, 1e-9):.1f}); extrapolated to all: {t_base / len(sample) * n / 60:.1f} min "
            f"vs {t_batch / 60:.1f} min measured"
        )
        verdict = "PASS" if t_batch < 600 else "FAIL"
        print(f"target: batch over all partnerships < 10 min on 2 cores: {t_batch / 60:.2f} min → {verdict}")

        if args.synergies:
            t0 = time.perf_counter()
            pairs = (synergy_pair_public(p) for p in mapping.all_synergies(top_k=5, recruits_per_pair=0))
            with (Path(tmp) / "synergies.csv").open("w", encoding="utf-8", newline="") as fh:
                n_pairs = write_synergies(pairs, "csv", fh, ReportMeta("bench"))
            t_syn = time.perf_counter() - t0
            print(
                f"synergies: {n_pairs:,} pairs (top 5 per partnership, each pair once) in {t_syn:.1f} s = "
                f"{1000 * t_syn / snapshot.n_partnerships:.2f} ms per partnership (fit, scoring, explanations, CSV)"
            )


if __name__ == "__main__":
    main()
