"""The Neo4j and ArcadeDB dialects: index DDL, index names, cosine scale, detection.

The Neo4j DDL cannot be run here (no Neo4j server on these machines), so its exact text is
pinned against the Neo4j 5 documentation's form; the ArcadeDB side runs for real in the Bolt suite.
"""

from __future__ import annotations

import pytest

from domain.errors import InvalidInputError, StoreWriteError
from graph.cypher import Label
from graph.dialects import (
    ArcadeDBDialect,
    Neo4jDialect,
    default_arcadedb_http_url,
    detect_dialect,
    make_dialect,
)


def test_neo4j_vector_index_ddl() -> None:
    d = Neo4jDialect()
    assert d.vector_index_ddl(Label.ORGANISATION, "emb_m_1234", 384) == (
        "CREATE VECTOR INDEX organisation_emb_m_1234 IF NOT EXISTS FOR (n:Organisation) ON (n.emb_m_1234) "
        "OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine'}}"
    )
    assert d.vector_index_name(Label.PARTNERSHIP, "emb_m_1234") == "partnership_emb_m_1234"
    ran: list[str] = []
    d.ensure_vector_index(ran.append, Label.ORGANISATION, "emb_m_1234", 8)
    assert ran == [d.vector_index_ddl(Label.ORGANISATION, "emb_m_1234", 8)]


@pytest.mark.parametrize("dim", [0, -1, 5000, True, 3.5])
def test_dimensions_are_validated(dim: object) -> None:
    with pytest.raises(InvalidInputError, match="dimensions"):
        Neo4jDialect().vector_index_ddl(Label.ORGANISATION, "emb_x", dim)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="dimensions"):
        ArcadeDBDialect(None).vector_index_sql(Label.ORGANISATION, "emb_x", dim)  # type: ignore[arg-type]


def test_arcadedb_vector_index_sql_declares_the_property_first() -> None:
    d = ArcadeDBDialect(None)
    assert d.vector_index_sql(Label.ORGANISATION, "emb_x", 4) == [
        "CREATE VERTEX TYPE Organisation IF NOT EXISTS",
        "CREATE PROPERTY Organisation.emb_x IF NOT EXISTS ARRAY_OF_FLOATS",
        'CREATE INDEX IF NOT EXISTS ON Organisation (emb_x) LSM_VECTOR METADATA {"dimensions": 4, '
        '"similarity": "COSINE", "efSearch": 200}',
    ]
    assert d.vector_index_name(Label.ORGANISATION, "emb_x") == "Organisation[emb_x]"
    with pytest.raises(StoreWriteError, match="PACTMATCH_ARCADEDB_HTTP_URL"):
        d.ensure_vector_index(lambda s: None, Label.ORGANISATION, "emb_x", 4)


def test_cosine_scales() -> None:
    # Neo4j's vector.similarity.cosine is (1 + cos) / 2; ArcadeDB's is the raw cosine.
    assert Neo4jDialect().cosine("a", "b") == "(2.0 * vector.similarity.cosine(a, b) - 1.0)"
    assert ArcadeDBDialect(None).cosine("a", "b") == "vector.similarity.cosine(a, b)"
    # queryNodes scores are (1 + cos) / 2 on both.
    assert Neo4jDialect.index_score_to_cosine(0.75) == pytest.approx(0.5)
    assert ArcadeDBDialect.index_score_to_cosine(1.0) == pytest.approx(1.0)


def test_detection_and_selection() -> None:
    assert detect_dialect("Neo4j/5.26.0 compatible (ArcadeDB 26.10.2)") == "arcadedb"
    assert detect_dialect("Neo4j/5.20.0") == "neo4j"
    assert make_dialect(" ArcadeDB ").name == "arcadedb"
    assert make_dialect("neo4j").name == "neo4j"
    with pytest.raises(InvalidInputError, match="unknown Neo4j dialect"):
        make_dialect("memgraph")
    assert default_arcadedb_http_url("bolt://db.example:7687") == "http://db.example:2480"


def test_arcadedb_builds_its_lazy_vector_index_with_one_search_neo4j_needs_none() -> None:
    searches: list[tuple[str, int, list[float]]] = []
    ArcadeDBDialect(None).build_vector_index(
        lambda index, k, vector: searches.append((index, k, vector)), Label.ORGANISATION, "emb_m_1234", 3
    )
    assert searches == [("Organisation[emb_m_1234]", 1, [1.0, 0.0, 0.0])]
    Neo4jDialect().build_vector_index(
        lambda index, k, vector: searches.append((index, k, vector)), Label.ORGANISATION, "emb_m_1234", 3
    )
    assert len(searches) == 1
