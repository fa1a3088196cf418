"""Jobs survive the server: a real ``pactmatch serve`` process is killed or stopped during a job.

Each test copies one generated store (3,000 partnerships: a batch of gap reports takes seconds, so
the job is caught mid-run), serves it from a subprocess with a private temporary directory and
``PACTMATCH_JOB_STALE_SECONDS=2``, and talks to it over HTTP with admins' API keys.
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.accounts import Grant, Role, User
from domain.models import Membership, Organisation, Partnership
from embeddings import EmbeddingCache
from graph.embedded import EmbeddedStore
from pactmatch.accounts import AccountService
from pactmatch.importers.report import ParsedBatch
from pactmatch.service import PactmatchService
from tests.conftest import TEST_ACTOR

ROOT = Path(__file__).resolve().parents[2]
PARTNERSHIPS = 3000
ADMINS = 25
WORDS = [
    "welding",
    "battery",
    "skills",
    "digital",
    "training",
    "apprentices",
    "energy",
    "hydrogen",
    "textiles",
    "tourism",
    "care",
]
TYPES = ["sme", "large_employer", "vet_provider", "higher_education", "research_organisation"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A closed store with 3,000 partnerships, 6,000 organisations and 25 admins; (its path, their keys)."""
    root = tmp_path_factory.mktemp("crash-data")
    rng = random.Random(19)
    orgs = [
        Organisation(
            org_id=f"o{i}",
            name=f"Organisation {i}",
            stakeholder_type=rng.choice(TYPES),  # type: ignore[arg-type]
            country=rng.choice(["DE", "FR", "IT", "NL"]),
            description=" ".join(rng.choices(WORDS, k=12)),
        )
        for i in range(2 * PARTNERSHIPS)
    ]
    partnerships = [
        Partnership(
            partnership_id=f"p{j}", name=f"Partnership {j}", description=" ".join(rng.choices(WORDS, k=20))
        )
        for j in range(PARTNERSHIPS)
    ]
    pairs = {(f"o{rng.randrange(len(orgs))}", f"p{j}") for j in range(PARTNERSHIPS) for _ in range(5)}
    memberships = [Membership(org_id=o, partnership_id=p) for o, p in sorted(pairs)]
    store = EmbeddedStore(root / "store")
    service = PactmatchService(store, encoder="hashing", cache=EmbeddingCache(root / "cache.sqlite"))
    service.import_batch(ParsedBatch(orgs, partnerships, memberships), "generated", actor=TEST_ACTOR)
    accounts = AccountService(store)
    keys = []
    now = datetime.now(UTC)
    for i in range(ADMINS):  # keys only: no password to sign in with (nor to hash, which is slow)
        admin = User(
            name=f"crash-admin-{i}",
            password_hash="-",
            grants=(Grant(role=Role.ADMIN),),
            created_at=now,
            password_changed_at=now,
        )
        store.put_user(admin)
        keys.append(accounts.create_key(admin.name, "crash tests", TEST_ACTOR)[1])
    store.close()
    return root / "store", keys


