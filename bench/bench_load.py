"""Benchmark: candidate reads under load, with and without a writer, against real servers.

On a full CORDIS import (embedded store, hashing encoder) two ``pactmatch serve`` processes
share the store, as two API worker processes do. 50 readers ask for candidate lists of random
partnerships (half of them of each server) for 60 s; then the same again while one writer makes
5 writes/s through the first server: it adds a partnership's best candidate as a member, and
removes it again the next time round, so every write changes what a candidate list shows. After
each write the writer reads that list from both servers:

* the first server (the one written through) must show the write on the very next read: a write
  returns once its own process serves it;
* the second learns of the write only through the store's version, and applies it in the
  background; the writer reads there until the list shows it. Reported: how long after the write
  returned the first read that showed it was sent (reads are answered from the view the server
  holds when they arrive, so that is the staleness a client sees, plus that read's queueing), and
  how many next reads already showed it.

Printed: requests and errors (target 0), read p50/p95 read-only vs with the writer (target: with
the writer within 2× of read-only), write latency, and the write-to-visible figures above
(target ≤ 100 ms). The machine's load average is printed with them: on the shared 2-core build
machine other work moves the figures.

Why an asyncio client on httpx rather than a load tool such as locust: httpx is already the test
client's dependency, one event loop drives 50 readers and a writer whose reads must be timed
against its writes (locust's users are independent and its percentiles are bucketed), and the
client costs little of the two cores the servers need.

    .venv/bin/python bench/bench_load.py [--data ../shared/data/consortia] [--store DIR]
        [--readers 50] [--seconds 60] [--writes-per-second 5] [--servers 2]

``--store DIR`` keeps the imported store in DIR and reuses it on the next run (the import takes
a minute or two here); without it a temporary directory is used.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import socket
import subprocess  # nosec B404  (reviewed: runs this interpreter with fixed arguments)
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from graph.embedded import EmbeddedStore
from pactmatch.importers import read_cordis
from pactmatch.service import PactmatchService

ROOT = Path(__file__).resolve().parents[1]
ENCODER = "hashing"
ADMIN = "bench-admin"
QUIET_SECONDS = 15.0
CHECK_TOP_K = 50


@dataclass
class Tally:
    """Latencies (ms) and failures of one kind of request in one phase."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def line(self, name: str, seconds: float) -> str:
        if not self.latencies:
            return f"{name}: no answers; errors {dict(self.errors)}"
        p50, p95 = np.percentile(self.latencies, [50, 95])
        return (
            f"{name}: {len(self.latencies):,} answers ({len(self.latencies) / seconds:.1f}/s), "
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(self.latencies):.0f} ms; "
            f"errors {sum(self.errors.values())}{' ' + str(dict(self.errors)) if self.errors else ''}"
        )


@dataclass
class WriterTally:
    writes: Tally = field(default_factory=Tally)
    same_next_read_saw: int = 0
    #: Writes the next read on the same server did not show, by kind ("joined", "left"), and how
    #: many of them a second read showed (a broken promise, not a ranking that moved, if it did).
    same_missed: Counter[str] = field(default_factory=Counter)
    same_second_read_saw: int = 0
    other_next_read_saw: int = 0
    other_visible_ms: list[float] = field(default_factory=list)
    never_visible: int = 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/consortia")
    parser.add_argument("--store", type=Path, help="keep (and reuse) the imported store here")
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--writes-per-second", type=float, default=5.0)
    parser.add_argument("--servers", type=int, default=2, help="server processes sharing the store")
    args = parser.parse_args()

    with ExitStack() as stack:
        folder = args.store or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="pactmatch-load-"))
        )
        store_dir = folder / "store"
        pids = prepare_store(store_dir, args.data)
        key = make_admin_key(store_dir)
        ports = [free_port() for _ in range(args.servers)]
        for port in ports:
            stack.enter_context(server(store_dir, port, folder / f"server-{port}.log"))
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        asyncio.run(run(urls, key, pids, args))


