"""Embedded-store specifics: durability across a crash, reopening from disk, older files."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from domain.accounts import AuditEntry, User
from domain.jobs import Job, JobLimits
from graph.embedded import SCHEMA_VERSION, EmbeddedStore
from tests.conftest import org


def test_data_survives_reopening(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "s")
    store.import_batch([org("a")])
    store.close()
    assert EmbeddedStore(tmp_path / "s").get_organisation("a").name == "Org a"


def test_a_killed_import_leaves_the_last_committed_state(tmp_path: Path) -> None:
    """SIGKILL a process in the middle of a large import: the store shows all of the first batch
    and nothing of the interrupted one."""
    path = tmp_path / "s"
    script = textwrap.dedent(
        f"""
        import sys
        from graph.embedded import EmbeddedStore
        from domain.models import Organisation
        store = EmbeddedStore({str(path)!r})
        store.import_batch([Organisation(org_id=f"first-{{i}}", name="x", stakeholder_type="sme") for i in range(100)])
        print("committed", flush=True)
        while True:  # big batches until killed
            store.import_batch([Organisation(org_id=f"second-{{i}}", name="y", stakeholder_type="sme") for i in range(200_000)])
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "committed"
    time.sleep(1.5)  # inside the first 200k-row transaction
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    store = EmbeddedStore(path)
    n = store.counts().organisations
    assert n in (100, 200_100), n  # never a partial batch
    assert store.get_organisation("first-99").name == "x"


def _schema_version(db_file: Path) -> str:
    with closing(sqlite3.connect(db_file)) as conn:
        return str(conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])


def test_a_store_file_of_schema_1_gains_the_account_and_job_tables(tmp_path: Path) -> None:
    """A file written before accounts and jobs existed (schema 1: no such tables) opens, keeps its
    data and version, and takes users, audit entries and jobs."""
    store = EmbeddedStore(tmp_path / "s")
    store.import_batch([org("a")])
    version = store.version()
    store.close()
    db_file = tmp_path / "s" / "pactmatch.sqlite"
    with closing(sqlite3.connect(db_file)) as conn:
        for table in ("users", "api_keys", "sessions", "audit_log", "jobs", "job_results"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        conn.commit()

    store = EmbeddedStore(tmp_path / "s")
    assert _schema_version(db_file) == str(SCHEMA_VERSION)
    assert store.get_organisation("a").name == "Org a" and store.version() == version
    now = datetime.now(UTC)
    ann = User(name="ann", password_hash="h", created_at=now, password_changed_at=now)
    store.put_user(ann)
    store.append_audit(AuditEntry(at=now, actor="ann", via="cli", action="user.create", target="user ann"))
    assert store.get_user("ann") == ann and store.audit_log(0, 10).total == 1
    job = Job(job_id="j", kind="k", owner="ann", params={}, media_type="t", filename="f", created_at=now)
    store.add_job(job, JobLimits(per_owner=1, queued=1))
    assert store.get_job("j") == job
    store.close()


def test_a_store_file_without_the_change_log_gains_it(tmp_path: Path) -> None:
    """A file of schema 3 (jobs, no change log) opens; the versions written before it cannot be
    answered from the log (readers read everything), those written after it can."""
    store = EmbeddedStore(tmp_path / "s")
    store.import_batch([org("a")])
    store.close()
    db_file = tmp_path / "s" / "pactmatch.sqlite"
    with closing(sqlite3.connect(db_file)) as conn:
        conn.execute("DROP TABLE changes")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
        conn.commit()

    store = EmbeddedStore(tmp_path / "s")
    assert _schema_version(db_file) == str(SCHEMA_VERSION)
    assert store.read_changes("m", 0) is None
    version = store.version()
    store.import_batch([org("b")])
    changes = store.read_changes("m", version)
    assert changes is not None and changes.org_ids == {"b"}
    store.close()


def test_a_store_file_of_schema_4_gains_artifact_versions(tmp_path: Path) -> None:
    """Artifacts written before versions existed open at version 1, and the next write of one
    takes a newer version (so a compare-and-set on them works from the start)."""
    EmbeddedStore(tmp_path / "s").close()
    db_file = tmp_path / "s" / "pactmatch.sqlite"
    with closing(sqlite3.connect(db_file)) as conn:
        conn.execute("DROP TABLE artifacts")
        conn.execute("CREATE TABLE artifacts (name TEXT PRIMARY KEY, data BLOB NOT NULL)")
        conn.execute("INSERT INTO artifacts VALUES ('event/e.json', x'7b7d')")
        conn.execute("DELETE FROM meta WHERE key = 'artifact_version'")
        conn.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
        conn.commit()
    store = EmbeddedStore(tmp_path / "s")
    EmbeddedStore(tmp_path / "s").close()  # a second process opening it finds the column there
    assert _schema_version(db_file) == str(SCHEMA_VERSION)
    assert store.get_versioned_artifact("event/e.json") == (b"{}", 1)
    assert store.put_artifact_if("event/e.json", b"{ }", 0) is None
    newer = store.put_artifact_if("event/e.json", b"{ }", 1)
    assert newer is not None and newer > 1
    store.close()


def test_a_newer_schema_number_is_kept(tmp_path: Path) -> None:
    """Opening a file that a newer version wrote does not claim it holds the older schema."""
    EmbeddedStore(tmp_path / "s").close()
    db_file = tmp_path / "s" / "pactmatch.sqlite"
    with closing(sqlite3.connect(db_file)) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        conn.commit()
    EmbeddedStore(tmp_path / "s").close()
    assert _schema_version(db_file) == "99"
