"""Neo4j's own Cypher linter for the tests, and a driver that records what the Bolt tests send.

No Neo4j server can run on the build machines, and ArcadeDB accepts a different Cypher, so the
statements only Neo4j would see (and any statement ArcadeDB happens to tolerate) were untested.
``tools/cypher-lint`` runs ``lintCypherQuery`` of ``@neo4j-cypher/language-support`` (the core of
Neo4j's language server: its parser and semantic analysis) as Cypher 5 in one Node process that
answers JSON lines; :class:`CypherLinter` talks to it. :class:`RecordingDriver` wraps a
``neo4j.Driver`` so every statement text the store sends, with its parameter names, lands in a
:class:`StatementLog` (``tests/conftest.py`` installs it for the whole session and lints each
test's statements at its teardown).

What fails a test (:meth:`Diagnostic.fails`): every error, and a warning that a label or
relationship type is not in :class:`~graph.cypher.Label` / :class:`~graph.cypher.Rel` (such a
statement runs but matches nothing: a misspelling). Other warnings (deprecations, performance
notices such as cartesian products) are reported as :class:`CypherLintWarning` and fail nothing:
deprecated Cypher 5 still runs on every Neo4j 5.x.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Self

from graph.cypher import Label, Rel

RUNNER_DIR = Path(__file__).resolve().parents[2] / "tools" / "cypher-lint"
#: A statement that runs but can never match: our labels and types come from the closed enums.
_UNKNOWN_NAME = re.compile(
    r"^(Label|Relationship type|Label or relationship type) .* is not present in the database"
)


class CypherLintWarning(UserWarning):
    """A warning of Neo4j's linter that fails nothing (shown in pytest's warnings summary)."""


class CypherLinterUnavailable(RuntimeError):
    """The linter cannot run here (no Node.js, or ``scripts/setup.sh`` has not installed it)."""


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    message: str
    line: int
    column: int
    deprecated: bool

    @property
    def fails(self) -> bool:
        return self.severity == "error" or bool(_UNKNOWN_NAME.match(self.message))

    def __str__(self) -> str:
        return f"{self.line}:{self.column} {self.severity}: {self.message}"


@dataclass(frozen=True)
class LintResult:
    diagnostics: tuple[Diagnostic, ...]
    #: The parameter names the statement uses, as Neo4j's parser sees them.
    used_parameters: frozenset[str]

    @property
    def failures(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.fails]

    @property
    def notes(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.fails]


def describe(text: str, parameters: Iterable[str], diagnostics: Iterable[Diagnostic]) -> str:
    """A statement and its diagnostics, as a failure message shows them."""
    lines = "\n".join(f"    {d}" for d in diagnostics)
    return f"  parameters {sorted(parameters)}:\n{_indent(text)}\n{lines}"


def _indent(text: str) -> str:
    return "\n".join(f"    | {line}" for line in text.splitlines())


class CypherLinter:
    """One ``tools/cypher-lint`` process, started on first use, and its results cached.

    Results are cached per (statement text, declared parameter names), in memory and on disk
    (``tools/cypher-lint/.cache``, ignored by git) under a key that includes the runner and the
    lockfile, so a new linter version lints everything again: Neo4j's semantic analysis takes
    tenths of a second per statement on these machines, and the Bolt suite sends the same few
    dozen texts thousands of times. A fresh checkout (CI) lints everything.
    """

    def __init__(self, runner_dir: Path = RUNNER_DIR, cache_dir: Path | None = None) -> None:
        self.runner_dir = runner_dir
        self.cache_file = (cache_dir or runner_dir / ".cache") / "results.jsonl"
        self._process: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self._results: dict[tuple[str, frozenset[str] | None], LintResult] = {}
        self._disk: dict[str, dict[str, Any]] | None = None
        self._version: bytes | None = None
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[str, frozenset[str] | None] | None] = queue.SimpleQueue()
        self._queued: set[tuple[str, frozenset[str] | None]] = set()
        self._queue_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._closing = False
        self._ids = 0
        #: Statements the linter process itself checked (the rest came from the disk cache).
        self.ran = 0
        #: Seconds spent linting (start-up included), in the foreground or in the background.
        self.seconds = 0.0

    @property
    def linted(self) -> int:
        """How many distinct statement texts were linted (or found in the disk cache)."""
        return len({text for text, _ in self._results})

    def _start(self) -> subprocess.Popen[str]:
        node = shutil.which("node")
        if node is None:
            raise CypherLinterUnavailable("Node.js (`node`) is not on PATH: the Cypher linter needs it")
        if not (self.runner_dir / "node_modules" / "@neo4j-cypher" / "language-support").is_dir():
            raise CypherLinterUnavailable(
                f"{self.runner_dir / 'node_modules'} is missing: run scripts/setup.sh "
                "(it runs `npm ci --prefix tools/cypher-lint`)"
            )
        # Kept open as long as the process (closed by close()): its last words explain a crash.
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        return subprocess.Popen(
            [node, "lint.mjs"],
            cwd=self.runner_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        if self._process is None:
            self._process = self._start()
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        self._ids += 1
        request = {"id": self._ids, **request}
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            line = process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            process.wait(10)
            raise CypherLinterUnavailable(
                f"the Cypher linter exited ({process.returncode}): {self._errors()}"
            )
        reply: dict[str, Any] = json.loads(line)
        if reply.get("id") != request["id"]:
            raise CypherLinterUnavailable(f"the Cypher linter answered {reply!r} to request {request['id']}")
        if "fatal" in reply:
            raise CypherLinterUnavailable(f"the Cypher linter could not read a request: {reply['fatal']}")
        self.ran += 1
        return reply

    def _errors(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().strip()[-2000:]

    # -- the disk cache: one JSON line per request, keyed by runner, lockfile and request ---------
    def _runner_version(self) -> bytes:
        if self._version is None:
            digest = hashlib.sha256()
            for name in ("lint.mjs", "package-lock.json"):
                digest.update((self.runner_dir / name).read_bytes())
            self._version = digest.digest()
        return self._version

    def _disk_cache(self) -> dict[str, dict[str, Any]]:
        if self._disk is None:
            self._disk = {}
            if self.cache_file.exists():
                for line in self.cache_file.read_text(encoding="utf-8").splitlines():
                    with contextlib.suppress(ValueError, KeyError):
                        entry = json.loads(line)
                        self._disk[entry["key"]] = entry["reply"]
        return self._disk

    def _cached_ask(self, request: dict[str, Any]) -> dict[str, Any]:
        key = hashlib.sha256(
            self._runner_version() + json.dumps(request, sort_keys=True).encode()
        ).hexdigest()
        cache = self._disk_cache()
        reply = cache.get(key)
        if reply is None:
            reply = self._ask(request)
            cache[key] = reply
            with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
                self.cache_file.parent.mkdir(parents=True, exist_ok=True)
                with self.cache_file.open("a", encoding="utf-8") as out:
                    out.write(json.dumps({"key": key, "reply": reply}) + "\n")
        return reply

    def _lint(self, text: str, parameters: frozenset[str] | None) -> LintResult:
        key = (text, parameters)
        with self._lock:
            cached = self._results.get(key)
            if cached is not None:
                return cached
            started = time.perf_counter()
            request: dict[str, Any] = {
                "query": text,
                "labels": [label.value for label in Label],
                "relationshipTypes": [rel.value for rel in Rel],
            }
            if parameters is None:
                request["declareUsed"] = True
            else:
                # The linter looks at the names only (it does not type parameters).
                request["parameters"] = dict.fromkeys(sorted(parameters))
            reply = self._cached_ask(request)
            self.seconds += time.perf_counter() - started
            result = LintResult(
                tuple(
                    Diagnostic(d["severity"], d["message"], d["line"], d["column"], d["deprecated"])
                    for d in reply["diagnostics"]
                ),
                frozenset(reply["parameters"]),
            )
            self._results[key] = result
            if parameters is None:  # the same as declaring exactly the names it uses
                self._results.setdefault((text, result.used_parameters), result)
            return result

    def lint(self, text: str, parameters: Iterable[str]) -> LintResult:
        """Neo4j's diagnostics for ``text`` with exactly ``parameters`` declared."""
        return self._lint(text, frozenset(parameters))

    def prefetch(self, text: str, parameters: Iterable[str] | None) -> None:
        """Start linting ``text`` on a background thread, so that a test's statements are linted
        while it goes on talking to the server; :meth:`lint` then finds the result (or waits for
        it). ``None``: as :meth:`lint_declaring_used`."""
        key = (text, None if parameters is None else frozenset(parameters))
        with self._queue_lock:
            if key in self._queued or key in self._results:
                return
            self._queued.add(key)
            if self._worker is None:
                self._worker = threading.Thread(target=self._prefetching, name="cypher-lint", daemon=True)
                self._worker.start()
        self._queue.put(key)

    def _prefetching(self) -> None:
        while (key := self._queue.get()) is not None and not self._closing:
            # A failure here is raised again, where it belongs, when the test's teardown lints it.
            with contextlib.suppress(Exception):
                self._lint(*key)

    def lint_declaring_used(self, text: str) -> LintResult:
        """Lint ``text`` with the parameters it uses declared (for a statement whose parameters
        are only known at the store's call site: the recorded Bolt suite checks those)."""
        return self._lint(text, None)

    def close(self) -> None:
        if self._worker is not None:
            self._closing = True  # what is still queued was not needed: drop it
            self._queue.put(None)
            self._worker.join()
            self._worker = None
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            assert self._process.stdout is not None
            self._process.stdout.close()
            self._process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


