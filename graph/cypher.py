"""Every Cypher statement of the Neo4j store: module constants and pure builders.

Rules that keep this module safe to build strings in:

* every *value* travels as a parameter (``$name``), never inside the text;
* labels and relationship types come only from :class:`Label` and :class:`Rel` (closed enums),
  and the few property names that are not fixed (per-model embedding properties) pass
  :func:`check_identifier`;
* builders are pure functions, so the statements are unit-tested without a server
  (``tests/graph/test_cypher.py``).

Graph model::

    (:Organisation)-[:MEMBER_OF {role, since}]->(:Partnership)
    (:Organisation)-[:LOCATED_IN]->(:Region)-[:PART_OF]->(:Region)
    (:Organisation|Partnership)-[:IN_ECOSYSTEM]->(:Ecosystem)
    (:Partnership)-[:DERIVED_FROM]->(:Partnership)
    (:Artifact {name, size, chunks}), (:ArtifactChunk {name, seq, data}), (:PactmatchMeta {key, value})
    (:User {name, data}), (:ApiKey {key_id, user, secret_hash, label, created_at, last_used_at,
    revoked_at}), (:Session {token_hash, user, created_at, expires_at}),
    (:AuditEntry {seq, at, actor, data}), (:PactmatchChange {version, listed, organisations, partnerships}),
    (:Job {job_id, owner, status, created_at, revision, data}),
    (:JobResultChunk {job_id, attempt, seq, data})

Organisations and partnerships also keep their validated JSON (``data``) so reads return exactly
the domain model that was written, plus the properties the queries filter on; so do users and
audit entries. Accounts and the audit log are not graph data: no relationships, and keys and
sessions name their user by a property (``user``). Their times are text of fixed width
(:func:`graph.account_rows.stored_time`), so comparing and ordering the text compares and orders
the times.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from domain.candidates import CandidateFilters
from domain.errors import InvalidInputError
from domain.regions import nuts_country


class Label(StrEnum):
    ORGANISATION = "Organisation"
    PARTNERSHIP = "Partnership"
    REGION = "Region"
    ECOSYSTEM = "Ecosystem"
    ARTIFACT = "Artifact"
    ARTIFACT_CHUNK = "ArtifactChunk"
    META = "PactmatchMeta"
    CHANGE = "PactmatchChange"
    USER = "User"
    API_KEY = "ApiKey"
    SESSION = "Session"
    AUDIT_ENTRY = "AuditEntry"
    JOB = "Job"
    JOB_RESULT_CHUNK = "JobResultChunk"


class Rel(StrEnum):
    MEMBER_OF = "MEMBER_OF"
    LOCATED_IN = "LOCATED_IN"
    PART_OF = "PART_OF"
    IN_ECOSYSTEM = "IN_ECOSYSTEM"
    DERIVED_FROM = "DERIVED_FROM"


#: The unique key of each label that has one.
KEYS: dict[Label, str] = {
    Label.ORGANISATION: "org_id",
    Label.PARTNERSHIP: "partnership_id",
    Label.REGION: "code",
    Label.ECOSYSTEM: "code",
    Label.ARTIFACT: "name",
    Label.META: "key",
    Label.CHANGE: "version",
    Label.USER: "name",
    Label.API_KEY: "key_id",
    Label.SESSION: "token_hash",
    Label.JOB: "job_id",
}

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def check_identifier(name: str) -> str:
    """A property name safe to write into a statement (lower-case letters, digits, ``_``)."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise InvalidInputError(f"not a safe Cypher identifier: {name!r}")
    return name


def _label(label: Label) -> str:
    try:
        return Label(label).value
    except ValueError:
        raise InvalidInputError(f"unknown label {label!r}") from None


def _rel(rel: Rel) -> str:
    try:
        return Rel(rel).value
    except ValueError:
        raise InvalidInputError(f"unknown relationship type {rel!r}") from None


def _key(label: Label) -> str:
    key = KEYS.get(Label(label))
    if key is None:
        raise InvalidInputError(f"label {label!r} has no unique key")
    return key


# -- per-model embedding properties ------------------------------------------------------------
@dataclass(frozen=True)
class EmbeddingProperties:
    """Where a model's vectors and text hashes live on a node.

    One property per model (rather than an ``(:Embedding)`` node per vector) because a vector
    index covers one *property* of one label: a per-model property gives each model its own
    index with its own dimension, and a candidate query reads the vector with the node, without
    an extra hop. The name is the sanitised model name plus a short hash of the exact name, so two
    models that sanitise alike never share a property.
    """

    vector: str
    text_hash: str


