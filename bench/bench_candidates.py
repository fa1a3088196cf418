"""Benchmark: import the real CORDIS consortia, then time candidate queries.

Prints import throughput (rows/s), the encoder's raw texts/s measured in the same run (the
baseline the import's embedding throughput is compared with), and p50/p95 of 200 candidate
queries. Targets (issue 2): p95 < 50 ms at ~40k organisations on 2 cores; import embedding
throughput within 80% of the raw encoder.

    .venv/bin/python bench/bench_candidates.py [--data ../shared/data/consortia] [--encoder minilm]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from graph.embedded import EmbeddedStore
from pactmatch.importers import read_cordis
from pactmatch.service import PactmatchService


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/consortia"
    )
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--max-projects",
        type=int,
        default=0,
        help="import only the first N projects (0 = all; for quick runs)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pactmatch-bench-") as tmp:
        # No embedding cache: the import must really encode, or the throughput would be the cache's.
        service = PactmatchService(EmbeddedStore(Path(tmp) / "store"), encoder=args.encoder, cache=None)
        encoder = service.encoder

        t0 = time.perf_counter()
        projects, participants = args.data / "projects.csv", args.data / "participants.csv"
        if args.max_projects:
            projects, participants = _slice(projects, participants, args.max_projects, Path(tmp))
        batch = read_cordis(projects, participants)
        t_read = time.perf_counter() - t0
        rows = len(batch.partnerships) + len(batch.memberships) + len(batch.organisations)
        # The two phases of an import, timed apart: writing rows, then embedding changed texts.
        t0 = time.perf_counter()
        service.store.import_batch(batch.organisations, batch.partnerships, batch.memberships)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        stats = service.refresh_embeddings()
        t_embed = time.perf_counter() - t0
        assert service.refresh_embeddings().encoded == 0  # a second pass embeds nothing

        # Raw encoder baseline in the same process: a random sample of the very texts the import
        # embedded (organisation texts are much longer than project titles, so any other sample
        # would flatter or punish the import), encoded in the same batch size, no cache, no store.
        texts = service.embedding_texts(None, None)
        every = [t for kind in texts.values() for t in kind.values()]
        sample_texts = random.Random(3).sample(every, min(2000, len(every)))
        t0 = time.perf_counter()
        for i in range(0, len(sample_texts), 256):
            encoder.encode(sample_texts[i : i + 256])
        raw_tps = len(sample_texts) / (time.perf_counter() - t0)

        t0 = time.perf_counter()
        snapshot = service.snapshot()
        service.ranker()
        t_snapshot = time.perf_counter() - t0

        rng = random.Random(7)
        eligible = [p for j, p in enumerate(snapshot.partnership_ids) if len(snapshot.members_of(j)) >= 2]
        picks = rng.sample(eligible, min(args.queries, len(eligible)))
        times = []
        for pid in picks:
            t0 = time.perf_counter()
            service.candidates(pid, top_k=10)
            times.append((time.perf_counter() - t0) * 1000)

    print(f"encoder: {encoder.name}")
    print(
        f"organisations {snapshot.n_orgs:,}, partnerships {snapshot.n_partnerships:,}, memberships {snapshot.membership.nnz:,}"
    )
    print(
        f"read + validate CORDIS files: {t_read:.1f} s ({rows / t_read:,.0f} rows/s); rejected rows {len(batch.errors)}"
    )
    print(f"write to store: {t_write:.1f} s ({rows / t_write:,.0f} rows/s)")
    import_tps = stats.encoded / t_embed
    print(
        f"embed {stats.encoded:,} texts (compose, encode, store): {t_embed:.1f} s = {import_tps:,.0f} texts/s"
    )
    print(
        f"raw encoder baseline, same run: {raw_tps:,.0f} texts/s -> import at {import_tps / raw_tps:.0%} of raw (target >= 80%)"
    )
    print(f"snapshot load + fit: {t_snapshot:.2f} s")
    print(
        f"candidate queries ({len(times)}): p50 {np.percentile(times, 50):.1f} ms, p95 {np.percentile(times, 95):.1f} ms,"
        f" max {max(times):.1f} ms (target p95 < 50 ms)"
    )


def _slice(projects: Path, participants: Path, n: int, folder: Path) -> tuple[Path, Path]:
    """The first ``n`` projects and their participations, as CORDIS-format files in ``folder``."""
    import csv

    with projects.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [row for _, row in zip(range(n), reader, strict=False)]
        fields = list(reader.fieldnames or [])
    keep = {r["project_id"] for r in rows}
    out_p, out_q = folder / "projects.csv", folder / "participants.csv"
    with out_p.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    with (
        participants.open(encoding="utf-8", newline="") as src,
        out_q.open("w", encoding="utf-8", newline="") as dst,
    ):
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=list(reader.fieldnames or []))
        writer.writeheader()
        writer.writerows(r for r in reader if r["project_id"] in keep)
    return out_p, out_q


if __name__ == "__main__":
    main()