def prepare_store(store_dir: Path, data: Path) -> list[str]:
    """Import CORDIS into ``store_dir`` unless it holds it already; the partnerships to query
    (those with at least two members, as bench_candidates.py queries)."""
    store = EmbeddedStore(store_dir)
    try:
        if not store.counts().partnerships:
            started = time.perf_counter()
            service = PactmatchService(store, encoder=ENCODER, cache=None)
            batch = read_cordis(data / "projects.csv", data / "participants.csv")
            store.import_batch(batch.organisations, batch.partnerships, batch.memberships)
            service.refresh_embeddings()
            print(f"imported CORDIS in {time.perf_counter() - started:.0f} s")
        sizes = Counter(m.partnership_id for m in store.iter_memberships())
        counts = store.counts()
        print(
            f"store: {counts.organisations:,} organisations, {counts.partnerships:,} partnerships, "
            f"{counts.memberships:,} memberships ({ENCODER} encoder)"
        )
    finally:
        store.close()
    return sorted(pid for pid, n in sizes.items() if n >= 2)


def cli(store_dir: Path, *args: str, stdin: str = "") -> str:
    """``pactmatch ARGS --store STORE_DIR`` with this interpreter; its standard output."""
    done = subprocess.run(  # nosec B603  (reviewed: this interpreter, fixed arguments)
        [sys.executable, "-m", "pactmatch.cli", *args, "--store", str(store_dir)],
        input=stdin, capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    return done.stdout


def make_admin_key(store_dir: Path) -> str:
    """An admin and an API key made through the CLI, as an operator would (the key is alone on
    the last line the command prints)."""
    users = cli(store_dir, "user", "list")
    if ADMIN not in users:
        cli(
            store_dir,
            "user",
            "add",
            ADMIN,
            "--role",
            "admin",
            "--password-stdin",
            stdin=secrets.token_urlsafe(16) + "\n",
        )
    return cli(store_dir, "key", "create", "--user", ADMIN, "--label", "bench_load").strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(store_dir: Path, port: int, log: Path) -> Iterator[None]:
    """``pactmatch serve`` on ``port`` (stopped, and its log kept, at the end)."""
    env = {**os.environ, "PACTMATCH_CACHE_DIR": str(store_dir.parent / "cache")}
    with log.open("w") as out:
        process = subprocess.Popen(  # nosec B603  (reviewed: this interpreter, fixed arguments)
            [sys.executable, "-m", "pactmatch.cli", "serve", "--port", str(port), "--store", str(store_dir),
             "--encoder", ENCODER],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield
    finally:
        process.terminate()
        process.wait(30)


async def run(urls: list[str], key: str, pids: list[str], args: argparse.Namespace) -> None:
    # Connections idle for 2 s are dropped before uvicorn closes them at 5 s: a request sent on a
    # connection the server is closing fails in the client, not in the server.
    limits = httpx.Limits(
        max_connections=args.readers + 20, max_keepalive_connections=args.readers + 20, keepalive_expiry=2
    )
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=120) as client:
        started = time.perf_counter()
        for url in urls:  # each server builds its snapshot on its first read
            await wait_until_up(client, url)
            (await client.get(f"{url}/partnerships/{pids[0]}/candidates")).raise_for_status()
        print(f"servers up and their first snapshots built in {time.perf_counter() - started:.0f} s")
        rng = random.Random(7)
        targets = await pick_targets(client, urls[0], rng.sample(pids, 60))
        await phase(client, urls, pids, args.readers, 10.0, None, rng)  # warm-up, not reported

        load = [os.getloadavg()]
        read_only = await phase(client, urls, pids, args.readers, args.seconds, None, rng)
        load.append(os.getloadavg())
        writer = WriterTally()
        with_writer = await phase(
            client, urls, pids, args.readers, args.seconds, (targets, args.writes_per_second, writer), rng
        )
        load.append(os.getloadavg())
        alone = WriterTally()  # the same writes with no readers queueing before the checks' reads
        await phase(client, urls, pids, 0, QUIET_SECONDS, (targets, args.writes_per_second, alone), rng)

    report(args, len(urls), read_only, with_writer, writer, load)
    print(f"\nthe writer alone for {QUIET_SECONDS:.0f} s (no readers queueing before its checks):")
    print(alone.writes.line("writes", QUIET_SECONDS))
    visibility(alone, len(urls))


async def wait_until_up(client: httpx.AsyncClient, url: str) -> None:
    deadline = time.perf_counter() + 300
    while True:
        try:
            if (await client.get(f"{url}/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.perf_counter() > deadline:
            raise SystemExit(f"the server at {url} did not start (see its log)")
        await asyncio.sleep(0.5)


async def candidate_ids(client: httpx.AsyncClient, url: str, pid: str, top_k: int = 10) -> list[str]:
    response = await client.get(f"{url}/partnerships/{pid}/candidates", params={"top_k": top_k})
    response.raise_for_status()
    return [item["org_id"] for item in response.json()["items"]]


async def pick_targets(client: httpx.AsyncClient, url: str, pids: list[str]) -> list[tuple[str, str]]:
    """(partnership, its best candidate) pairs, no organisation twice: adding the candidate as a
    member takes it off the list, removing it again puts it back (near the top: its text, and so
    its vector, return with it; the checks read the top 50, so the other writes' small effects on
    its score do not matter)."""
    targets: dict[str, str] = {}
    for pid in pids:
        best = next((o for o in await candidate_ids(client, url, pid) if o not in targets), None)
        if best is not None:
            targets[best] = pid
    return [(pid, org_id) for org_id, pid in targets.items()]


async def phase(
    client: httpx.AsyncClient,
    urls: list[str],
    pids: list[str],
    readers: int,
    seconds: float,
    writing: tuple[list[tuple[str, str]], float, WriterTally] | None,
    rng: random.Random,
) -> Tally:
    """``readers`` readers (spread over the servers) for ``seconds``, and the writer if given."""
    tally = Tally()
    stop_at = time.perf_counter() + seconds

    async def reader(url: str, seed: float) -> None:
        own = random.Random(seed)
        while time.perf_counter() < stop_at:
            pid = own.choice(pids)
            t0 = time.perf_counter()
            try:
                response = await client.get(f"{url}/partnerships/{pid}/candidates", params={"top_k": 10})
            except httpx.HTTPError as exc:
                tally.errors[type(exc).__name__] += 1
                continue
            if response.status_code == 200:
                tally.latencies.append((time.perf_counter() - t0) * 1000)
            else:
                tally.errors[str(response.status_code)] += 1

    tasks = [reader(urls[i % len(urls)], rng.random()) for i in range(readers)]
    if writing is not None:
        tasks.append(write(client, urls, *writing, stop_at))
    await asyncio.gather(*tasks)
    return tally


async def write(
    client: httpx.AsyncClient,
    urls: list[str],
    targets: list[tuple[str, str]],
    rate: float,
    tally: WriterTally,
    stop_at: float,
) -> None:
    """Writes at ``rate`` per second through the first server, each followed by its visibility
    checks (in tasks of their own, so that slow reads do not slow the writes down)."""
    joined: set[tuple[str, str]] = set()
    checks: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    for n in range(int((stop_at - start) * rate)):
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
        target = targets[n % len(targets)]
        pid, org_id = target
        joining = target not in joined
        url = f"{urls[0]}/partnerships/{pid}/members/{org_id}"
        t0 = time.perf_counter()
        try:
            response = await (client.put(url, json={"role": "member"}) if joining else client.delete(url))
        except httpx.HTTPError as exc:
            tally.writes.errors[type(exc).__name__] += 1
            continue
        written = time.perf_counter()
        if response.status_code not in (200, 201, 204):
            tally.writes.errors[str(response.status_code)] += 1
            continue
        tally.writes.latencies.append((written - t0) * 1000)
        joined.symmetric_difference_update({target})
        checks.append(asyncio.create_task(check(client, urls, pid, org_id, joining, written, tally)))
    await asyncio.gather(*checks)
    for pid, org_id in joined:  # leave the store as it was
        (await client.delete(f"{urls[0]}/partnerships/{pid}/members/{org_id}")).raise_for_status()


async def check(
    client: httpx.AsyncClient,
    urls: list[str],
    pid: str,
    org_id: str,
    joined: bool,
    written: float,
    tally: WriterTally,
) -> None:
    """The next read on the server written through must show the write; on another server, read
    until it does (for at most 10 s)."""

    async def shows(url: str) -> bool:
        try:
            return (org_id not in await candidate_ids(client, url, pid, CHECK_TOP_K)) == joined
        except httpx.HTTPError as exc:
            tally.writes.errors[f"read after write: {type(exc).__name__}"] += 1
            return False

    async def same() -> None:
        if await shows(urls[0]):
            tally.same_next_read_saw += 1
        else:
            tally.same_missed["joined" if joined else "left"] += 1
            tally.same_second_read_saw += await shows(urls[0])

    async def other() -> None:
        first = True
        while True:
            sent = time.perf_counter()
            if await shows(urls[1]):
                tally.other_visible_ms.append((sent - written) * 1000)
                tally.other_next_read_saw += first
                return
            if sent - written > 10:
                tally.never_visible += 1
                return
            first = False
            await asyncio.sleep(0.005)

    await asyncio.gather(same(), *([other()] if len(urls) > 1 else []))


def report(
    args: argparse.Namespace,
    servers: int,
    read_only: Tally,
    with_writer: Tally,
    writer: WriterTally,
    load: list[tuple[float, float, float]],
) -> None:
    seconds = args.seconds
    print(
        f"\n{args.readers} readers for {seconds:.0f} s per phase, {servers} server process(es) on one store"
    )
    print(read_only.line("read-only        reads", seconds))
    print(with_writer.line("with the writer  reads", seconds))
    print(writer.writes.line(f"the writer ({args.writes_per_second:g}/s) writes", seconds))
    if read_only.latencies and with_writer.latencies:
        ratio = np.percentile(with_writer.latencies, 95) / np.percentile(read_only.latencies, 95)
        print(f"read p95 with the writer / read-only: {ratio:.2f}x (target <= 2x)")
    errors = sum(sum(t.errors.values()) for t in (read_only, with_writer, writer.writes))
    print(f"errors: {errors} (target 0)")
    visibility(writer, servers)
    print("load average (1, 5, 15 min) at the start, between the phases and at the end: " + "; ".join(
        ", ".join(f"{x:.2f}" for x in triple) for triple in load
    ))  # fmt: skip


def visibility(writer: WriterTally, servers: int) -> None:
    writes = len(writer.writes.latencies)
    print(
        f"write -> next read on the same server showed it: {writer.same_next_read_saw}/{writes} "
        "(a write returns once its own process serves it)"
    )
    if writer.same_missed:
        print(
            f"  not shown there: {dict(writer.same_missed)}; "
            f"a second read showed {writer.same_second_read_saw} of them"
        )
    if servers > 1 and writer.other_visible_ms:
        p50, p95 = np.percentile(writer.other_visible_ms, [50, 95])
        print(
            f"write -> first read on the other server that showed it was sent, after the write returned: "
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(writer.other_visible_ms):.0f} ms (target <= 100 ms); "
            f"the next read there already showed it: {writer.other_next_read_saw}/{writes}; "
            f"not within 10 s: {writer.never_visible}"
        )


if __name__ == "__main__":
    main()
