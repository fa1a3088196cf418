"""``pactmatch arcadedb`` for real, then the CLI and the API against it exactly as with the embedded store."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.app import create_app
from graph.arcadedb_server import free_port
from pactmatch.cli import app
from pactmatch.settings import Settings
from tests.conftest import admin_client

PASSWORD = "pactmatch-cli-test"

PROJECTS = """project_id,source,programme,acronym,title,objective,start_date,consortium_complete
P1,test,H2020,WELD,Welding skills for automotive plants,Training welders for electric car production,2020-01-01,True
P2,test,H2020,BATT,Battery cell manufacturing skills,Upskilling workers for battery factories,2021-03-01,True
P3,test,H2020,ROBO,Robotics in welding,Robots and welders working together,2019-05-01,True
"""
PARTICIPANTS = """project_id,org_id,org_name,role,activity_type,sme,country,city,postcode,nuts_code,source
P1,A,Stuttgart Welding Works,coordinator,PRC,False,DE,Stuttgart,70173,DE111,test
P1,B,Vocational School Esslingen,participant,PUB,False,DE,Esslingen,73728,DE113,test
P2,A,Stuttgart Welding Works,participant,PRC,False,DE,Stuttgart,70173,DE111,test
P2,C,Battery Institute Ulm,coordinator,REC,False,DE,Ulm,89081,DE144,test
P2,D,Lyon Battery SME,participant,PRC,True,FR,Lyon,69001,FRK26,test
P3,B,Vocational School Esslingen,participant,PUB,False,DE,Esslingen,73728,DE113,test
P3,E,Robotics University Munich,coordinator,HES,False,DE,München,80333,DE212,test
P3,C,Battery Institute Ulm,participant,REC,False,DE,Ulm,89081,DE144,test
"""


def test_short_password_is_refused_before_starting(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["arcadedb", "--data", str(tmp_path / "adb"), "--password", "short"])
    assert result.exit_code == 1
    assert "at least 8 characters" in result.output and "Traceback" not in result.output


def _lines(stream: object, out: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        out.put(line)


@pytest.mark.bolt
def test_arcadedb_command_serves_the_cli_and_the_api(tmp_path: Path) -> None:
    bolt_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "PACTMATCH_NEO4J_DATABASE": "clitest",
        "PACTMATCH_NEO4J_USER": "root",
        "PACTMATCH_NEO4J_PASSWORD": PASSWORD,
        "PACTMATCH_ARCADEDB_HTTP_URL": f"http://127.0.0.1:{http_port}",
        "PACTMATCH_ENCODER": "hashing",
        "PACTMATCH_CACHE_DIR": str(tmp_path / "cache"),
        "COLUMNS": "200",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "pactmatch.cli", "arcadedb", "--port", str(bolt_port),
         "--http-port", str(http_port), "--data", str(tmp_path / "adb"), "--heap", "512m"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    output = ""
    try:
        deadline = time.monotonic() + 120
        while "ready" not in output:
            assert process.poll() is None, output
            assert time.monotonic() < deadline, output
            with contextlib.suppress(queue.Empty):
                output += lines.get(timeout=1)
        store = f"bolt://127.0.0.1:{bolt_port}"
        (tmp_path / "projects.csv").write_text(PROJECTS, encoding="utf-8")
        (tmp_path / "participants.csv").write_text(PARTICIPANTS, encoding="utf-8")
        runner = CliRunner()
        results = {}
        for where in (store, str(tmp_path / "embedded")):
            imported = runner.invoke(
                app,
                ["import", "cordis", "--projects", str(tmp_path / "projects.csv"),
                 "--participants", str(tmp_path / "participants.csv"), "--store", where],
                env=env,
            )  # fmt: skip
            assert imported.exit_code == 0, imported.output
            assert "rejected 0 row(s)" in imported.output
            listed = runner.invoke(app, ["candidates", "P1", "--format", "json", "--store", where], env=env)
            assert listed.exit_code == 0, listed.output
            results[where] = json.loads(listed.output)
        bolt, embedded = results[store], results[str(tmp_path / "embedded")]
        assert [i["org_id"] for i in bolt["items"]] == [i["org_id"] for i in embedded["items"]]
        assert [round(i["score"], 5) for i in bolt["items"]] == [
            round(i["score"], 5) for i in embedded["items"]
        ]
        stats = runner.invoke(app, ["stats", "--store", store], env=env)
        assert stats.exit_code == 0 and "5 organisations, 3 partnerships, 8 memberships" in stats.output
        # The API started on the Bolt store (what `pactmatch serve --store bolt://...` runs).
        settings = Settings(
            store=store, encoder="hashing", cache_dir=tmp_path / "cache", neo4j_user="root",
            neo4j_password=PASSWORD, neo4j_database="clitest", arcadedb_http_url=f"http://127.0.0.1:{http_port}",
        )  # fmt: skip
        with admin_client(create_app(settings)) as client:
            health = client.get("/health").json()
            assert health["organisations"] == 5 and "arcadedb" in health["store"]
            assert health["status"] == "ok" and health["embeddings"]["complete"]
            response = client.get("/partnerships/P1/candidates", params={"top_k": 3})
            assert response.status_code == 200, response.text
            assert [i["org_id"] for i in response.json()["items"]] == [i["org_id"] for i in bolt["items"][:3]]
    finally:
        process.send_signal(signal.SIGTERM)  # what Ctrl-C does too: the command forwards it to java
        code = process.wait(60)
    time.sleep(0.2)
    while not lines.empty():
        output += lines.get()
    assert code == 0, output
    assert "ArcadeDB stopped" in output
