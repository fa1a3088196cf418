"""Every statement ``graph/cypher.py`` can build, checked by Neo4j's own linter (Cypher 5).

The Bolt suite runs the store against ArcadeDB, which accepts a different Cypher, and sends only
the ArcadeDB dialect's statements; Neo4j's statements (the vector index DDL, the other dialect's
cosine, argument combinations no Bolt test reaches) are checked here, without a server, by
``tools/cypher-lint`` (see ``tests/graph/cypher_lint.py``). What every Bolt test actually sends is
linted too, by the recording driver of ``tests/conftest.py``.

Builders and constants are discovered by introspection: a new public function of
``graph/cypher.py`` fails :func:`test_every_builder_and_constant_has_cases` until it has cases
here (or is named as a helper that builds no statement).

Cases cover every value of each argument at least once (every label and relationship type a
builder accepts, both dialects' cosine, each filter alone, none and all), not the full product:
the texts differ only in names, and Neo4j's semantic analysis costs tenths of a second per
statement on these machines.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domain.candidates import CandidateFilters
from domain.errors import InvalidInputError
from domain.models import Ecosystem, StakeholderType
from graph import cypher, dialects
from graph.cypher import Label, Rel, Statement
from graph.dialects import DIALECTS, Neo4jDialect, make_dialect
from tests.graph.cypher_lint import (
    CypherLinter,
    CypherLintWarning,
    LintResult,
    RecordingDriver,
    SentStatement,
    StatementLog,
    check_sent,
    describe,
)


@dataclass(frozen=True)
class Case:
    """One statement to lint. ``parameters`` are the names declared; ``None`` declares the names
    the statement uses (where only the store's call site knows them: the recorded Bolt suite
    checks those), so only syntax and semantics are checked."""

    name: str
    text: str
    parameters: frozenset[str] | None = None


PROPS = cypher.embedding_properties("sentence-transformers/all-MiniLM-L6-v2")
#: Each dialect's raw-cosine expression, as the store builds it.
COSINES = {name: make_dialect(name).cosine(f"c.{PROPS.vector}", "$vector") for name in DIALECTS}
#: A builder's ``cosine: str | None`` also takes ``None`` (text similarity not wanted).
COSINES_OR_NONE: dict[str, str | None] = {**COSINES, "no cosine": None}


def _accepts(builder: Callable[..., object], args: Sequence[object]) -> bool:
    try:
        builder(*args)
    except InvalidInputError:
        return False
    return True


def each_choice(builder: Callable[..., object], *choices: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Few argument tuples in which every value of every argument that ``builder`` accepts
    appears at least once (greedily, the accepted tuple covering most values not yet seen)."""
    accepted = [args for args in itertools.product(*choices) if _accepts(builder, args)]
    uncovered = {(position, value) for args in accepted for position, value in enumerate(args)}
    chosen: list[tuple[Any, ...]] = []
    while uncovered:
        best = max(accepted, key=lambda args: len(uncovered & set(enumerate(args))))
        chosen.append(best)
        uncovered -= set(enumerate(best))
    return chosen


def _name(value: object) -> str:
    return value.value if isinstance(value, Label | Rel) else repr(value)


def builder_cases(builder: Callable[..., str], *choices: Sequence[Any]) -> list[Case]:
    return [
        Case(f"{builder.__name__}({', '.join(map(_name, args))})", builder(*args))
        for args in each_choice(builder, *choices)
    ]