class Server:
    """``pactmatch serve`` in a subprocess (the worktree's code), with its own temporary directory."""

    def __init__(self, store: Path, key: str, tmp: Path) -> None:
        self.store, self.tmp = store, tmp
        self.tmpdir = tmp / "tmpdir"
        self.tmpdir.mkdir(exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tmp / "server.log"

    def start(self) -> Server:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.tmp),
            "TMPDIR": str(self.tmpdir),
            "PACTMATCH_CACHE_DIR": str(self.tmp / "cache"),
            "PACTMATCH_JOB_STALE_SECONDS": "2",
        }
        command = [
            sys.executable,
            "-m",
            "pactmatch.cli",
            "serve",
            "--store",
            str(self.store),
            "--encoder",
            "hashing",
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)], cwd=ROOT, env=env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if self.client.get("/health").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the server did not start:\n{self.log.read_text()}")

    def stop(self, sig: signal.Signals) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(60)

    def terminate(self) -> None:
        """SIGTERM, and check that it was a clean shutdown (uvicorn raises the signal again once
        it has shut down, so the exit status is the signal's)."""
        assert self.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in self.log.read_text()

    def job(self, job_id: str) -> dict[str, Any]:
        r = self.client.get(f"/jobs/{job_id}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def submit(self, **body: Any) -> str:
        r = self.client.post("/gap-reports", json={"format": "csv", **body})
        assert r.status_code == 202, r.text
        return str(r.json()["job_id"])

    def wait_until(self, job_id: str, ready: Any, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if ready(job):
                return job
            assert time.monotonic() < deadline, job
            time.sleep(0.05)

    def leftovers(self) -> list[str]:
        """What the server left in its temporary directory under our names."""
        return sorted(p.name for p in self.tmpdir.iterdir() if p.name.startswith("pactmatch"))


@pytest.fixture
def servers(generated: tuple[Path, list[str]], tmp_path: Path) -> Iterator[list[Server]]:
    """Servers of a fresh copy of the generated store, killed at the end if still running."""
    store = tmp_path / "store"
    shutil.copytree(generated[0], store)
    made: list[Server] = []
    yield made
    for server in made:
        if server.process is not None and server.process.poll() is None:
            server.process.kill()
            server.process.wait(30)


def serve(servers: list[Server], generated: tuple[Path, list[str]], tmp_path: Path) -> Server:
    """Start a server of the test's store; its client uses the first admin's key."""
    servers.append(Server(tmp_path / "store", generated[1][0], tmp_path).start())
    return servers[-1]


def mid_run(job: dict[str, Any]) -> bool:
    return job["status"] == "running" and 0 < job["done"] < job["total"]


def finished(job: dict[str, Any]) -> bool:
    return job["status"] in ("succeeded", "failed", "cancelled")


def test_a_killed_server_fails_its_running_job_and_keeps_the_others(
    servers: list[Server], generated: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """SIGKILL during a batch: after the restart the running job is failed with the reason, the
    queued one runs, and the one that had finished is still there with its result."""
    first = serve(servers, generated, tmp_path)
    done_id = first.submit(partnership_ids=["p1", "p2"])
    assert first.wait_until(done_id, finished)["status"] == "succeeded"
    result = first.client.get(f"/jobs/{done_id}/result")
    assert result.status_code == 200 and "p1" in result.text
    running_id = first.submit(candidates_per_gap=20)
    queued_id = first.submit(partnership_ids=["p3"])  # waits behind the running one
    first.wait_until(running_id, mid_run)
    assert first.job(queued_id)["status"] == "queued"
    first.stop(signal.SIGKILL)

    second = serve(servers, generated, tmp_path)
    failed = second.wait_until(running_id, finished, timeout=60)
    assert failed["status"] == "failed" and failed["result_url"] is None
    assert "interrupted" in failed["error"] and "gap reports" in failed["error"]
    assert second.client.get(f"/jobs/{running_id}/result").status_code == 409
    resumed = second.wait_until(queued_id, finished)
    assert resumed["status"] == "succeeded", resumed
    assert "p3" in second.client.get(f"/jobs/{queued_id}/result").text
    again = second.client.get(f"/jobs/{done_id}/result")
    assert again.status_code == 200 and again.content == result.content
    assert {j["job_id"] for j in second.client.get("/jobs").json()} == {done_id, running_id, queued_id}
    assert second.leftovers() == []


def test_a_stopped_server_cleans_up_and_its_running_job_runs_again_after_the_restart(
    servers: list[Server], generated: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """SIGTERM during a batch: the server exits cleanly leaving no temporary files, and the next
    server runs the interrupted job again, to the end."""
    first = serve(servers, generated, tmp_path)
    job_id = first.submit(candidates_per_gap=20)
    first.wait_until(job_id, mid_run)
    first.terminate()
    assert first.leftovers() == []

    second = serve(servers, generated, tmp_path)
    done = second.wait_until(job_id, finished)
    assert done["status"] == "succeeded" and done["attempt"] == 2, done
    rows = second.client.get(f"/jobs/{job_id}/result").text.splitlines()
    assert len({row.split(",", 1)[0] for row in rows[1:]}) == PARTNERSHIPS
    second.terminate()
    assert second.leftovers() == []


def test_a_burst_of_submissions_is_bounded_with_429_and_retry_after(
    servers: list[Server], generated: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """50 submissions in a burst from 25 admins (two each, their allowance): the queue takes 20
    (PACTMATCH_MAX_QUEUED_JOBS' default) besides the one running, and refuses the rest with 429
    and Retry-After, queueing nothing more."""
    server = serve(servers, generated, tmp_path)
    answers = []
    for key in generated[1]:
        for _ in range(2):
            headers = {"Authorization": f"Bearer {key}"}
            answers.append(server.client.post("/gap-reports", json={"format": "csv"}, headers=headers))
    accepted = [a for a in answers if a.status_code == 202]
    refused = [a for a in answers if a.status_code != 202]
    assert 20 <= len(accepted) <= 21 and {a.status_code for a in refused} == {429}
    assert all(
        "queue is full" in a.json()["detail"][0]["msg"] and int(a.headers["retry-after"]) >= 1
        for a in refused
    )
    statuses = [j["status"] for j in server.client.get("/jobs").json()]
    assert len(statuses) == len(accepted) and statuses.count("queued") <= 20
