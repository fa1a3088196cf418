"""``pactmatch gaps / synergies / region / target-mix`` end to end on the bundled demo dataset."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pactmatch.cli import app
from pactmatch.demo import demo_dataset_path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("cli")
    env = {
        "PACTMATCH_STORE": str(root / "store"),
        "PACTMATCH_ENCODER": "hashing",
        "PACTMATCH_CACHE_DIR": str(root / "cache"),
        "COLUMNS": "200",
    }
    code, out = run(env, "import", "json", str(demo_dataset_path()))
    assert code == 0, out
    return env


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_gaps_for_one_partnership_as_a_table(env: dict[str, str]) -> None:
    code, out = run(env, "gaps", "demo-rsp-brabant-hightech", "--candidates-per-gap", "2")
    assert code == 0, out
    assert "VET providers" in out and "1 more needed" in out
    assert "composition: trade unions" in out and "demo-org-284" in out


def test_gaps_json_for_one_partnership(env: dict[str, str], tmp_path: Path) -> None:
    out_file = tmp_path / "brabant.json"
    code, out = run(env, "gaps", "demo-rsp-brabant-hightech", "--out", str(out_file))
    assert code == 0, out
    report = json.loads(out_file.read_text(encoding="utf-8"))
    assert [g["key"] for g in report["gaps"]] == ["vet", "trade_unions"]
    assert report["gaps"][0]["filters"]["regions"] == ["NL41"]


def test_gaps_all_to_csv_and_html(env: dict[str, str], tmp_path: Path) -> None:
    code, out = run(
        env,
        "gaps",
        "--all",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "gaps.csv"),
        "--candidates-per-gap",
        "1",
    )
    assert code == 0, out
    rows = list(csv.DictReader((tmp_path / "gaps.csv").open(encoding="utf-8")))
    assert {r["partnership_id"] for r in rows} >= {"demo-rsp-brabant-hightech", "demo-lsp-aerospace"}
    aerospace = {r["gap_key"] for r in rows if r["partnership_id"] == "demo-lsp-aerospace"}
    assert {"PL", "NL", "IE", "BE"} <= aerospace
    code, out = run(env, "gaps", "--all", "--out", str(tmp_path / "gaps.html"), "--candidates-per-gap", "1")
    assert code == 0, out
    html = (tmp_path / "gaps.html").read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "data:image/png;base64," in html
    assert "wrote 20 item(s)" in out


def test_target_mix_override_from_a_file(env: dict[str, str], tmp_path: Path) -> None:
    mix = tmp_path / "mix.json"
    mix.write_text(
        json.dumps(
            {
                "kinds": {
                    "regional": {
                        "requirements": [{"id": "ngo", "label": "NGOs", "types": ["civil_society_ngo"]}]
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    code, out = run(env, "gaps", "demo-rsp-basque-energy", "--target-mix", str(mix), "--format", "json")
    assert code == 0, out
    report = json.loads(out)
    assert [g["key"] for g in report["gaps"]] == ["ngo"]
    assert report["composition"]["mix_origin"] == "kind regional (override)"
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"kinds": {"regional": {"requirements": [{"id": "x", "label": "x", "types": ["wizard"]}]}}}'
    )
    code, out = run(env, "gaps", "demo-rsp-basque-energy", "--target-mix", str(bad))
    assert code == 1 and "kinds.regional.requirements[0].types[0]" in out


def test_target_mix_saved_with_the_store(env: dict[str, str], tmp_path: Path) -> None:
    mix = tmp_path / "mix.json"
    mix.write_text(json.dumps({"partnerships": {"demo-rsp-norte-textiles": {"requirements": [
        {"id": "pes", "label": "public employment services", "types": ["public_employment_service"]}]}}}))  # fmt: skip
    code, out = run(env, "target-mix", "set", str(mix))
    assert code == 0, out
    try:
        code, out = run(env, "gaps", "demo-rsp-norte-textiles", "--format", "json")
        assert [g["key"] for g in json.loads(out)["gaps"]] == ["pes"]
        code, out = run(env, "target-mix", "show")
        assert "demo-rsp-norte-textiles" in out
    finally:
        code, out = run(env, "target-mix", "reset")
    assert code == 0 and "removed" in out
    code, out = run(env, "gaps", "demo-rsp-norte-textiles", "--format", "json")
    assert json.loads(out)["gaps"] == []


def test_synergies(env: dict[str, str], tmp_path: Path) -> None:
    code, out = run(env, "synergies", "demo-rsp-brabant-hightech", "--top-k", "3")
    assert code == 0, out
    assert "text +" in out and "members +" in out
    code, out = run(env, "synergies", "--all", "--top-k", "2", "--out", str(tmp_path / "pairs.csv"))
    assert code == 0, out
    rows = list(csv.DictReader((tmp_path / "pairs.csv").open(encoding="utf-8")))
    assert rows and all(r["a_id"] != r["b_id"] for r in rows)
    assert float(rows[0]["score"]) >= float(rows[-1]["score"])
    code, out = run(
        env, "synergies", "--all", "--pair-kind", "regional-regional", "--format", "json", "--top-k", "1"
    )
    assert code == 0, out
    assert {p["kind"] for p in json.loads(out)["pairs"]} == {"regional-regional"}


def test_region(env: dict[str, str]) -> None:
    code, out = run(env, "region", "nl41")
    assert code == 0, out
    assert "NL41 Noord-Brabant" in out and "Vakbond Elektronica Brabant" in out
    code, out = run(env, "region", "NL41", "--format", "json")
    assert json.loads(out)["code"] == "NL41"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("gaps",), "give a PARTNERSHIP_ID, or --all"),
        (("gaps", "x", "--all"), "not both"),
        (("gaps", "nope"), "partnership 'nope' not found"),
        (("gaps", "--all", "--out", "report.txt"), "cannot tell the format"),
        (("gaps", "--all", "--format", "pdf"), "--format: expected one of"),
        (("synergies", "nope"), "partnership 'nope' not found"),
        (("synergies", "--all", "--pair-kind", "regional-galactic"), "pair_kinds: unknown"),
        (("region", "XX99"), "unknown NUTS code 'XX99'"),
    ],
)
def test_bad_input_is_one_clear_line(env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    code, out = run(env, *args)
    assert code == 1, out
    assert message in out and "Traceback" not in out
