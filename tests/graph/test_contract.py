"""The store contract: every GraphStore implementation passes these same tests.

Parametrised over the stores through the ``store`` fixture; the Bolt (ArcadeDB) store joins via
``tests/graph/conftest.py`` when its server can be started.
"""

from __future__ import annotations

import numpy as np
import pytest

from domain.errors import ConflictError, NotFoundError
from domain.models import Role, StakeholderType
from graph.base import EntityKind, GraphStore, OrganisationFilter, PartnershipFilter
from tests.conftest import member, org, partnership


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
