"""The CLI end to end: imports with row errors and exit codes, candidates as table and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pactmatch.conftest import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_import_samples_then_candidates(env: dict[str, str]) -> None:
    code, out = run(
        env, "import", "csv",
        "--organisations", str(EXAMPLES / "organisations.csv"),
        "--partnerships", str(EXAMPLES / "partnerships.csv"),
        "--memberships", str(EXAMPLES / "memberships.csv"),
    )  # fmt: skip
    assert code == 0, out
    assert "rejected 0 row(s)" in out
    code, out = run(env, "import", "json", str(EXAMPLES / "example.json"))
    assert code == 0, out
    code, out = run(env, "candidates", "ex-rsp-stuttgart", "--format", "json")
    assert code == 0, out
    body = json.loads(out)
    ids = [i["org_id"] for i in body["items"]]
    assert ids[0] == "ex-org-3" and "ex-org-1" not in ids  # the union: same region, missing type
    code, out = run(env, "candidates", "ex-rsp-stuttgart", "--type", "vet_provider")
    assert code == 0 and "ex-org-4" in out and "ex-org-3" not in out
    assert "VET provider: already 1 of 2 members" in out
    code, out = run(env, "stats")
    assert "4 organisations, 3 partnerships, 4 memberships" in out


def test_import_reports_bad_rows_and_exits_non_zero(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "orgs.csv"
    bad.write_text(
        "org_id,name,stakeholder_type,country\nok,Fine,sme,DE\nbad,Broken,sme,Atlantis\n", encoding="utf-8"
    )
    errors = tmp_path / "errors.json"
    code, out = run(env, "import", "csv", "--organisations", str(bad), "--errors-out", str(errors))
    assert code == 1
    assert "rejected 1 row(s)" in out and "line 3" in out and "'country'" in out
    assert json.loads(errors.read_text())["errors"][0]["line"] == 3
    code, out = run(env, "stats")
    assert "1 organisations" in out  # the good row was kept


def test_clear_errors_for_unknown_ids_and_filters(env: dict[str, str]) -> None:
    run(env, "import", "json", str(EXAMPLES / "example.json"))
    code, out = run(env, "candidates", "nope")
    assert code == 1 and "partnership 'nope' not found" in out and "Traceback" not in out
    code, out = run(env, "candidates", "ex-rsp-midtjylland", "--region", "ZZ123")
    assert code == 1 and "unknown NUTS code" in out
    code, out = run(env, "import", "csv")
    assert code == 2


def test_unsupported_store_uri(env: dict[str, str]) -> None:
    code, out = run({**env, "PACTMATCH_STORE": "ftp://example.org/x"}, "stats")
    assert code == 1 and "unsupported store URI" in out
