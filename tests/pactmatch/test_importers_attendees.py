"""Attendee files: good rows come back, bad ones as row errors naming the line (CSV) or item (JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from pactmatch.importers import read_attendee_file


def test_attendee_csv_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "attendees.csv"
    path.write_text(
        "org_id,person,wanted_types,availability,max_meetings\n"
        "o1,Ann,sme;vet_provider,s1;s2,2\n"
        "o2,Bob,astronaut,,\n",
        encoding="utf-8",
    )
    bodies, errors = read_attendee_file(path)
    assert [b.person for b in bodies] == ["Ann"]
    assert bodies[0].availability == ("s1", "s2")
    assert errors[0].line == 3 and errors[0].field == "wanted_types"


def test_attendee_json_names_item_and_field(tmp_path: Path) -> None:
    path = tmp_path / "attendees.json"
    path.write_text(
        json.dumps([{"org_id": "o1", "person": "Ann"}, {"org_id": "o2"}, "Bob"]), encoding="utf-8"
    )
    bodies, errors = read_attendee_file(path)
    assert [b.person for b in bodies] == ["Ann"]
    assert [(e.line, e.item, e.field) for e in errors] == [(None, 1, "person"), (None, 2, "row")]


def test_unreadable_or_non_array_json_is_one_file_error(tmp_path: Path) -> None:
    broken, single = tmp_path / "broken.json", tmp_path / "single.json"
    broken.write_text("[{", encoding="utf-8")
    single.write_text(json.dumps({"org_id": "o1", "person": "Ann"}), encoding="utf-8")
    for path, reason in ((broken, "not a readable JSON file"), (single, "expected a JSON array")):
        bodies, errors = read_attendee_file(path)
        assert bodies == [] and [e.field for e in errors] == ["file"] and reason in errors[0].reason