# -- recording what the store sends ---------------------------------------------------------------
@dataclass(frozen=True)
class SentStatement:
    text: str
    parameters: frozenset[str]


class StatementLog:
    """The statements sent through recording drivers (thread-safe: the store sends its vector
    search from a thread pool), drained by whoever checks them."""

    def __init__(self, on_new: Callable[[SentStatement], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._pending: list[SentStatement] = []
        self.distinct: set[SentStatement] = set()
        #: Called with each statement the first time it is sent (e.g. to start linting it).
        self.on_new = on_new

    def record(self, query: Any, parameters: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> None:
        # A neo4j.Query carries its text in .text; the store sends plain strings.
        text = query if isinstance(query, str) else str(query.text)
        sent = SentStatement(text, frozenset(parameters or {}) | frozenset(kwargs))
        with self._lock:
            self._pending.append(sent)
            new = sent not in self.distinct
            self.distinct.add(sent)
        if new and self.on_new is not None:
            self.on_new(sent)

    def drain(self) -> list[SentStatement]:
        """The statements recorded since the last drain, each once, in the order first sent."""
        with self._lock:
            pending, self._pending = self._pending, []
        return list(dict.fromkeys(pending))


class _Recording:
    """Delegates everything it does not record to the wrapped driver object."""

    def __init__(self, inner: Any, log: StatementLog) -> None:
        self._inner = inner
        self._log = log

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    # Dunder methods are looked up on the type, never through __getattr__.
    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._inner.__exit__(*exc)


class RecordingTransaction(_Recording):
    """A managed or explicit transaction whose ``run`` is recorded."""

    def run(self, query: Any, parameters: dict[str, Any] | None = None, **kwparameters: Any) -> Any:
        self._log.record(query, parameters, kwparameters)
        return self._inner.run(query, parameters, **kwparameters)


class RecordingSession(_Recording):
    """A session whose auto-commit ``run`` and transactions are recorded."""

    def run(self, query: Any, parameters: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        self._log.record(query, parameters, kwargs)
        return self._inner.run(query, parameters, **kwargs)

    def _unit(self, work: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(tx: Any, *args: Any, **kwargs: Any) -> Any:
            return work(RecordingTransaction(tx, self._log), *args, **kwargs)

        return recorded

    def execute_read(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._inner.execute_read(self._unit(work), *args, **kwargs)

    def execute_write(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._inner.execute_write(self._unit(work), *args, **kwargs)

    def begin_transaction(self, *args: Any, **kwargs: Any) -> RecordingTransaction:
        return RecordingTransaction(self._inner.begin_transaction(*args, **kwargs), self._log)


class RecordingDriver(_Recording):
    """A ``neo4j.Driver`` whose sessions (and ``execute_query``) record every statement sent."""

    def session(self, *args: Any, **kwargs: Any) -> RecordingSession:
        return RecordingSession(self._inner.session(*args, **kwargs), self._log)

    def execute_query(
        self, query_: Any, parameters_: dict[str, Any] | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        # Its keyword arguments ending in "_" configure the call; the others are query parameters.
        self._log.record(query_, parameters_, {k: v for k, v in kwargs.items() if not k.endswith("_")})
        return self._inner.execute_query(query_, parameters_, *args, **kwargs)


def check_sent(
    statements: Iterable[SentStatement], linter: CypherLinter, noted: set[SentStatement]
) -> list[str]:
    """Lint each statement sent: a description of each that fails (see :meth:`Diagnostic.fails`).

    Notes (warnings that fail nothing) are warned as :class:`CypherLintWarning` once per
    statement per session (``noted`` remembers which were); failures count every time, so every
    test that sends a failing statement fails.
    """
    failing = []
    for sent in statements:
        result = linter.lint(sent.text, sent.parameters)
        if result.failures:
            failing.append(describe(sent.text, sent.parameters, result.failures))
        if result.notes and sent not in noted:
            noted.add(sent)
            warnings.warn(
                CypherLintWarning(
                    "Neo4j's linter notes:\n" + describe(sent.text, sent.parameters, result.notes)
                ),
                stacklevel=2,
            )
    return failing