def none_each_all(builder: Callable[..., Any], samples: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """``builder`` called with no keyword, each keyword alone, and all of them (its keyword
    parameters read from its signature, so a new filter cannot be missed)."""
    keywords = [p.name for p in inspect.signature(builder).parameters.values() if p.kind is p.KEYWORD_ONLY]
    missing = set(keywords) - set(samples)
    assert not missing, f"{builder.__name__}: no sample value for {sorted(missing)}"
    yield "no filter", builder()
    for keyword in keywords:
        yield keyword, builder(**{keyword: samples[keyword]})
    yield "every filter", builder(**{k: samples[k] for k in keywords})


LIST_SAMPLES: dict[str, Any] = {
    "country": "DE",
    "region": "DE1",
    "stakeholder_type": "sme",
    "sme": True,
    "ecosystem": "digital",
    "name_contains": "Skills",
    "partnership_id": "p1",
    "kind": "regional",
    "parent_id": "p0",
    "actor": "ann",
}


def list_cases(builder: Callable[..., tuple[Statement, Statement]]) -> list[Case]:
    """Count and page statements; the page also takes ``$offset``/``$limit`` (the store adds
    them), everything else is declared exactly as the builder's ``Statement.params``."""
    cases = []
    for label, (count, page) in none_each_all(builder, LIST_SAMPLES):
        cases.append(Case(f"{builder.__name__}({label}) count", count.text, frozenset(count.params)))
        cases.append(
            Case(f"{builder.__name__}({label}) page", page.text, frozenset(page.params) | {"offset", "limit"})
        )
    return cases


# == candidate builders: ONE TABLE ===============================================================
# The candidate query (and these builders) are being reworked: keep their cases here, compact, so
# a signature change means editing this block only. The recorded Bolt suite lints whatever the
# store really sends, with its real parameters.

#: A non-empty value for every CandidateFilters field (each filter alone, none, all).
CANDIDATE_FILTER_SAMPLES: dict[str, Any] = {
    "countries": ("GR",),
    "regions": ("DE1",),
    "stakeholder_types": (StakeholderType.TRADE_UNION,),
    "sme_only": True,
    "ecosystems": (Ecosystem.DIGITAL,),
    "exclude_org_ids": ("x",),
    "org_ids": ("y", "z"),
}
#: Statement fragments, linted inside the builders that use them.
CANDIDATE_FRAGMENTS = {"CANDIDATE_ROW"}


def candidate_filters() -> list[tuple[str, CandidateFilters]]:
    fields = [f.name for f in dataclasses.fields(CandidateFilters)]
    missing = set(fields) - set(CANDIDATE_FILTER_SAMPLES)
    assert not missing, f"CandidateFilters: no sample value for {sorted(missing)}"
    return [
        ("no filter", CandidateFilters()),
        *((name, CandidateFilters(**{name: CANDIDATE_FILTER_SAMPLES[name]})) for name in fields),
        ("every filter", CandidateFilters(**CANDIDATE_FILTER_SAMPLES)),
    ]


def _flt(filters: CandidateFilters) -> Statement:
    return cypher.candidate_filter(filters)


_FILTERS = candidate_filters()
_NONE_AND_ALL = [_FILTERS[0], _FILTERS[-1]]
CANDIDATE_CASES: dict[str, Callable[[], list[Case]]] = {
    # The filter expression in a statement of its own, its parameters declared exactly.
    "candidate_filter": lambda: [
        Case(
            f"candidate_filter({name})",
            f"MATCH (c:Organisation) WHERE {s.text} RETURN c.org_id AS id",
            frozenset(s.params),
        )
        for name, s in ((name, _flt(f)) for name, f in _FILTERS)
    ],
    "candidate_context": lambda: [Case("candidate_context", cypher.candidate_context(PROPS))],
    "candidate_nearest": lambda: [
        Case(f"candidate_nearest({name})", cypher.candidate_nearest(_flt(f))) for name, f in _NONE_AND_ALL
    ],
    # The anchor depends on which filter is set: every filter alone; each dialect's cosine or none.
    "candidate_closest": lambda: [
        Case(
            f"candidate_closest({name}, {cos})",
            cypher.candidate_closest(f, _flt(f), PROPS, COSINES_OR_NONE[cos]),
        )
        for (name, f), cos in zip(_FILTERS, itertools.cycle(COSINES_OR_NONE), strict=False)
    ],
    "candidate_inside": lambda: [
        Case(
            f"candidate_inside({name}, {cos})", cypher.candidate_inside(_flt(f), PROPS, COSINES_OR_NONE[cos])
        )
        for (name, f), cos in zip(itertools.cycle(_NONE_AND_ALL), COSINES_OR_NONE, strict=False)
    ],
    "candidate_columns": lambda: [
        Case(
            f"candidate_columns({name}, {cos})",
            cypher.candidate_columns(_flt(f), PROPS, COSINES_OR_NONE[cos]),
        )
        for (name, f), cos in zip(itertools.cycle(_NONE_AND_ALL), COSINES_OR_NONE, strict=False)
    ],
}
# == end of the candidate table ==================================================================

LABELS = list(Label)
RELS = list(Rel)
#: Public functions of graph/cypher.py that build no statement.
HELPERS = {"check_identifier", "embedding_properties"}


def _cases(builder: Callable[..., str], *choices: Sequence[Any]) -> Callable[[], list[Case]]:
    return lambda: builder_cases(builder, *choices)


BUILDER_CASES: dict[str, Callable[[], list[Case]]] = {
    "audit_log": lambda: list_cases(cypher.audit_log),
    "delete_sessions": lambda: [
        Case(f"delete_sessions(by_user={u}, expired={e})", cypher.delete_sessions(by_user=u, expired=e))
        for u, e in itertools.product((False, True), repeat=2)
    ],
    "schema_statements": lambda: [
        Case(f"schema_statements()[{i}]", s) for i, s in enumerate(cypher.schema_statements())
    ],
    **{
        builder.__name__: _cases(builder, LABELS)
        for builder in (
            cypher.existing_ids,
            cypher.existing_data,
            cypher.create_nodes,
            cypher.update_nodes,
            cypher.node_data,
            cypher.iter_data,
            cypher.count_nodes,
        )
    },
    "delete_links": _cases(cypher.delete_links, LABELS, RELS),
    "create_links": _cases(cypher.create_links, LABELS, RELS, LABELS),
    "memberships": lambda: [
        Case(f"memberships(by_org={o}, by_partnership={p})", cypher.memberships(by_org=o, by_partnership=p))
        for o, p in itertools.product((False, True), repeat=2)
    ],
    "list_organisations": lambda: list_cases(cypher.list_organisations),
    "list_partnerships": lambda: list_cases(cypher.list_partnerships),
    **{
        builder.__name__: _cases(builder, LABELS, [PROPS])
        for builder in (
            cypher.count_without_embedding,
            cypher.embedding_hashes,
            cypher.embedding_hashes_of,
            cypher.put_embeddings,
            cypher.vectors,
            cypher.vectors_of,
        )
    },
    **CANDIDATE_CASES,
}

#: Public methods of the Neo4j dialect: those that build Cypher, and the rest.
DIALECT_CASES: dict[str, Callable[[], list[Case]]] = {
    "vector_index_ddl": lambda: [
        Case(
            f"Neo4jDialect.vector_index_ddl({label.value}, {dim})",
            Neo4jDialect().vector_index_ddl(label, PROPS.vector, dim),
        )
        for label, dim in ((Label.ORGANISATION, 384), (Label.PARTNERSHIP, 4096))
    ],
}
DIALECT_HELPERS = {
    "vector_index_name",  # a name, sent as a parameter value
    "ensure_vector_index",  # runs vector_index_ddl
    "build_vector_index",  # sends VECTOR_INDEX_PROBE (a constant)
    "cosine",  # an expression: linted inside the candidate builders, for every dialect
    "index_score_to_cosine",
}


def constants() -> dict[str, str]:
    """The module-level statements of graph/cypher.py (upper-case string constants)."""
    return {
        name: value
        for name, value in vars(cypher).items()
        if name.isupper() and isinstance(value, str) and name not in CANDIDATE_FRAGMENTS
    }


def _public(members: Iterable[tuple[str, object]], module: str | None = None) -> set[str]:
    return {
        name
        for name, member in members
        if not name.startswith("_")
        and inspect.isfunction(member)
        and (module is None or member.__module__ == module)
    }


def test_every_builder_and_constant_has_cases() -> None:
    builders = _public(inspect.getmembers(cypher), cypher.__name__)
    assert builders - HELPERS == set(BUILDER_CASES), "give each public builder of graph/cypher.py cases here"
    assert not HELPERS & set(BUILDER_CASES)
    methods = _public(inspect.getmembers(Neo4jDialect))
    assert methods == set(DIALECT_CASES) | DIALECT_HELPERS, "a new Neo4jDialect method: does it build Cypher?"
    assert tuple(COSINES) == dialects.DIALECTS
    for fragment in CANDIDATE_FRAGMENTS:  # a fragment is linted where it is used, so it must be used
        fragment_text = getattr(cypher, fragment)
        assert any(fragment_text in case.text for cases in CANDIDATE_CASES.values() for case in cases())
    assert len(constants()) >= 20


def all_cases() -> list[Case]:
    return [
        *(case for cases in (*BUILDER_CASES.values(), *DIALECT_CASES.values()) for case in cases()),
        *(Case(name, text) for name, text in constants().items()),
    ]


def prefetch_cases(linter: CypherLinter) -> None:
    """Queue every case on the linter's background thread (``tests/graph/conftest.py`` does at the
    start of a session that runs this module, so the other tests hide the analysis' cost)."""
    for case in all_cases():
        linter.prefetch(case.text, case.parameters)


def _lint(linter: CypherLinter, case: Case) -> LintResult:
    if case.parameters is None:
        return linter.lint_declaring_used(case.text)
    return linter.lint(case.text, case.parameters)


def _check(linter: CypherLinter, cases: Iterable[Case]) -> None:
    """Lint every case: fail on any failing diagnostic, warn the notes."""
    failing = []
    for case in cases:
        result = _lint(linter, case)
        declared = result.used_parameters if case.parameters is None else case.parameters
        if result.failures:
            failing.append(f"{case.name}\n{describe(case.text, declared, result.failures)}")
        if result.notes:
            warnings.warn(
                CypherLintWarning(
                    f"{case.name}: Neo4j's linter notes:\n{describe(case.text, declared, result.notes)}"
                ),
                stacklevel=2,
            )
    assert not failing, "Neo4j's linter rejects:\n" + "\n".join(failing)


@pytest.mark.parametrize("builder", sorted(BUILDER_CASES))
def test_builder_statements_pass_neo4j_linter(builder: str, cypher_linter: CypherLinter) -> None:
    cases = BUILDER_CASES[builder]()
    assert cases, f"{builder}: no case"
    _check(cypher_linter, cases)


@pytest.mark.parametrize("method", sorted(DIALECT_CASES))
def test_neo4j_dialect_statements_pass_neo4j_linter(method: str, cypher_linter: CypherLinter) -> None:
    _check(cypher_linter, DIALECT_CASES[method]())


def test_constants_pass_neo4j_linter(cypher_linter: CypherLinter) -> None:
    _check(cypher_linter, [Case(name, text) for name, text in constants().items()])


# -- the linter itself -----------------------------------------------------------------------------
def test_the_linter_fails_what_it_must_and_only_that(tmp_path: Path) -> None:
    """Parameters are declared (an undeclared one is an error), Neo4j's function and procedure
    registry is checked, a label outside Label fails, a deprecation is only a note.

    With a cache of its own, so the Node process really starts and answers on every run (the
    session's linter may find everything in its disk cache)."""
    cypher_linter = CypherLinter(cache_dir=tmp_path)
    try:
        _must_and_only(cypher_linter)
    finally:
        cypher_linter.close()
    assert cypher_linter.ran > 0


def _must_and_only(cypher_linter: CypherLinter) -> None:
    query = "MATCH (n:Organisation {org_id: $id}) RETURN n.data AS data"
    assert cypher_linter.lint(query, {"id"}).diagnostics == ()
    undeclared = cypher_linter.lint(query, set()).failures
    assert [d.message for d in undeclared] == ["Parameter $id is not defined."]
    assert cypher_linter.lint(query, set()).used_parameters == {"id"}
    probe = "CALL db.index.vector.queryNodes($index, $k, $vector) YIELD node, scor RETURN count(node) AS n"
    assert any("scor" in d.message for d in cypher_linter.lint(probe, {"index", "k", "vector"}).failures)
    typo = cypher_linter.lint("RETURN vector.similarity.cosin([1.0], [1.0]) AS s", ()).failures
    assert typo and "vector.similarity.cosin" in typo[0].message
    assert cypher_linter.lint("MATCH (n:Organization) RETURN count(n) AS n", ()).failures  # not a Label
    deprecated = cypher_linter.lint("MATCH (n:Organisation) RETURN id(n) AS i", ())
    assert deprecated.notes and not deprecated.failures
    # Neo4j 5's DDL, which ArcadeDB's Cypher rejects, is Neo4j's own: a broken one is caught.
    assert cypher_linter.lint(
        "CREATE VECTOR INDEX x IF NOT EXISTS FOR (n:Organisation) ON n.v OPTIONS", ()
    ).failures


# -- the recording driver --------------------------------------------------------------------------
class _FakeTransaction:
    def run(self, query: str, parameters: dict[str, Any] | None = None, **kwparameters: Any) -> str:
        return f"ran {query}"

    def __enter__(self) -> _FakeTransaction:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class _FakeSession(_FakeTransaction):
    def execute_read(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return work(_FakeTransaction(), *args, **kwargs)

    execute_write = execute_read

    def begin_transaction(self) -> _FakeTransaction:
        return _FakeTransaction()


class _FakeDriver:
    def session(self, **kwargs: Any) -> _FakeSession:
        return _FakeSession()

    def execute_query(self, query_: str, parameters_: dict[str, Any] | None = None, **kwargs: Any) -> str:
        return f"ran {query_}"

    def verify_connectivity(self) -> str:
        return "reachable"


def test_the_recording_driver_records_every_way_of_sending_a_statement() -> None:
    log = StatementLog()
    driver = RecordingDriver(_FakeDriver(), log)
    with driver.session(database="x") as session:
        assert session.run("A", {"a": 1}) == "ran A"
        assert session.execute_read(lambda tx: tx.run("B", b=1)) == "ran B"
        assert session.execute_write(lambda tx, n: tx.run("C", {"c": 1}, d=n), 2) == "ran C"
        with session.begin_transaction() as tx:
            tx.run("D")
        session.run("A", {"a": 2})  # the same statement again: recorded once
    assert driver.execute_query("E", {"e": 1}, database_="x", f=3) == "ran E"
    assert driver.verify_connectivity() == "reachable"  # the rest is the driver's own
    assert log.drain() == [
        SentStatement("A", frozenset({"a"})),
        SentStatement("B", frozenset({"b"})),
        SentStatement("C", frozenset({"c", "d"})),
        SentStatement("D", frozenset()),
        SentStatement("E", frozenset({"e", "f"})),
    ]
    assert log.drain() == [] and len(log.distinct) == 5


def test_a_failing_sent_statement_is_described_and_notes_are_warned_once(cypher_linter: CypherLinter) -> None:
    noted: set[SentStatement] = set()
    bad = SentStatement("MATCH (o:Organisation {org_id: $id}) RETURN o.data AS data", frozenset({"org_id"}))
    [failure] = check_sent([bad], cypher_linter, noted)
    assert "Parameter $id is not defined." in failure and "['org_id']" in failure
    old = SentStatement("MATCH (n:Organisation) RETURN id(n) AS i", frozenset())
    with pytest.warns(CypherLintWarning, match="deprecated"):
        assert check_sent([old], cypher_linter, noted) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_sent([old], cypher_linter, noted) == []  # noted once per session