def embedding_properties(model: str) -> EmbeddingProperties:
    if not model.strip():
        raise InvalidInputError("model: an embedding model name is required")
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")[:40] or "model"
    digest = hashlib.sha1(model.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
    return EmbeddingProperties(
        vector=check_identifier(f"emb_{slug}_{digest}"), text_hash=check_identifier(f"embh_{slug}_{digest}")
    )


# -- schema -------------------------------------------------------------------------------------
def schema_statements() -> list[str]:
    """Uniqueness constraints and lookup indexes (Neo4j 5 DDL, also accepted by ArcadeDB)."""
    statements = [
        f"CREATE CONSTRAINT {label.value.lower()}_{key} IF NOT EXISTS "
        f"FOR (n:{label.value}) REQUIRE n.{key} IS UNIQUE"
        for label, key in KEYS.items()
    ]
    indexes = [
        (Label.ORGANISATION, "country"),
        (Label.ORGANISATION, "nuts0"),
        (Label.ORGANISATION, "stakeholder_type"),
        (Label.ORGANISATION, "name"),
        (Label.PARTNERSHIP, "kind"),
        (Label.PARTNERSHIP, "parent_id"),
        (Label.PARTNERSHIP, "name"),
        (Label.ARTIFACT_CHUNK, "name"),
        (Label.API_KEY, "user"),
        (Label.SESSION, "user"),
        (Label.SESSION, "expires_at"),
        (Label.AUDIT_ENTRY, "at"),
        (Label.AUDIT_ENTRY, "actor"),
        (Label.JOB, "status"),
        (Label.JOB_RESULT_CHUNK, "job_id"),
    ]
    statements += [
        f"CREATE INDEX {label.value.lower()}_{prop} IF NOT EXISTS FOR (n:{label.value}) ON (n.{prop})"
        for label, prop in indexes
    ]
    return statements


# -- version counter ----------------------------------------------------------------------------
INIT_VERSION = "MERGE (m:PactmatchMeta {key: 'version'}) ON CREATE SET m.value = 0"
#: Run at the end of every write transaction: the snapshot cache key of the service.
BUMP_VERSION = "MERGE (m:PactmatchMeta {key: 'version'}) SET m.value = coalesce(m.value, 0) + 1"
VERSION = "MATCH (m:PactmatchMeta {key: 'version'}) RETURN m.value AS value"
SERVER_CHECK = "RETURN 1 AS ok"

# -- change log (graph.base.GraphStore.read_changes) -------------------------------------------
#: Run after BUMP_VERSION in every data write: the ids it touched, under the version it made
#: (``listed`` false: too many to list; readers read everything instead).
LOG_CHANGE = (
    "MATCH (m:PactmatchMeta {key: 'version'}) "
    "CREATE (:PactmatchChange {version: m.value, listed: $listed, organisations: $organisations, "
    "partnerships: $partnerships})"
)
PRUNE_CHANGES = (
    "MATCH (m:PactmatchMeta {key: 'version'}) MATCH (c:PactmatchChange) WHERE c.version <= m.value - $keep "
    "DELETE c"
)
CHANGES_SINCE = (
    "MATCH (c:PactmatchChange) WHERE c.version > $since "
    "RETURN c.listed AS listed, c.organisations AS organisations, c.partnerships AS partnerships"
)
MEMBERSHIPS_OF_ORGANISATIONS = (
    "UNWIND $ids AS id MATCH (o:Organisation {org_id: id})-[m:MEMBER_OF]->(p:Partnership) "
    "RETURN o.org_id AS org_id, p.partnership_id AS partnership_id, m.role AS role"
)
MEMBERSHIPS_OF_PARTNERSHIPS = (
    "UNWIND $ids AS id MATCH (o:Organisation)-[m:MEMBER_OF]->(p:Partnership {partnership_id: id}) "
    "RETURN o.org_id AS org_id, p.partnership_id AS partnership_id, m.role AS role"
)


# -- generic per-label builders ------------------------------------------------------------------
def existing_ids(label: Label) -> str:
    """Which of ``$ids`` exist (as rows ``id``)."""
    return f"UNWIND $ids AS id MATCH (n:{_label(label)} {{{_key(label)}: id}}) RETURN id"


def existing_data(label: Label) -> str:
    """The stored JSON of the ``$ids`` that exist (rows ``id``, ``data``)."""
    return f"UNWIND $ids AS id MATCH (n:{_label(label)} {{{_key(label)}: id}}) RETURN id, n.data AS data"


def create_nodes(label: Label) -> str:
    """Create one node per row ``{id, props}`` (rows known to be new)."""
    return (
        f"UNWIND $rows AS r CREATE (n:{_label(label)} {{{_key(label)}: r.id}}) SET n += r.props "
        "RETURN count(n) AS n"
    )


def update_nodes(label: Label) -> str:
    """Overwrite the properties of existing nodes (``null`` values remove a property)."""
    return (
        f"UNWIND $rows AS r MATCH (n:{_label(label)} {{{_key(label)}: r.id}}) SET n += r.props "
        "RETURN count(n) AS n"
    )


def delete_links(label: Label, rel: Rel) -> str:
    """Remove the outgoing ``rel`` relationships of the ``$ids`` nodes (before re-linking them)."""
    return f"UNWIND $ids AS id MATCH (n:{_label(label)} {{{_key(label)}: id}})-[l:{_rel(rel)}]->() DELETE l"


def create_links(source: Label, rel: Rel, target: Label) -> str:
    """One ``rel`` per row ``{a, b}`` from the ``source`` keyed ``a`` to the ``target`` keyed ``b``."""
    return (
        f"UNWIND $rows AS r MATCH (a:{_label(source)} {{{_key(source)}: r.a}}) "
        f"MATCH (b:{_label(target)} {{{_key(target)}: r.b}}) CREATE (a)-[:{_rel(rel)}]->(b) "
        "RETURN count(*) AS n"
    )


def node_data(label: Label) -> str:
    return f"MATCH (n:{_label(label)} {{{_key(label)}: $id}}) RETURN n.data AS data"


def iter_data(label: Label) -> str:
    key = _key(label)
    return f"MATCH (n:{_label(label)}) RETURN n.data AS data ORDER BY n.{key}"


def count_nodes(label: Label) -> str:
    return f"MATCH (n:{_label(label)}) RETURN count(n) AS n"


# -- dictionary nodes ----------------------------------------------------------------------------
MERGE_REGIONS = "UNWIND $rows AS r MERGE (x:Region {code: r.code}) ON CREATE SET x.level = r.level"
LINK_REGION_PARENTS = (
    "UNWIND $rows AS r MATCH (c:Region {code: r.code}) MATCH (p:Region {code: r.parent}) "
    "MERGE (c)-[:PART_OF]->(p)"
)
MERGE_ECOSYSTEMS = "UNWIND $codes AS code MERGE (:Ecosystem {code: code})"

# -- memberships ---------------------------------------------------------------------------------
EXISTING_MEMBERSHIPS = (
    "UNWIND $pids AS pid MATCH (p:Partnership {partnership_id: pid})<-[m:MEMBER_OF]-(o:Organisation) "
    "RETURN o.org_id AS org_id, pid AS partnership_id, m.role AS role, m.since AS since"
)
CREATE_MEMBERSHIPS = (
    "UNWIND $rows AS r MATCH (o:Organisation {org_id: r.org_id}) "
    "MATCH (p:Partnership {partnership_id: r.partnership_id}) "
    "CREATE (o)-[:MEMBER_OF {role: r.role, since: r.since}]->(p) RETURN count(*) AS n"
)
UPDATE_MEMBERSHIPS = (
    "UNWIND $rows AS r MATCH (o:Organisation {org_id: r.org_id})-[m:MEMBER_OF]->"
    "(p:Partnership {partnership_id: r.partnership_id}) SET m.role = r.role, m.since = r.since "
    "RETURN count(*) AS n"
)
DELETE_MEMBERSHIP = (
    "MATCH (o:Organisation {org_id: $org_id})-[m:MEMBER_OF]->(p:Partnership {partnership_id: $partnership_id}) "
    "DELETE m RETURN count(*) AS n"
)
ITER_MEMBERSHIPS = (
    "MATCH (o:Organisation)-[m:MEMBER_OF]->(p:Partnership) "
    "RETURN o.org_id AS org_id, p.partnership_id AS partnership_id, m.role AS role, m.since AS since"
)
COUNT_MEMBERSHIPS = "MATCH (:Organisation)-[m:MEMBER_OF]->(:Partnership) RETURN count(m) AS n"


def memberships(*, by_org: bool, by_partnership: bool) -> str:
    """Memberships, optionally of one organisation and/or one partnership, in (partnership, org) order."""
    org = " {org_id: $org_id}" if by_org else ""
    part = " {partnership_id: $partnership_id}" if by_partnership else ""
    return (
        f"MATCH (o:Organisation{org})-[m:MEMBER_OF]->(p:Partnership{part}) "
        "RETURN o.org_id AS org_id, p.partnership_id AS partnership_id, m.role AS role, m.since AS since "
        "ORDER BY partnership_id, org_id"
    )


# -- deletes -------------------------------------------------------------------------------------
DELETE_ORGANISATION = "MATCH (o:Organisation {org_id: $id}) DETACH DELETE o RETURN count(*) AS n"
DELETE_PARTNERSHIP = "MATCH (p:Partnership {partnership_id: $id}) DETACH DELETE p RETURN count(*) AS n"
DERIVED_PARTNERSHIPS = (
    "MATCH (c:Partnership)-[:DERIVED_FROM]->(:Partnership {partnership_id: $id}) RETURN count(c) AS n"
)


# -- lists with filters --------------------------------------------------------------------------
@dataclass
class Statement:
    """A statement and its parameters (what a builder hands the store)."""

    text: str
    params: dict[str, Any] = field(default_factory=dict)


def list_organisations(
    *,
    country: str | None = None,
    region: str | None = None,
    stakeholder_type: str | None = None,
    sme: bool | None = None,
    ecosystem: str | None = None,
    name_contains: str | None = None,
    partnership_id: str | None = None,
) -> tuple[Statement, Statement]:
    """(count statement, page statement with ``$offset``/``$limit``) for the organisation list.

    Graph filters become anchoring patterns (a partnership's members, a region and everything
    inside it through ``PART_OF``, an ecosystem); property filters become ``WHERE`` terms.
    Ordering is (name, id), as in the embedded store.
    """
    params: dict[str, Any] = {}
    lines: list[str] = []
    if partnership_id is not None:
        lines.append("MATCH (:Partnership {partnership_id: $partnership_id})<-[:MEMBER_OF]-(o:Organisation)")
        params["partnership_id"] = partnership_id
    if region is not None:
        # The region itself or any region inside it that the organisation is located in.
        lines.append(
            "MATCH (:Region {code: $region})<-[:PART_OF*0..3]-(:Region)<-[:LOCATED_IN]-(o:Organisation)"
        )
        params["region"] = region
    if ecosystem is not None:
        lines.append("MATCH (o:Organisation)-[:IN_ECOSYSTEM]->(:Ecosystem {code: $ecosystem})")
        params["ecosystem"] = ecosystem
    if not lines:
        lines.append("MATCH (o:Organisation)")
    where: list[str] = []
    if country is not None:
        where.append("o.country = $country")
        params["country"] = country
    if stakeholder_type is not None:
        where.append("o.stakeholder_type = $stakeholder_type")
        params["stakeholder_type"] = stakeholder_type
    if sme is not None:
        where.append("o.sme = $sme")
        params["sme"] = sme
    if name_contains is not None:
        where.append("toLower(o.name) CONTAINS $name_contains")
        params["name_contains"] = name_contains.lower()
    body = "\n".join(lines) + "\nWITH DISTINCT o"
    if where:
        body += "\nWHERE " + " AND ".join(where)
    count = Statement(body + "\nRETURN count(o) AS total", dict(params))
    page = Statement(
        body + "\nRETURN o.data AS data ORDER BY o.name, o.org_id SKIP $offset LIMIT $limit", dict(params)
    )
    return count, page


def list_partnerships(
    *,
    kind: str | None = None,
    region: str | None = None,
    ecosystem: str | None = None,
    name_contains: str | None = None,
    parent_id: str | None = None,
) -> tuple[Statement, Statement]:
    """(count, page) for the partnership list; a region matches scopes inside it or containing it."""
    params: dict[str, Any] = {}
    lines = ["MATCH (p:Partnership)"]
    if ecosystem is not None:
        lines = ["MATCH (p:Partnership)-[:IN_ECOSYSTEM]->(:Ecosystem {code: $ecosystem})"]
        params["ecosystem"] = ecosystem
    where: list[str] = []
    if kind is not None:
        where.append("p.kind = $kind")
        params["kind"] = kind
    if parent_id is not None:
        where.append("p.parent_id = $parent_id")
        params["parent_id"] = parent_id
    if region is not None:
        where.append("any(c IN coalesce(p.scope, []) WHERE c STARTS WITH $region OR $region STARTS WITH c)")
        params["region"] = region
    if name_contains is not None:
        where.append("toLower(p.name) CONTAINS $name_contains")
        params["name_contains"] = name_contains.lower()
    body = "\n".join(lines) + "\nWITH DISTINCT p"
    if where:
        body += "\nWHERE " + " AND ".join(where)
    count = Statement(body + "\nRETURN count(p) AS total", dict(params))
    page = Statement(
        body + "\nRETURN p.data AS data ORDER BY p.name, p.partnership_id SKIP $offset LIMIT $limit",
        dict(params),
    )
    return count, page


# -- embeddings ----------------------------------------------------------------------------------
def embedding_hashes(label: Label, props: EmbeddingProperties) -> str:
    h = check_identifier(props.text_hash)
    return f"MATCH (n:{_label(label)}) WHERE n.{h} IS NOT NULL RETURN n.{_key(label)} AS id, n.{h} AS hash"


def count_without_embedding(label: Label, props: EmbeddingProperties) -> str:
    v = check_identifier(props.vector)
    return f"MATCH (n:{_label(label)}) WHERE n.{v} IS NULL RETURN count(n) AS n"


def embedding_hashes_of(label: Label, props: EmbeddingProperties) -> str:
    """The text hashes of the ``$ids`` that have one (rows ``id``, ``hash``)."""
    h = check_identifier(props.text_hash)
    return (
        f"UNWIND $ids AS id MATCH (n:{_label(label)} {{{_key(label)}: id}}) WHERE n.{h} IS NOT NULL "
        f"RETURN n.{_key(label)} AS id, n.{h} AS hash"
    )


def put_embeddings(label: Label, props: EmbeddingProperties) -> str:
    """Set vector and text hash per row ``{id, vector, hash}``; rows of deleted ids match nothing."""
    v, h = check_identifier(props.vector), check_identifier(props.text_hash)
    return (
        f"UNWIND $rows AS r MATCH (n:{_label(label)} {{{_key(label)}: r.id}}) "
        f"SET n.{v} = r.vector, n.{h} = r.hash RETURN count(n) AS n"
    )


def vectors(label: Label, props: EmbeddingProperties) -> str:
    v = check_identifier(props.vector)
    return f"MATCH (n:{_label(label)}) WHERE n.{v} IS NOT NULL RETURN n.{_key(label)} AS id, n.{v} AS vector"


def vectors_of(label: Label, props: EmbeddingProperties) -> str:
    """The vectors of the ``$ids`` that have one (rows ``id``, ``vector``)."""
    v = check_identifier(props.vector)
    return (
        f"UNWIND $ids AS id MATCH (n:{_label(label)} {{{_key(label)}: id}}) WHERE n.{v} IS NOT NULL "
        f"RETURN n.{_key(label)} AS id, n.{v} AS vector"
    )


# -- snapshot ------------------------------------------------------------------------------------
SNAPSHOT_MEMBERSHIPS = (
    "MATCH (o:Organisation)-[m:MEMBER_OF]->(p:Partnership) "
    "RETURN o.org_id AS org_id, p.partnership_id AS partnership_id, m.role AS role"
)

# -- artifacts -----------------------------------------------------------------------------------
#: Run first by every transaction that writes an artifact, as LOCK_JOBS is by job writes: the
#: increment write-locks this node, so artifact writes are serialised and the versions they read
#: after it are the committed ones. Its new value is the version the write gives the artifact
#: (unique in the store, never reused). An artifact written before versions existed has none
#: stored and counts as version 1; the counter starts there (INIT_ARTIFACT_VERSION, at connect).
NEXT_ARTIFACT_VERSION = "MERGE (m:PactmatchMeta {key: 'artifacts'}) SET m.value = coalesce(m.value, 1) + 1 RETURN m.value AS value"
INIT_ARTIFACT_VERSION = "MERGE (m:PactmatchMeta {key: 'artifacts'}) ON CREATE SET m.value = 1"
#: The versions a compare-and-set checks (a name without a row has none: version 0).
ARTIFACT_VERSIONS = (
    "MATCH (a:Artifact) WHERE a.name IN $names RETURN a.name AS name, coalesce(a.version, 1) AS version"
)
DELETE_ARTIFACT_CHUNKS = "MATCH (c:ArtifactChunk {name: $name}) DELETE c"
PUT_ARTIFACT = "MERGE (a:Artifact {name: $name}) SET a.size = $size, a.chunks = $chunks, a.version = $version"
PUT_ARTIFACT_CHUNK = "CREATE (:ArtifactChunk {name: $name, seq: $seq, data: $data})"
GET_ARTIFACT = "MATCH (a:Artifact {name: $name}) RETURN a.chunks AS chunks, a.size AS size, coalesce(a.version, 1) AS version"
GET_ARTIFACT_CHUNKS = "MATCH (c:ArtifactChunk {name: $name}) RETURN c.seq AS seq, c.data AS data ORDER BY seq"
LIST_ARTIFACTS = "MATCH (a:Artifact) WHERE a.name STARTS WITH $prefix RETURN a.name AS name ORDER BY name"
DELETE_ARTIFACT = "MATCH (a:Artifact {name: $name}) DELETE a RETURN count(*) AS n"
DELETE_ARTIFACT_IF = (
    "MATCH (a:Artifact {name: $name}) WHERE coalesce(a.version, 1) = $expected DELETE a RETURN count(*) AS n"
)


# -- accounts and the audit log (written without the version bump) -----------------------------
PUT_USER = "MERGE (u:User {name: $name}) SET u.data = $data"
DELETE_USER = "MATCH (u:User {name: $name}) DELETE u RETURN count(*) AS n"
DELETE_USER_API_KEYS = "MATCH (k:ApiKey {user: $name}) DELETE k"
#: Created after :func:`existing_ids` found no key with this id, in the same transaction (the
#: uniqueness constraint turns away a concurrent twin).
ADD_API_KEY = (
    "CREATE (:ApiKey {key_id: $key_id, user: $user, secret_hash: $secret_hash, label: $label, "
    "created_at: $created_at, last_used_at: $last_used_at, revoked_at: $revoked_at})"
)


def _api_keys(match: str) -> str:
    """The keys ``match`` binds to ``k``, with their fields as columns, oldest first."""
    return (
        f"{match} RETURN k.key_id AS key_id, k.user AS user, k.secret_hash AS secret_hash, "
        "k.label AS label, k.created_at AS created_at, k.last_used_at AS last_used_at, "
        "k.revoked_at AS revoked_at ORDER BY k.created_at, k.key_id"
    )


GET_API_KEY = _api_keys("MATCH (k:ApiKey {key_id: $key_id})")
LIST_API_KEYS = _api_keys("MATCH (k:ApiKey)")
LIST_USER_API_KEYS = _api_keys("MATCH (k:ApiKey {user: $user})")
#: Each sets its own property only, so a use recorded at the same time never undoes a revocation.
#: Both read the property they set in the SET itself, so Neo4j write-locks the key before reading:
#: the latest use wins and the first revocation stays, whatever the order of concurrent writers
#: (ArcadeDB, whose transactions are optimistic, fails the later writer instead, and the driver
#: retries it on the changed key).
TOUCH_API_KEY = (
    "MATCH (k:ApiKey {key_id: $key_id}) SET k.last_used_at = "
    "CASE WHEN k.last_used_at IS NULL OR k.last_used_at < $at THEN $at ELSE k.last_used_at END"
)
REVOKE_API_KEY = (
    "MATCH (k:ApiKey {key_id: $key_id}) SET k.revoked_at = coalesce(k.revoked_at, $at) RETURN count(k) AS n"
)

#: Created after :func:`existing_ids` found no session with this token, as ADD_API_KEY.
ADD_SESSION = (
    "CREATE (:Session {token_hash: $token_hash, user: $user, created_at: $created_at, "
    "expires_at: $expires_at})"
)
GET_SESSION = (
    "MATCH (s:Session {token_hash: $token_hash}) RETURN s.token_hash AS token_hash, s.user AS user, "
    "s.created_at AS created_at, s.expires_at AS expires_at"
)
DELETE_SESSION = "MATCH (s:Session {token_hash: $token_hash}) DELETE s"


def delete_sessions(*, by_user: bool, expired: bool) -> str:
    """End the sessions (of ``$user``; expiring before ``$before``); one row ``n``: how many."""
    match = "MATCH (s:Session {user: $user})" if by_user else "MATCH (s:Session)"
    where = " WHERE s.expires_at < $before" if expired else ""
    return f"{match}{where} DELETE s RETURN count(*) AS n"


INIT_AUDIT_SEQ = "MERGE (m:PactmatchMeta {key: 'audit_seq'}) ON CREATE SET m.value = 0"
#: The entry's ``seq`` comes from a counter incremented in the same transaction, as the version
#: is: the increment write-locks the counter (see TOUCH_API_KEY), so appends are serialised and a
#: later append always gets a higher ``seq``, whichever process makes it. It breaks ties of ``at``.
#: ``seq`` has no uniqueness constraint on purpose: ArcadeDB's transactions are optimistic, and of
#: two appends that read the same counter value it failed the second with a constraint violation
#: (not retried) before noticing the counter's concurrent change (a transient error, which the
#: driver retries, giving it the next number).
APPEND_AUDIT = (
    "MERGE (m:PactmatchMeta {key: 'audit_seq'}) SET m.value = coalesce(m.value, 0) + 1 "
    "WITH m CREATE (:AuditEntry {seq: m.value, at: $at, actor: $actor, data: $data})"
)


def audit_log(*, actor: str | None = None) -> tuple[Statement, Statement]:
    """(count, page with ``$offset``/``$limit``) of the audit log, newest first, ties by ``seq``
    (the last appended first); optionally of one actor."""
    match = "MATCH (a:AuditEntry)"
    params: dict[str, Any] = {}
    if actor is not None:
        match = "MATCH (a:AuditEntry {actor: $actor})"
        params["actor"] = actor
    count = Statement(f"{match} RETURN count(a) AS total", dict(params))
    page = Statement(
        f"{match} RETURN a.data AS data ORDER BY a.at DESC, a.seq DESC SKIP $offset LIMIT $limit",
        dict(params),
    )
    return count, page


# -- background jobs (written without the version bump) -----------------------------------------
#: Run first by every transaction that writes a job record: the increment write-locks this node, so
#: such transactions are serialised (as APPEND_AUDIT's are) and what they read after it, the queue's
#: counts or a job's revision, is what the others committed (ArcadeDB, whose transactions are
#: optimistic, fails the later of two writers instead, and the driver retries it from the start).
#: The node exists before any job is written (ensure_schema runs INIT_JOBS_LOCK): two first
#: MERGEs at once would both create it, and the uniqueness of ``key`` would fail one of them.
LOCK_JOBS = "MERGE (m:PactmatchMeta {key: 'jobs'}) SET m.value = coalesce(m.value, 0) + 1"
INIT_JOBS_LOCK = "MERGE (m:PactmatchMeta {key: 'jobs'}) ON CREATE SET m.value = 0"
ACTIVE_JOBS = "MATCH (j:Job) WHERE j.status IN $statuses RETURN j.owner AS owner, j.status AS status"
#: Created after :func:`existing_ids` found no job with this id, as ADD_API_KEY.
ADD_JOB = (
    "CREATE (:Job {job_id: $job_id, owner: $owner, status: $status, created_at: $created_at, "
    "revision: $revision, data: $data})"
)
LIST_JOBS = "MATCH (j:Job) RETURN j.data AS data ORDER BY j.created_at DESC, j.job_id DESC"
LIST_JOBS_IN = (
    "MATCH (j:Job {status: $status}) RETURN j.data AS data ORDER BY j.created_at DESC, j.job_id DESC"
)
#: The compare-and-set, after LOCK_JOBS in the same transaction.
UPDATE_JOB = (
    "MATCH (j:Job {job_id: $job_id}) WHERE j.revision = $expected "
    "SET j.owner = $owner, j.status = $status, j.revision = $revision, j.data = $data RETURN count(j) AS n"
)
DELETE_JOB = "MATCH (j:Job {job_id: $job_id}) DELETE j RETURN count(*) AS n"
#: One attempt writes its chunks in order, alone: MERGE makes a retried write idempotent.
PUT_JOB_RESULT_CHUNK = (
    "MERGE (c:JobResultChunk {job_id: $job_id, attempt: $attempt, seq: $seq}) SET c.data = $data"
)
GET_JOB_RESULT_CHUNK = (
    "MATCH (c:JobResultChunk {job_id: $job_id, attempt: $attempt, seq: $seq}) RETURN c.data AS data"
)
DELETE_JOB_RESULTS = "MATCH (c:JobResultChunk {job_id: $job_id}) DELETE c"


# -- candidate retrieval -------------------------------------------------------------------------
def candidate_filter(filters: CandidateFilters, var: str = "c") -> Statement:
    """A boolean Cypher expression over candidate ``var`` for ``filters`` (``true`` when none).

    Same semantics as :func:`matching.features.candidate_mask`: countries test the country of the
    primary code (``nuts0``); regions test every code's ancestors (``regions``); ecosystems go
    through ``IN_ECOSYSTEM``.
    """
    check_identifier(var)
    terms: list[str] = []
    params: dict[str, Any] = {}
    if filters.org_ids:
        terms.append(f"{var}.org_id IN $f_only")
        params["f_only"] = list(filters.org_ids)
    if filters.exclude_org_ids:
        terms.append(f"NOT {var}.org_id IN $f_exclude")
        params["f_exclude"] = list(filters.exclude_org_ids)
    if filters.countries:
        terms.append(f"{var}.nuts0 IN $f_countries")
        params["f_countries"] = [nuts_country(c) for c in filters.countries]
    if filters.regions:
        terms.append(f"any(x IN coalesce({var}.regions, []) WHERE x IN $f_regions)")
        params["f_regions"] = list(filters.regions)
    if filters.stakeholder_types:
        terms.append(f"{var}.stakeholder_type IN $f_types")
        params["f_types"] = [t.value for t in filters.stakeholder_types]
    if filters.sme_only:
        terms.append(f"{var}.sme = true")
    if filters.ecosystems:
        terms.append(
            f"EXISTS {{ MATCH ({var})-[:IN_ECOSYSTEM]->(e:Ecosystem) WHERE e.code IN $f_ecosystems }}"
        )
        params["f_ecosystems"] = [e.value for e in filters.ecosystems]
    return Statement(" AND ".join(terms) if terms else "true", params)


def candidate_context(props: EmbeddingProperties) -> str:
    """The partnership (scope, text vector) and its members ordered by id, in one row.

    Member vectors are only sent when the partnership has no vector of its own (the members'
    centroid then stands in for its text).
    """
    v = check_identifier(props.vector)
    return (
        "MATCH (p:Partnership {partnership_id: $pid})\n"
        "OPTIONAL MATCH (p)<-[:MEMBER_OF]-(z:Organisation)\n"
        "WITH p, z ORDER BY z.org_id\n"
        f"WITH p, collect(z {{.org_id, .name, .stakeholder_type, .region_path, eid: elementId(z), "
        f"vector: CASE WHEN p.{v} IS NULL THEN z.{v} ELSE null END}}) AS members\n"
        f"RETURN p.scope AS scope, p.{v} AS vector, members"
    )


#: Each member's distinct co-members, as element ids, in **one row** (``links``): a list of
#: ``[member_id, [element_id, ...]]``. Element ids because reading a property of every co-member
#: (thousands for a member that is a hub) was most of the query's time on ArcadeDB, and an
#: element id needs no property read (CORDIS: 59 → 25 ms and 122 → 49 ms on two large
#: neighbourhoods); they are valid within the read transaction that returned them. One row of
#: lists because Bolt servers pay per record (see ``CANDIDATE_ROW``).
CANDIDATE_NEIGHBOURHOOD = (
    "UNWIND $member_ids AS mid\n"
    "MATCH (z:Organisation {org_id: mid})-[:MEMBER_OF]->(:Partnership)<-[:MEMBER_OF]-(c:Organisation)\n"
    "WHERE c <> z\n"
    "WITH mid, collect(DISTINCT elementId(c)) AS linked\n"
    "RETURN collect([mid, linked]) AS links"
)


#: What the scorer needs of a candidate besides its signals, as one list (returned by every
#: candidate read): ``[org_id, name, stakeholder_type, region_path, element_id]``. Reads return
#: *one row* holding a list of these (with the read's own columns after them): Bolt servers pay
#: per record, and pools hold hundreds.
CANDIDATE_ROW = "c.org_id, c.name, c.stakeholder_type, c.region_path, elementId(c)"


#: One vector index search, its result discarded (builds a lazily built index; see the dialects).
VECTOR_INDEX_PROBE = "CALL db.index.vector.queryNodes($index, $k, $vector) YIELD node RETURN count(node) AS n"


def candidate_nearest(flt: Statement) -> str:
    """Top ``$k`` of the vector index, in one row ``hits``: ``[*CANDIDATE_ROW, score, eligible]``."""
    return (
        "CALL db.index.vector.queryNodes($index, $k, $vector) YIELD node, score\n"
        "WITH node AS c, score\n"
        f"RETURN collect([{CANDIDATE_ROW}, score, {flt.text}]) AS hits"
    )


def _anchor(filters: CandidateFilters) -> str:
    """The narrowest starting set for a filtered scan (an index lookup where a filter allows)."""
    if filters.org_ids:
        return "UNWIND $f_only AS fid MATCH (c:Organisation {org_id: fid})"
    if filters.regions:
        return (
            "MATCH (r:Region) WHERE r.code IN $f_regions\n"
            "MATCH (r)<-[:PART_OF*0..3]-(:Region)<-[:LOCATED_IN]-(c:Organisation)\nWITH DISTINCT c"
        )
    if filters.countries:
        return "UNWIND $f_countries AS fc MATCH (c:Organisation {nuts0: fc})"
    if filters.stakeholder_types:
        return "UNWIND $f_types AS ft MATCH (c:Organisation {stakeholder_type: ft})"
    if filters.ecosystems:
        return (
            "MATCH (e0:Ecosystem) WHERE e0.code IN $f_ecosystems\n"
            "MATCH (e0)<-[:IN_ECOSYSTEM]-(c:Organisation)\nWITH DISTINCT c"
        )
    return "MATCH (c:Organisation)"


def _similarity(props: EmbeddingProperties, cosine: str | None, missing: str) -> str:
    """The raw cosine of ``c`` to ``$vector`` (``cosine``: the dialect's expression), ``missing``
    for an organisation without a vector, ``0.0`` for every one when no vector is asked for."""
    if cosine is None:
        return "0.0"
    return f"CASE WHEN c.{check_identifier(props.vector)} IS NULL THEN {missing} ELSE {cosine} END"


def candidate_closest(
    filters: CandidateFilters, flt: Statement, props: EmbeddingProperties, cosine: str | None
) -> str:
    """Exact cosine top ``$n`` over the filtered organisations (selective filters, no index, or no
    vector: then the first by id). One row ``rows``: ``[*CANDIDATE_ROW, sim]``, best first.
    Organisations without a vector come last (``sim = -2``) rather than not at all: when fewer
    than ``$n`` rows come back, they are *every* eligible organisation."""
    return (
        f"{_anchor(filters)}\n"
        f"WITH c WHERE {flt.text}\n"
        f"WITH c, {_similarity(props, cosine, '-2.0')} AS sim\n"
        "ORDER BY sim DESC, c.org_id LIMIT $n\n"
        f"RETURN collect([{CANDIDATE_ROW}, sim]) AS rows"
    )


def candidate_inside(flt: Statement, props: EmbeddingProperties, cosine: str | None) -> str:
    """Eligible organisations located inside ``$refs`` (through ``PART_OF``), best text first
    (ties by id). One row ``rows``: ``[*CANDIDATE_ROW, sim]`` (top ``$n``)."""
    return (
        "MATCH (r:Region) WHERE r.code IN $refs\n"
        "MATCH (r)<-[:PART_OF*0..3]-(:Region)<-[:LOCATED_IN]-(c:Organisation)\n"
        "WITH DISTINCT c\n"
        f"WHERE {flt.text}\n"
        f"WITH c, {_similarity(props, cosine, '-2.0')} AS sim\n"
        "ORDER BY sim DESC, c.org_id LIMIT $n\n"
        f"RETURN collect([{CANDIDATE_ROW}, sim]) AS rows"
    )


def candidate_columns(flt: Statement, props: EmbeddingProperties, cosine: str | None) -> str:
    """Columns, text similarity and eligibility of the organisations with element ids ``$eids``,
    in one row ``rows``: ``[*CANDIDATE_ROW, sim, eligible]`` (``sim`` null without a vector)."""
    return (
        "UNWIND $eids AS eid\n"
        "MATCH (c:Organisation) WHERE elementId(c) = eid\n"
        f"RETURN collect([{CANDIDATE_ROW}, {_similarity(props, cosine, 'null')}, {flt.text}]) AS rows"
    )


#: The partnerships of each of ``$ids`` (one hop), as element ids. Shared partnerships between a
#: candidate and a member are the intersection of their lists: two cheap one-hop reads instead of
#: a two-hop expansion from candidates that are often hubs with thousands of co-members. Element
#: ids because only identity matters here and reading a property of every partnership is what
#: such a read costs (as for the neighbourhood). One row ``partnerships`` of
#: ``[id, [element_id, ...]]`` (one row, not one per id: see CANDIDATE_ROW).
PARTNERSHIPS_OF = (
    "UNWIND $ids AS id MATCH (o:Organisation {org_id: id})-[:MEMBER_OF]->(q:Partnership) "
    "WITH id, collect(elementId(q)) AS partnerships RETURN collect([id, partnerships]) AS partnerships"
)
