"""What differs between the Bolt servers the Neo4j store talks to, as one small strategy object.

Everything else (constraints, indexes, every read and write) is the same Cypher on Neo4j 5.x and
on ArcadeDB's Bolt plugin; two things are not:

* **the vector index.** Neo4j creates it with Cypher DDL (``CREATE VECTOR INDEX ... IF NOT
  EXISTS``) under a name of our choosing. ArcadeDB's Cypher rejects that statement; its index is
  created with SQL over HTTP (the property must be declared first) and is named
  ``Type[property]``. Both are then queried the same way over Bolt with
  ``db.index.vector.queryNodes(name, k, vector)``, and both report ``score = (1 + cos) / 2``.
* **the scale of** ``vector.similarity.cosine``: Neo4j returns ``(1 + cos) / 2``, ArcadeDB the raw
  cosine. :meth:`Dialect.cosine` hides that by always producing an expression for the raw cosine.

The dialect is chosen by ``PACTMATCH_NEO4J_DIALECT`` or detected from the server's agent string
(ArcadeDB announces itself as ``Neo4j/5.26.0 compatible (ArcadeDB ...)``).
"""

from __future__ import annotations

import json
import urllib.error
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from domain.errors import InvalidInputError, StoreUnavailableError, StoreWriteError
from graph.cypher import Label, check_identifier

DIALECTS = ("neo4j", "arcadedb")
#: HNSW search breadth: with the default (~100) ArcadeDB's recall@10 on 384-d vectors was about
#: 0.96; 200 brought it to 0.998 at no measurable cost (docs/neo4j.md).
EF_SEARCH = 200


class CypherRunner(Protocol):
    """Runs one Cypher statement (how the store lets a dialect create its index)."""

    def __call__(self, statement: str) -> None: ...


class VectorQueryRunner(Protocol):
    """Runs one vector index search: index name, k, query vector (how a dialect warms an index)."""

    def __call__(self, index: str, k: int, vector: list[float]) -> None: ...


class Dialect(ABC):
    """The server-specific parts of the Neo4j store."""

    name: str

    @abstractmethod
    def vector_index_name(self, label: Label, prop: str) -> str:
        """The name ``db.index.vector.queryNodes`` knows the index of ``label.prop`` by."""

    @abstractmethod
    def ensure_vector_index(self, run: CypherRunner, label: Label, prop: str, dim: int) -> None:
        """Create the cosine vector index on ``label.prop`` (``dim`` dimensions) if it is missing."""

    @abstractmethod
    def cosine(self, a: str, b: str) -> str:
        """A Cypher expression for the raw cosine of the vector expressions ``a`` and ``b``."""

    @abstractmethod
    def build_vector_index(self, run: VectorQueryRunner, label: Label, prop: str, dim: int) -> None:
        """Make the index of ``label.prop`` ready to search, so no user query pays for building it."""

    @staticmethod
    def index_score_to_cosine(score: float) -> float:
        """``queryNodes`` scores are ``(1 + cos) / 2`` on both servers."""
        return 2.0 * score - 1.0


class Neo4jDialect(Dialect):
    """Neo4j 5.x (self-managed or Aura)."""

    name = "neo4j"

    def vector_index_name(self, label: Label, prop: str) -> str:
        return f"{Label(label).value.lower()}_{check_identifier(prop)}"

    def vector_index_ddl(self, label: Label, prop: str, dim: int) -> str:
        """Neo4j 5 vector index DDL. Index names, labels and options cannot be parameters in
        Cypher DDL, so the statement is built here from a checked label, a checked identifier and
        an int."""
        if not isinstance(dim, int) or isinstance(dim, bool) or not 0 < dim <= 4096:
            raise InvalidInputError(f"vector dimensions must be an integer in 1..4096, got {dim!r}")
        label = Label(label)
        return (
            f"CREATE VECTOR INDEX {self.vector_index_name(label, prop)} IF NOT EXISTS "
            f"FOR (n:{label.value}) ON (n.{check_identifier(prop)}) "
            f"OPTIONS {{indexConfig: {{`vector.dimensions`: {dim}, `vector.similarity_function`: 'cosine'}}}}"
        )

    def ensure_vector_index(self, run: CypherRunner, label: Label, prop: str, dim: int) -> None:
        run(self.vector_index_ddl(label, prop, dim))

    def build_vector_index(self, run: VectorQueryRunner, label: Label, prop: str, dim: int) -> None:
        """Nothing to do: Neo4j populates a vector index in the background as vectors are written."""

    def cosine(self, a: str, b: str) -> str:
        # Neo4j maps cosine to [0, 1] as (1 + cos) / 2; undo it.
        return f"(2.0 * vector.similarity.cosine({a}, {b}) - 1.0)"


