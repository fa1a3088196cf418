"""The store contract: every GraphStore implementation passes these same tests.

Parametrised over the stores through the ``store`` fixture; the Bolt (ArcadeDB) store joins via
``tests/graph/conftest.py`` when its server can be started.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from domain.accounts import ApiKey, AuditEntry, Grant, Session, User
from domain.accounts import Role as AccountRole
from domain.errors import ConflictError, InvalidInputError, NotFoundError
from domain.jobs import Job, JobCounts, JobLimits, JobStatus
from domain.models import Role, StakeholderType
from graph.base import CHANGE_LOG_ITEMS, EntityKind, GraphStore, OrganisationFilter, Page, PartnershipFilter
from matching.snapshot import Snapshot
from tests.conftest import member, org, partnership
from tests.matching.test_snapshot_changes import contents


def seed(store: GraphStore) -> None:
    store.import_batch(
        [
            org("a", name="Alpha GmbH", nuts_codes=["DE111"], ecosystems=["digital"]),
            org("b", name="Beta SRL", country="IT", nuts_codes=["ITC4C"], stakeholder_type="vet_provider"),
            org("c", name="Gamma Uni", stakeholder_type="higher_education", sme=False),
        ],
        [
            partnership("p1", kind="regional", scope_regions=["DE1"], ecosystems=["digital"]),
            partnership("p2", kind="large_scale"),
        ],
        [member("a", "p1", "coordinator"), member("b", "p1"), member("a", "p2")],
    )


def test_is_a_graph_store(store: GraphStore) -> None:
    assert isinstance(store, GraphStore)


def test_round_trip_returns_equal_domain_models(store: GraphStore) -> None:
    seed(store)
    got = store.get_organisation("a")
    assert got == org("a", name="Alpha GmbH", nuts_codes=["DE111"], ecosystems=["digital"])
    assert store.get_partnership("p1").scope_regions == ("DE1",)
    assert {(m.org_id, m.role) for m in store.memberships(partnership_id="p1")} == {
        ("a", Role.COORDINATOR),
        ("b", Role.MEMBER),
    }
    assert [m.partnership_id for m in store.memberships(org_id="a")] == ["p1", "p2"]


def test_upserts_are_idempotent_and_counted(store: GraphStore) -> None:
    seed(store)
    again = store.import_batch(
        [org("a", name="Alpha GmbH", nuts_codes=["DE111"], ecosystems=["digital"])], [], [member("b", "p1")]
    )
    assert (again.organisations.created, again.organisations.updated, again.organisations.unchanged) == (
        0,
        0,
        1,
    )
    assert (again.memberships.created, again.memberships.unchanged) == (0, 1)
    changed = store.import_batch([org("a", name="Alpha AG")], [], [member("b", "p1", "coordinator")])
    assert changed.organisations.updated == 1 and changed.memberships.updated == 1
    assert store.get_organisation("a").name == "Alpha AG"
    assert store.counts().organisations == 3


def test_membership_to_unknown_ids_is_rejected_and_nothing_is_written(store: GraphStore) -> None:
    seed(store)
    before = store.counts()
    with pytest.raises(ConflictError):
        store.import_batch([org("d")], [], [member("d", "p1"), member("ghost", "p1")])
    assert store.counts() == before  # the whole batch rolled back, org "d" included
    with pytest.raises(NotFoundError):
        store.get_organisation("d")


def test_not_found_errors(store: GraphStore) -> None:
    with pytest.raises(NotFoundError):
        store.get_organisation("nope")
    with pytest.raises(NotFoundError):
        store.get_partnership("nope")
    with pytest.raises(NotFoundError):
        store.delete_organisation("nope")
    with pytest.raises(NotFoundError):
        store.delete_membership("nope", "nope")


def test_list_filters_and_pagination(store: GraphStore) -> None:
    seed(store)
    assert store.list_organisations(OrganisationFilter(), 0, 10).total == 3
    assert [o.org_id for o in store.list_organisations(OrganisationFilter(country="IT"), 0, 10).items] == [
        "b"
    ]
    assert [o.org_id for o in store.list_organisations(OrganisationFilter(region="DE1"), 0, 10).items] == [
        "a"
    ]
    assert [o.org_id for o in store.list_organisations(OrganisationFilter(region="DE"), 0, 10).items] == [
        "a",
        "c",
    ]
    only_vet = OrganisationFilter(stakeholder_type=StakeholderType.VET_PROVIDER)
    assert [o.org_id for o in store.list_organisations(only_vet, 0, 10).items] == ["b"]
    assert [
        o.org_id for o in store.list_organisations(OrganisationFilter(partnership_id="p1"), 0, 10).items
    ] == ["a", "b"]
    assert [
        o.org_id for o in store.list_organisations(OrganisationFilter(name_contains="beta"), 0, 10).items
    ] == ["b"]
    page = store.list_organisations(OrganisationFilter(), 1, 1)
    assert (page.total, len(page.items), page.items[0].org_id) == (3, 1, "b")  # sorted by name
    assert [
        p.partnership_id for p in store.list_partnerships(PartnershipFilter(region="DE111"), 0, 10).items
    ] == ["p1"]


def test_delete_cascades_memberships(store: GraphStore) -> None:
    seed(store)
    store.delete_organisation("a")
    assert store.memberships(partnership_id="p1")[0].org_id == "b"
    assert store.counts().memberships == 1


def test_embeddings_and_graph_data(store: GraphStore) -> None:
    seed(store)
    vec = np.eye(4, dtype=np.float32)
    store.put_embeddings(
        EntityKind.ORGANISATION, "m", [("a", "h1", vec[0]), ("b", "h2", vec[1]), ("zz", "h", vec[2])]
    )
    store.put_embeddings(EntityKind.PARTNERSHIP, "m", [("p1", "h3", vec[3])])
    assert store.embedding_hashes(EntityKind.ORGANISATION, "m") == {"a": "h1", "b": "h2"}
    assert store.embedding_hashes(EntityKind.ORGANISATION, "m", ["b", "c", "zz"]) == {"b": "h2"}
    data = store.read_graph("m")
    assert sorted(o.org_id for o in data.organisations) == ["a", "b", "c"]
    assert sorted(data.org_vectors) == ["a", "b"]
    np.testing.assert_allclose(data.org_vectors["b"], vec[1])
    np.testing.assert_allclose(data.partnership_vectors["p1"], vec[3])
    assert sorted((m.org_id, m.coordinator) for m in data.memberships if m.partnership_id == "p1") == [
        ("a", True),
        ("b", False),
    ]
    assert data.model == "m" and data.version == store.version()


def test_version_changes_on_every_write(store: GraphStore) -> None:
    v0 = store.version()
    seed(store)
    v1 = store.version()
    store.delete_membership("b", "p1")
    assert v0 != v1 != store.version()


def test_the_changes_since_a_version_turn_its_snapshot_into_the_current_one(store: GraphStore) -> None:
    seed(store)
    vec = np.eye(4, dtype=np.float32)
    store.put_embeddings(EntityKind.ORGANISATION, "m", [("a", "h1", vec[0]), ("b", "h2", vec[1])])
    before, since = Snapshot.from_data(store.read_graph("m")), store.version()
    store.import_batch(
        [org("b", name="Beta renamed"), org("d")], [partnership("p3")], [member("c", "p2", "coordinator")]
    )
    store.import_batch(
        [org("c", name="Gamma Uni", stakeholder_type="higher_education", sme=False)]
    )  # no change
    store.delete_membership("a", "p1")
    store.delete_organisation("d")
    store.put_embeddings(EntityKind.ORGANISATION, "m", [("c", "h3", vec[2])])
    store.delete_partnership("p3")
    store.put_artifact("ranker.json", b"{}")  # not graph data: not in the log
    changes = store.read_changes("m", since)
    assert changes is not None and changes.since == since and changes.data.version == store.version()
    assert changes.org_ids == {"a", "b", "c", "d"} and changes.partnership_ids == {"p1", "p2", "p3"}
    assert sorted(o.org_id for o in changes.data.organisations) == ["a", "b", "c"]
    assert sorted(changes.data.org_vectors) == ["a", "b", "c"]
    patched = before.with_changes(changes)
    assert patched is not None and contents(patched) == contents(Snapshot.from_data(store.read_graph("m")))
    assert store.read_changes("m", store.version()) == replace(
        changes,
        since=store.version(),
        org_ids=frozenset(),
        partnership_ids=frozenset(),
        data=replace(
            changes.data,
            organisations=[],
            partnerships=[],
            memberships=[],
            org_vectors={},
            partnership_vectors={},
        ),
    )


def test_the_change_log_says_when_it_cannot_answer(store: GraphStore) -> None:
    seed(store)
    since = store.version()
    assert store.read_changes("m", since + 1) is None  # a version the store has not reached
    store.import_batch([org(f"n{i}") for i in range(CHANGE_LOG_ITEMS + 1)])  # too many to list
    assert store.read_changes("m", since) is None
    after_import = store.version()
    store.import_batch([org("n0", name="Renamed")])
    changes = store.read_changes("m", after_import)
    assert changes is not None and changes.org_ids == {"n0"}


def test_artifacts(store: GraphStore) -> None:
    assert store.get_artifact("ranker.json") is None
    version = store.version()
    store.put_artifact("ranker.json", b'{"a": 1}')
    store.put_artifact("event/x.json", b"{}")
    store.put_artifact("ranker.json", b'{"a": 2}')
    assert store.get_artifact("ranker.json") == b'{"a": 2}'
    assert store.list_artifacts("event/") == ["event/x.json"]
    store.delete_artifact("event/x.json")
    assert store.list_artifacts() == ["ranker.json"]
    assert store.version() == version  # artifacts are not snapshot data: caches stay valid


def test_artifact_versions_are_new_on_every_write_and_never_reused(store: GraphStore) -> None:
    assert store.get_versioned_artifact("event/x.json") is None
    first = store.put_artifact("event/x.json", b"1")
    assert store.get_versioned_artifact("event/x.json") == (b"1", first)
    second = store.put_artifact("event/x.json", b"2")
    other = store.put_artifact("event/y.json", b"y")
    assert len({first, second, other}) == 3 and all(v > 0 for v in (first, second, other))
    store.delete_artifact("event/x.json")
    again = store.put_artifact("event/x.json", b"3")
    assert again not in (first, second)  # a stale version cannot match a re-created artifact


def test_an_artifact_write_is_a_compare_and_set(store: GraphStore) -> None:
    version = store.version()
    assert store.put_artifact_if("doc", b"1", 1) is None  # it does not exist
    first = store.put_artifact_if("doc", b"1", 0)  # 0: only if there is none
    assert first is not None
    assert store.put_artifact_if("doc", b"again", 0) is None
    second = store.put_artifact_if("doc", b"2", first)
    assert second is not None and second != first
    assert store.put_artifact_if("doc", b"stale", first) is None
    assert store.get_versioned_artifact("doc") == (b"2", second)
    assert store.delete_artifact_if("doc", first) is False
    assert store.delete_artifact_if("doc", second) is True
    assert store.get_artifact("doc") is None and store.delete_artifact_if("doc", second) is False
    assert store.version() == version


def test_a_compare_and_set_can_require_other_artifacts_unchanged(store: GraphStore) -> None:
    """A schedule is saved only while the attendee list it was planned from is unchanged."""
    attendees = store.put_artifact("attendees", b"[a, b]")
    planned = store.put_artifact_if("schedule", b"plan", 0, unchanged={"attendees": attendees, "requests": 0})
    assert planned is not None
    newer = store.put_artifact("attendees", b"[a, b, c]")
    assert store.put_artifact_if("schedule", b"old plan", planned, unchanged={"attendees": attendees}) is None
    store.put_artifact("requests", b"[]")
    assert store.put_artifact_if("schedule", b"plan", planned, unchanged={"requests": 0}) is None
    assert store.get_artifact("schedule") == b"plan"
    assert store.put_artifact_if("schedule", b"new plan", planned, unchanged={"attendees": newer}) is not None
    big = bytes(range(256)) * 20_000  # 5 MB: several chunks in the Bolt store
    latest = store.get_versioned_artifact("schedule")
    assert latest is not None and store.put_artifact_if("schedule", big, latest.version) is not None
    assert store.get_artifact("schedule") == big


def test_concurrent_artifact_writers_lose_no_change(
    store: GraphStore, reopen: Callable[[], GraphStore]
) -> None:
    """Writers on their own connections (several processes) race to change one document: of two
    writers of the same version exactly one wins, and every win is a change nobody overwrote."""
    writers = [store, reopen(), reopen(), reopen()]
    start = store.put_artifact("counter", b"0")
    with ThreadPoolExecutor(2) as pool:
        won = list(
            pool.map(lambda w: w.put_artifact_if("counter", f"by {id(w)}".encode(), start), writers[:2])
        )
    assert sum(v is not None for v in won) == 1
    winner = next(v for v in won if v is not None)
    store.put_artifact("counter", b"0")

    def bump(i: int) -> int:
        wins = 0
        while wins < 5:
            current = writers[i].get_versioned_artifact("counter")
            assert current is not None
            if writers[i].put_artifact_if("counter", b"%d" % (int(current.data) + 1), current.version):
                wins += 1
        return wins

    with ThreadPoolExecutor(4) as pool:
        assert sum(pool.map(bump, range(4))) == 20
    final = store.get_versioned_artifact("counter")
    assert final is not None and final.data == b"20" and final.version > winner


# -- accounts and the audit log ------------------------------------------------------------------
T0 = datetime(2026, 3, 1, 9, 30, 15, 250_000, tzinfo=UTC)
#: Times written with another offset come back in UTC, equal to the ones written.
CET = timezone(timedelta(hours=1))


def user(name: str, **kw: object) -> User:
    data: dict[str, object] = {
        "password_hash": f"$argon2id$v=19$hash-of-{name}",
        "created_at": T0,
        "password_changed_at": T0,
    }
    data.update(kw)
    return User(name=name, **data)  # type: ignore[arg-type]


def api_key(key_id: str, owner: str, created_at: datetime = T0, **kw: object) -> ApiKey:
    return ApiKey(key_id=key_id, user=owner, secret_hash=f"sha256-{key_id}", created_at=created_at, **kw)  # type: ignore[arg-type]


def session(token_hash: str, owner: str, expires_in: timedelta) -> Session:
    return Session(token_hash=token_hash, user=owner, created_at=T0, expires_at=T0 + expires_in)


def audit(at: datetime, actor: str, target: str, **kw: object) -> AuditEntry:
    data: dict[str, object] = {"via": "api", "action": "organisation.update"}
    data.update(kw)
    return AuditEntry(at=at, actor=actor, target=target, **data)  # type: ignore[arg-type]


def test_users_round_trip_are_replaced_and_are_listed_by_name(store: GraphStore) -> None:
    assert store.get_user("zoe") is None and store.list_users() == []
    zoe = user("zoe", grants=[Grant(role=AccountRole.ADMIN)], created_at=T0.astimezone(CET))
    ann = user(
        "ann@example.org",
        grants=[Grant(role=AccountRole.COORDINATOR, scope="p1"), Grant(role=AccountRole.MEMBER, scope="a")],
        failed_logins=2,
        locked_until=T0 + timedelta(minutes=15),
    )
    store.put_user(zoe)
    store.put_user(ann)
    assert store.get_user("zoe") == zoe and store.get_user("ann@example.org") == ann
    locked = zoe.model_copy(update={"failed_logins": 5, "locked_until": T0 + timedelta(hours=1)})
    store.put_user(locked)
    assert store.get_user("zoe") == locked
    assert store.list_users() == [ann, locked]


def test_api_keys_round_trip_oldest_first_and_key_ids_are_unique(store: GraphStore) -> None:
    later = T0 + timedelta(hours=1)
    keys = [
        api_key("k3", "zoe", later),
        api_key("k1", "ann", T0.astimezone(CET), label="CI import", last_used_at=T0, revoked_at=later),
        api_key("k2", "ann", later),  # same time as k3: ties by key_id
    ]
    for key in keys:
        store.add_api_key(key)
    assert store.get_api_key("k1") == keys[1] and store.get_api_key("nope") is None
    assert [k.key_id for k in store.list_api_keys()] == ["k1", "k2", "k3"]
    assert store.list_api_keys("ann") == [keys[1], keys[2]]
    assert store.list_api_keys("nobody") == []
    with pytest.raises(ConflictError):
        store.add_api_key(api_key("k3", "ann"))
    assert store.get_api_key("k3") == keys[0]


def test_touch_and_revoke_each_set_their_own_field(store: GraphStore) -> None:
    store.add_api_key(api_key("k", "ann"))
    t = [T0 + timedelta(minutes=m) for m in range(5)]
    store.touch_api_key("k", t[1])
    store.touch_api_key("k", t[0].astimezone(CET))  # recorded late: the latest use stays
    assert store.get_api_key("k") == api_key("k", "ann", last_used_at=t[1])
    store.revoke_api_key("k", t[2])
    store.touch_api_key("k", t[3])  # a use after the revocation keeps the revocation
    store.revoke_api_key("k", t[4])  # revoking again keeps the first time
    assert store.get_api_key("k") == api_key("k", "ann", last_used_at=t[3], revoked_at=t[2])
    store.touch_api_key("gone", t[3])  # nothing to record
    assert store.get_api_key("gone") is None
    with pytest.raises(NotFoundError):
        store.revoke_api_key("gone", t[3])


def test_sessions_round_trip_and_end(store: GraphStore) -> None:
    hour = timedelta(hours=1)
    sessions = [
        session("a1", "ann", hour),
        session("a2", "ann", 3 * hour),
        session("z1", "zoe", hour),
        session("b1", "bob", 2 * hour),
        session("b2", "bob", 4 * hour),
    ]
    for s in sessions:
        store.add_session(s)
    assert store.get_session("a1") == sessions[0] and store.get_session("nope") is None
    with pytest.raises(ConflictError):
        store.add_session(session("a1", "zoe", hour))
    assert store.delete_sessions("ann", expired_before=T0 + 2 * hour) == 1  # a1
    assert store.delete_sessions("", expired_before=T0 + 2 * hour) == 1  # z1; b1 expires at, not before
    assert store.delete_sessions("bob") == 2
    assert [store.get_session(s.token_hash) for s in sessions] == [None, sessions[1], None, None, None]
    store.delete_session("a2")
    store.delete_session("a2")  # already gone: nothing
    assert store.get_session("a2") is None
    store.add_session(session("c1", "carl", hour))
    store.add_session(session("d1", "dora", hour))
    assert store.delete_sessions("") == 2 and store.delete_sessions("") == 0


def test_deleting_a_user_deletes_their_keys_and_sessions(store: GraphStore) -> None:
    for name in ("ann", "zoe"):
        store.put_user(user(name))
        store.add_api_key(api_key(f"key-{name}", name))
        store.add_session(session(f"session-{name}", name, timedelta(hours=1)))
    store.delete_user("ann")
    assert store.get_user("ann") is None and store.list_api_keys("ann") == []
    assert store.get_session("session-ann") is None
    assert [u.name for u in store.list_users()] == ["zoe"]
    assert [k.key_id for k in store.list_api_keys()] == ["key-zoe"]
    assert store.get_session("session-zoe") is not None
    with pytest.raises(NotFoundError):
        store.delete_user("ann")


def test_audit_log_pages_newest_first_ties_last_appended_first(store: GraphStore) -> None:
    assert store.audit_log(0, 10) == Page([], 0, 0, 10)
    minute = timedelta(minutes=1)
    e1 = audit(T0, "ann", "organisation a", changes={"name": ["Alpha", "Alpha AG"], "sme": [None, True]})
    e2 = audit(T0 + minute, "zoe", "organisation b")
    e3 = audit(T0 + minute, "ann", "organisation c")  # the same time as e2, appended after it
    e4 = audit(T0 - 60 * minute, "zoe", "p1/a", action="membership.delete", via="cli")  # late, but oldest
    e5 = audit((T0 + minute).astimezone(CET), "ann", "organisation d")  # the same instant again
    for entry in (e1, e2, e3, e4, e5):
        store.append_audit(entry)
    assert store.audit_log(0, 10) == Page([e5, e3, e2, e1, e4], 5, 0, 10)
    assert store.audit_log(1, 2) == Page([e3, e2], 5, 1, 2)
    assert store.audit_log(0, 10, actor="ann") == Page([e5, e3, e1], 3, 0, 10)
    assert store.audit_log(1, 1, actor="zoe") == Page([e4], 2, 1, 1)
    assert store.audit_log(5, 10) == Page([], 5, 5, 10)
    assert store.audit_log(0, 10, actor="nobody") == Page([], 0, 0, 10)


def test_account_and_audit_writes_leave_the_version_alone(store: GraphStore) -> None:
    seed(store)
    version = store.version()
    store.put_user(user("ann"))
    store.add_api_key(api_key("k", "ann"))
    store.touch_api_key("k", T0)
    store.revoke_api_key("k", T0)
    store.add_session(session("s1", "ann", timedelta(hours=1)))
    store.add_session(session("s2", "ann", timedelta(hours=1)))
    store.delete_session("s1")
    store.delete_sessions("ann")
    store.append_audit(audit(T0, "ann", "organisation a"))
    store.delete_user("ann")
    assert store.version() == version  # not snapshot data: no snapshot is rebuilt on a login


def test_account_times_must_say_their_timezone(store: GraphStore) -> None:
    naive = datetime(2026, 3, 1, 9, 30)
    with pytest.raises(InvalidInputError):
        store.add_api_key(api_key("k", "ann", naive))
    with pytest.raises(InvalidInputError):
        store.delete_sessions("", expired_before=naive)
    with pytest.raises(InvalidInputError):
        store.append_audit(audit(naive, "ann", "organisation a"))
    assert store.list_api_keys() == [] and store.audit_log(0, 1).total == 0


def test_concurrent_writers_lose_nothing(store: GraphStore, reopen: Callable[[], GraphStore]) -> None:
    """Four connections (as four API processes hold) append to the audit log at the same time and
    use one key while one of them revokes it: every entry is kept, each writer's entries come
    newest first, the latest use is recorded and the revocation stays."""
    writers = [store, reopen(), reopen(), reopen()]
    store.add_api_key(api_key("k", "ann"))
    second = timedelta(seconds=1)

    def append(i: int) -> None:
        for j in range(8):
            writers[i].append_audit(audit(T0, f"writer-{i}", f"entry {j}"))

    def use(i: int) -> None:
        for j in range(8):
            writers[i].touch_api_key("k", T0 + j * second)
            if i == 0 and j == 3:
                writers[i].revoke_api_key("k", T0)

    with ThreadPoolExecutor(8) as pool:
        done = [pool.submit(work, i) for work in (append, use) for i in range(len(writers))]
        for future in done:
            future.result()
    log = store.audit_log(0, 100)
    assert log.total == 32
    for i in range(len(writers)):
        assert [e.target for e in log.items if e.actor == f"writer-{i}"] == [
            f"entry {j}" for j in range(7, -1, -1)
        ]
    assert store.get_api_key("k") == api_key("k", "ann", last_used_at=T0 + 7 * second, revoked_at=T0)


# -- background jobs -----------------------------------------------------------------------------
LIMITS = JobLimits(per_owner=2, queued=3)


def job(job_id: str, owner: str = "ann", at: datetime = T0, **kw: object) -> Job:
    data: dict[str, object] = {
        "job_id": job_id,
        "kind": "gap-reports",
        "owner": owner,
        "params": {"format": "csv", "partnership_ids": ["p1"]},
        "media_type": "text/csv",
        "filename": "gap-reports.csv",
        "created_at": at,
    }
    data.update(kw)
    return Job.model_validate(data)


def test_jobs_round_trip_newest_first_and_by_status(store: GraphStore) -> None:
    assert store.get_job("j1") is None and store.list_jobs() == []
    j1, j2 = job("j1"), job("j2", "zoe", T0 + timedelta(seconds=1), params={"target_mix": {"a": [1, 2.5]}})
    assert store.add_job(j1, LIMITS) == JobCounts(owner_active=0, queued=0)
    assert store.add_job(j2, LIMITS) == JobCounts(owner_active=0, queued=1)
    assert store.get_job("j1") == j1 and store.get_job("j2") == j2
    assert store.list_jobs() == [j2, j1]
    running = store.update_job(j1.model_copy(update={"status": JobStatus.RUNNING, "worker": "w"}))
    assert running is not None and running.revision == 1
    assert store.list_jobs(JobStatus.QUEUED) == [j2] and store.list_jobs(JobStatus.RUNNING) == [running]
    assert store.get_job("j1") == running
    with pytest.raises(ConflictError):
        store.add_job(job("j1"), LIMITS)


def test_the_queue_admits_a_job_only_within_its_limits(store: GraphStore) -> None:
    def at(n: int) -> datetime:
        return T0 + timedelta(seconds=n)

    store.add_job(job("a1", at=at(1)), LIMITS)
    store.add_job(job("a2", at=at(2)), LIMITS)
    assert store.add_job(job("a3", at=at(3)), LIMITS) == JobCounts(owner_active=2, queued=2)  # ann's limit
    assert store.get_job("a3") is None
    store.add_job(job("b1", "bob", at(4)), LIMITS)
    assert store.add_job(job("c1", "cid", at(5)), LIMITS) == JobCounts(owner_active=0, queued=3)  # full
    assert store.get_job("c1") is None
    a1 = store.get_job("a1")
    assert a1 is not None
    finished = store.update_job(a1.model_copy(update={"status": JobStatus.SUCCEEDED}))
    assert finished is not None
    assert store.add_job(job("a3", at=at(6)), LIMITS).admits(LIMITS) and store.get_job("a3") is not None
    assert [j.job_id for j in store.list_jobs(JobStatus.QUEUED)] == ["a3", "b1", "a2"]


def test_a_job_update_is_a_compare_and_set(store: GraphStore) -> None:
    j = job("j")
    store.add_job(j, LIMITS)
    first = store.update_job(j.model_copy(update={"cancel_requested": True}))
    assert first is not None and first.revision == 1
    assert store.update_job(j.model_copy(update={"phase": "stale"})) is None  # revision 0 is gone
    assert store.get_job("j") == first
    assert store.update_job(job("missing")) is None
    version = store.version()
    second = store.update_job(first.model_copy(update={"phase": "gaps", "done": 3, "total": 9}))
    assert second is not None and (second.revision, second.done, second.cancel_requested) == (2, 3, True)
    assert store.version() == version  # jobs are not snapshot data


def test_job_results_are_chunks_per_attempt_and_go_with_the_job(store: GraphStore) -> None:
    store.add_job(job("j"), LIMITS)
    store.put_job_result_chunk("j", 1, 0, b"first attempt")
    store.put_job_result_chunk("j", 2, 0, b"a,b\n")
    store.put_job_result_chunk("j", 2, 1, bytes(range(256)) * 4096)  # 1 MiB, every byte value
    store.put_job_result_chunk("j", 2, 0, b"a,b\n")  # a retried write changes nothing
    assert store.job_result_chunk("j", 2, 0) == b"a,b\n"
    assert store.job_result_chunk("j", 2, 1) == bytes(range(256)) * 4096
    assert store.job_result_chunk("j", 1, 0) == b"first attempt"
    assert store.job_result_chunk("j", 2, 2) is None
    store.delete_job_results("j")
    assert store.job_result_chunk("j", 2, 0) is None and store.get_job("j") is not None
    store.put_job_result_chunk("j", 3, 0, b"x")
    store.delete_job("j")
    assert store.get_job("j") is None and store.job_result_chunk("j", 3, 0) is None
    with pytest.raises(NotFoundError):
        store.delete_job("j")


def test_concurrent_job_writers_keep_the_limits_and_lose_no_change(
    store: GraphStore, reopen: Callable[[], GraphStore]
) -> None:
    """Four connections (four API processes) offer jobs at once and race to advance one job: the
    queue never admits more than its limits, and each successful compare-and-set is a change that
    no other writer overwrote."""
    writers = [store, reopen(), reopen(), reopen()]
    limits = JobLimits(per_owner=3, queued=5)

    def offer(i: int) -> list[bool]:
        return [
            writers[i].add_job(job(f"w{i}-{n}", f"owner-{n % 2}"), limits).admits(limits) for n in range(4)
        ]

    with ThreadPoolExecutor(4) as pool:
        admitted = sum(sum(ok) for ok in pool.map(offer, range(4)))
    queued = store.list_jobs(JobStatus.QUEUED)
    assert admitted == len(queued) == 5
    assert all(sum(j.owner == o for j in queued) <= 3 for o in ("owner-0", "owner-1"))

    target = queued[0].job_id

    def bump(i: int) -> int:
        wins = 0
        while wins < 5:
            current = writers[i].get_job(target)
            assert current is not None
            if writers[i].update_job(current.model_copy(update={"done": current.done + 1})) is not None:
                wins += 1
        return wins

    with ThreadPoolExecutor(4) as pool:
        assert sum(pool.map(bump, range(4))) == 20
    final = store.get_job(target)
    assert final is not None and final.done == 20 and final.revision == 20


def test_count_without_embedding(store: GraphStore) -> None:
    seed(store)
    assert store.count_without_embedding(EntityKind.ORGANISATION, "m") == 3
    assert store.count_without_embedding(EntityKind.PARTNERSHIP, "m") == 2
    vector = np.ones(4, dtype=np.float32) / 2
    store.put_embeddings(EntityKind.ORGANISATION, "m", [("a", "h", vector), ("b", "h", vector)])
    store.put_embeddings(EntityKind.ORGANISATION, "other", [("c", "h", vector)])
    assert store.count_without_embedding(EntityKind.ORGANISATION, "m") == 1
    assert store.count_without_embedding(EntityKind.ORGANISATION, "other") == 2
    store.delete_organisation("c")
    assert store.count_without_embedding(EntityKind.ORGANISATION, "m") == 0
