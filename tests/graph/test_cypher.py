"""The Cypher builders and the store's pure helpers, without a server.

No Neo4j server exists on the build machines; these tests pin the statements' text where it is
the contract (DDL, labels from the fixed set, values only as parameters), and the Bolt contract
suite runs the same statements against a real ArcadeDB server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from neo4j.exceptions import ServiceUnavailable

from domain.candidates import CandidateFilters
from domain.errors import InvalidInputError, StoreWriteError
from domain.models import Ecosystem, StakeholderType
from graph import cypher
from graph.cypher import Label, Rel
from graph.neo4j_store import (
    Neo4jStore,
    approx_bytes,
    batches,
    organisation_locations,
    organisation_props,
    region_path,
)
from tests.conftest import org

PARAM = re.compile(r"\$([a-z_]+)")


def test_schema_has_a_uniqueness_constraint_per_key_and_lookup_indexes() -> None:
    statements = cypher.schema_statements()
    assert (
        "CREATE CONSTRAINT organisation_org_id IF NOT EXISTS FOR (n:Organisation) REQUIRE n.org_id IS UNIQUE"
        in statements
    )
    assert any("FOR (n:Partnership) REQUIRE n.partnership_id IS UNIQUE" in s for s in statements)
    for prop in ("country", "nuts0", "stakeholder_type"):
        assert (
            f"CREATE INDEX organisation_{prop} IF NOT EXISTS FOR (n:Organisation) ON (n.{prop})" in statements
        )
    assert all("IF NOT EXISTS" in s for s in statements)  # idempotent bootstrap


def test_builders_accept_only_the_fixed_labels_and_relationship_types() -> None:
    assert cypher.create_links(Label.ORGANISATION, Rel.LOCATED_IN, Label.REGION) == (
        "UNWIND $rows AS r MATCH (a:Organisation {org_id: r.a}) MATCH (b:Region {code: r.b}) "
        "CREATE (a)-[:LOCATED_IN]->(b) RETURN count(*) AS n"
    )
    with pytest.raises(InvalidInputError, match="label"):
        cypher.existing_ids("Organisation) DETACH DELETE (n")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="relationship"):
        cypher.delete_links(Label.ORGANISATION, "MEMBER_OF]->() DELETE l//")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="no unique key"):
        cypher.existing_ids(Label.ARTIFACT_CHUNK)


@pytest.mark.parametrize("bad", ["", "Emb", "emb-x", "emb x", "emb`) DELETE n //", "x" * 64])
def test_identifiers_are_checked(bad: str) -> None:
    with pytest.raises(InvalidInputError):
        cypher.check_identifier(bad)


def test_embedding_properties_are_safe_and_distinct_per_model() -> None:
    a = cypher.embedding_properties("sentence-transformers/all-MiniLM-L6-v2")
    b = cypher.embedding_properties("sentence-transformers/all-MiniLM-L6-v2 ")  # sanitises alike
    assert a.vector.startswith("emb_sentence_transformers_all_minilm_l6_v2_")
    assert a.text_hash.startswith("embh_") and a.vector != b.vector
    assert cypher.embedding_properties("hashing-512") == cypher.embedding_properties("hashing-512")
    with pytest.raises(InvalidInputError, match="model"):
        cypher.embedding_properties("  ")


@given(st.text(min_size=1, max_size=80))
def test_any_model_name_gives_a_safe_property(model: str) -> None:
    if model.strip():
        props = cypher.embedding_properties(model)
        assert cypher.check_identifier(props.vector) == props.vector


def test_list_filters_travel_as_parameters_only() -> None:
    evil = "x' OR 1=1 //"
    count, page = cypher.list_organisations(
        country="DE", region="DE1", stakeholder_type="sme", sme=True, ecosystem="digital",
        name_contains=evil, partnership_id="p1",
    )  # fmt: skip
    for statement in (count, page):
        assert evil not in statement.text and "DE1" not in statement.text
        assert set(PARAM.findall(statement.text)) - {"offset", "limit"} == set(statement.params)
    assert page.params["name_contains"] == evil.lower()
    assert "[:PART_OF*0..3]" in page.text  # a region matches everything inside it
    assert page.text.endswith("ORDER BY o.name, o.org_id SKIP $offset LIMIT $limit")
    plain, _ = cypher.list_organisations()
    assert plain.text.startswith("MATCH (o:Organisation)\n") and plain.params == {}


def test_partnership_list_region_touches_scope_both_ways() -> None:
    count, _ = cypher.list_partnerships(region="DE111", kind="regional")
    assert "c STARTS WITH $region OR $region STARTS WITH c" in count.text
    assert count.params == {"region": "DE111", "kind": "regional"}


def test_membership_builder() -> None:
    assert cypher.memberships(by_org=True, by_partnership=False).startswith(
        "MATCH (o:Organisation {org_id: $org_id})-[m:MEMBER_OF]->(p:Partnership) "
    )
    assert "(p:Partnership {partnership_id: $partnership_id})" in cypher.memberships(
        by_org=False, by_partnership=True
    )


def test_candidate_filter_matches_candidate_mask_semantics() -> None:
    assert cypher.candidate_filter(CandidateFilters()).text == "true"
    flt = cypher.candidate_filter(
        CandidateFilters(
            countries=("GR",),
            regions=("DE1",),
            stakeholder_types=(StakeholderType.TRADE_UNION,),
            sme_only=True,
            ecosystems=(Ecosystem.DIGITAL,),
            exclude_org_ids=("x",),
            org_ids=("y", "z"),
        )
    )
    assert flt.params == {
        "f_only": ["y", "z"],
        "f_exclude": ["x"],
        "f_countries": ["EL"],  # countries compare with the NUTS spelling of the primary code
        "f_regions": ["DE1"],
        "f_types": ["trade_union"],
        "f_ecosystems": ["digital"],
    }
    assert "c.sme = true" in flt.text and "[:IN_ECOSYSTEM]" in flt.text
    with pytest.raises(InvalidInputError):
        cypher.candidate_filter(CandidateFilters(), var="c) DETACH DELETE (c")


def test_candidate_statements_use_the_dialect_cosine_and_parameters() -> None:
    props = cypher.embedding_properties("m")
    flt = cypher.candidate_filter(CandidateFilters(countries=("DE",)))
    closest = cypher.candidate_closest(CandidateFilters(countries=("DE",)), flt, props, "COS(c.v, $vector)")
    assert closest.startswith("UNWIND $f_countries AS fc MATCH (c:Organisation {nuts0: fc})")  # index anchor
    assert "COS(c.v, $vector)" in closest and "ORDER BY sim DESC, c.org_id LIMIT $n" in closest
    assert closest.endswith(
        "RETURN collect([c.org_id, c.name, c.stakeholder_type, c.region_path, elementId(c), sim]) AS rows"
    )
    assert "0.0 AS sim" in cypher.candidate_closest(CandidateFilters(), flt, props, None)  # no vector: by id
    # Every co-member counts towards the degree: no filter in the expansion, element ids only.
    neighbourhood = cypher.CANDIDATE_NEIGHBOURHOOD
    assert "$f_" not in neighbourhood and "collect(DISTINCT elementId(c)) AS linked" in neighbourhood
    columns = cypher.candidate_columns(flt, props, "COS(c.v, $vector)")
    assert "WHERE elementId(c) = eid" in columns and ", c.nuts0 IN $f_countries]) AS rows" in columns
    assert "THEN null ELSE COS(c.v, $vector)" in columns  # no vector of its own: no similarity
    inside = cypher.candidate_inside(flt, props, None)
    assert (
        "r.code IN $refs" in inside and "0.0 AS sim" in inside and "WHERE c.nuts0 IN $f_countries" in inside
    )
    assert "db.index.vector.queryNodes($index, $k, $vector)" in cypher.candidate_nearest(flt)
    assert f"p.{props.vector} AS vector" in cypher.candidate_context(props)


def test_account_labels_have_unique_keys_and_lookup_indexes() -> None:
    statements = cypher.schema_statements()
    for label, key in (
        ("User", "name"),
        ("ApiKey", "key_id"),
        ("Session", "token_hash"),
    ):
        assert f"FOR (n:{label}) REQUIRE n.{key} IS UNIQUE" in " ".join(statements)
    for label, prop in (
        ("ApiKey", "user"),
        ("Session", "user"),
        ("AuditEntry", "at"),
        ("AuditEntry", "actor"),
    ):
        assert f"FOR (n:{label}) ON (n.{prop})" in " ".join(statements)
    assert "AuditEntry) REQUIRE" not in " ".join(statements)  # see APPEND_AUDIT


def test_key_use_and_revocation_each_write_one_property() -> None:
    """Neither statement writes what the other does, so concurrent ones cannot undo each other."""
    assert re.findall(r"SET (k\.\w+)", cypher.TOUCH_API_KEY) == ["k.last_used_at"]
    assert re.findall(r"SET (k\.\w+)", cypher.REVOKE_API_KEY) == ["k.revoked_at"]
    assert "revoked_at" not in cypher.TOUCH_API_KEY and "last_used" not in cypher.REVOKE_API_KEY


def test_session_and_audit_builders() -> None:
    assert (
        cypher.delete_sessions(by_user=False, expired=False)
        == "MATCH (s:Session) DELETE s RETURN count(*) AS n"
    )
    assert cypher.delete_sessions(by_user=True, expired=True) == (
        "MATCH (s:Session {user: $user}) WHERE s.expires_at < $before DELETE s RETURN count(*) AS n"
    )
    count, page = cypher.audit_log(actor="x' OR 1=1 //")
    assert count.params == page.params == {"actor": "x' OR 1=1 //"} and "OR 1=1" not in page.text
    assert page.text.endswith("ORDER BY a.at DESC, a.seq DESC SKIP $offset LIMIT $limit")
    everyone, _ = cypher.audit_log()
    assert everyone == cypher.Statement("MATCH (a:AuditEntry) RETURN count(a) AS total")
    assert (
        "(m:PactmatchMeta {key: 'audit_seq'}) SET m.value = coalesce(m.value, 0) + 1" in cypher.APPEND_AUDIT
    )


def test_batches_respect_rows_and_bytes() -> None:
    rows = [{"id": str(i), "data": "x" * 100} for i in range(10)]
    by_rows = batches(rows, 4, 10**9)
    assert [len(b.rows) for b in by_rows] == [4, 4, 2] and [b.start for b in by_rows] == [0, 4, 8]
    assert (by_rows[2].number, by_rows[2].total) == (3, 3)
    by_bytes = batches(rows, 100, 3 * approx_bytes(rows[0]))
    assert [len(b.rows) for b in by_bytes] == [3, 3, 3, 1]
    huge = batches([{"x": "y" * 5000}, {"x": "z"}], 100, 1000)
    assert [len(b.rows) for b in huge] == [1, 1]  # an oversized row travels alone
    assert batches([], 10, 10) == []


def test_node_properties_for_filters_and_scoring() -> None:
    assert region_path("DE11") == ["DE", "DE1", "DE11", ""]
    assert region_path(None) == ["", "", "", ""]
    o = org("a", country="GR", nuts_codes=["EL301", "EL302"])
    props = organisation_props(o)
    assert props["nuts0"] == "EL" and props["region_path"] == ["EL", "EL3", "EL30", "EL301"]
    assert props["regions"] == ["EL", "EL3", "EL30", "EL301", "EL302"]
    assert organisation_locations(o) == ["EL", "EL301", "EL302"]
    without_codes = organisation_props(org("b", country="DE"))
    assert without_codes["regions"] == ["DE"] and without_codes["region_path"] == ["DE", "", "", ""]


class _Result:
    """An empty result: no existing rows, no counts."""

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def single(self) -> None:
        return None

    def consume(self) -> None:
        return None


class _LostAtTheVersionBump:
    """A transaction whose connection drops at the version bump (the import's last statement)."""

    def run(self, statement: str, *args: Any, **kwargs: Any) -> _Result:
        if statement == cypher.BUMP_VERSION:
            raise ServiceUnavailable("connection lost")
        return _Result()


class _Driver:
    def session(self, **kwargs: Any) -> _Driver:
        return self

    def __enter__(self) -> _Driver:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute_write(self, unit: Callable[[Any], Any]) -> Any:
        return unit(_LostAtTheVersionBump())


def test_a_failure_at_the_version_bump_names_the_last_batch() -> None:
    """The server killed after the last batch (at the version bump or the commit) still yields a
    message naming the batch the import had reached, as a failure inside any batch does."""
    store = Neo4jStore(_Driver(), database="x", batch_size=2)
    with pytest.raises(StoreWriteError) as failure:
        store.import_batch([org("a"), org("b"), org("c")])
    assert re.search(
        r"^import \(at bumping the version and committing, after [a-z ]+ batch (\d+) of \1 "
        r"\(rows \d+-\d+\)\) failed: the graph database became unreachable",
        str(failure.value),
    ), str(failure.value)
    with pytest.raises(StoreWriteError, match=r"^import \(at bumping the version and committing \(no batch"):
        store.import_batch()