@dataclass(frozen=True)
class ArcadeHttp:
    """Where and how to reach ArcadeDB's HTTP API for the schema work Cypher cannot do."""

    url: str
    user: str
    password: str
    database: str


class ArcadeDBDialect(Dialect):
    """ArcadeDB with its Bolt plugin (development, demos and the test suite)."""

    name = "arcadedb"

    def __init__(self, http: ArcadeHttp | None) -> None:
        self.http = http

    def vector_index_name(self, label: Label, prop: str) -> str:
        return f"{Label(label).value}[{check_identifier(prop)}]"

    def vector_index_sql(self, label: Label, prop: str, dim: int) -> list[str]:
        """The SQL statements, in order: the type, the declared float-array property, the index."""
        if not isinstance(dim, int) or isinstance(dim, bool) or not 0 < dim <= 4096:
            raise InvalidInputError(f"vector dimensions must be an integer in 1..4096, got {dim!r}")
        label = Label(label)
        prop = check_identifier(prop)
        metadata = json.dumps({"dimensions": dim, "similarity": "COSINE", "efSearch": EF_SEARCH})
        return [
            f"CREATE VERTEX TYPE {label.value} IF NOT EXISTS",
            f"CREATE PROPERTY {label.value}.{prop} IF NOT EXISTS ARRAY_OF_FLOATS",
            f"CREATE INDEX IF NOT EXISTS ON {label.value} ({prop}) LSM_VECTOR METADATA {metadata}",
        ]

    def ensure_vector_index(self, run: CypherRunner, label: Label, prop: str, dim: int) -> None:
        from graph.arcadedb_server import http_json

        if self.http is None:
            raise StoreWriteError(
                "ArcadeDB creates vector indexes over HTTP, but no HTTP address is known: "
                "set PACTMATCH_ARCADEDB_HTTP_URL (e.g. http://127.0.0.1:2480)"
            )
        http = self.http
        for statement in self.vector_index_sql(label, prop, dim):
            try:
                http_json(
                    "POST",
                    f"{http.url.rstrip('/')}/api/v1/command/{http.database}",
                    user=http.user,
                    password=http.password,
                    body={"language": "sql", "command": statement},
                )
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")[:300]
                raise StoreWriteError(
                    f"ArcadeDB refused to create the vector index on {label.value}.{prop}: HTTP {exc.code} {detail}"
                ) from exc
            except OSError as exc:
                raise StoreUnavailableError(
                    f"cannot reach ArcadeDB's HTTP API at {http.url} to create the vector index "
                    f"(set PACTMATCH_ARCADEDB_HTTP_URL): {exc}"
                ) from exc

    def cosine(self, a: str, b: str) -> str:
        return f"vector.similarity.cosine({a}, {b})"

    def build_vector_index(self, run: VectorQueryRunner, label: Label, prop: str, dim: int) -> None:
        """ArcadeDB builds an ``LSM_VECTOR`` index's search graph lazily, on the first search after
        a bulk write: on CORDIS (34,600 × 512-d) that first search took 31 s, then 4–9 ms. One
        search with k = 1 right after the writes moves that build into the import."""
        if dim > 0:
            run(self.vector_index_name(label, prop), 1, [1.0] + [0.0] * (dim - 1))


def detect_dialect(agent: str) -> str:
    """``arcadedb`` when the server's Bolt agent names ArcadeDB, else ``neo4j``."""
    return "arcadedb" if "arcadedb" in agent.lower() else "neo4j"


def default_arcadedb_http_url(bolt_uri: str) -> str:
    """ArcadeDB's default HTTP port (2480) on the Bolt URI's host."""
    host = urlsplit(bolt_uri).hostname or "127.0.0.1"
    return f"http://{host}:2480"


def make_dialect(name: str, http: ArcadeHttp | None = None) -> Dialect:
    key = name.strip().lower()
    if key == "neo4j":
        return Neo4jDialect()
    if key == "arcadedb":
        return ArcadeDBDialect(http)
    raise InvalidInputError(f"unknown Neo4j dialect {name!r}: use one of {', '.join(DIALECTS)}")
