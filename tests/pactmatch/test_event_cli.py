"""``pactmatch event ...`` end to end with CliRunner on a tiny store (hashing encoder)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import EVENT_ORGS
from tests.pactmatch.conftest import run


def test_event_workflow(env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "orgs.json"
    data.write_text(json.dumps({"organisations": EVENT_ORGS}), encoding="utf-8")
    code, out = run(env, "import", "json", str(data))
    assert code == 0, out

    code, out = run(
        env, "event", "create", "--name", "Brokerage", "--date", "2025-06-03", "--id", "b1", "--start", "09:00",
        "--slots", "4", "--duration", "20", "--gap", "10", "--tables", "5", "--max-meetings", "3", "--min-meetings", "1",
    )  # fmt: skip
    assert code == 0, out
    assert "09:00–10:50" in out  # 4 slots of 20 min with 10 min breaks
    code, out = run(
        env, "event", "create", "--name", "Brokerage", "--date", "2025-06-03", "--id", "b1", "--tables", "5"
    )
    assert code == 1 and "already exists" in out

    code, out = run(
        env, "event", "register", "b1", "--org-id", "u1", "--person", "Ann", "--want", "recycling companies"
    )
    assert code == 0 and "u1-ann" in out, out
    code, out = run(env, "event", "register", "b1", "--org-id", "ghost", "--person", "Bob")
    assert code == 1 and "unknown organisation 'ghost'" in out
    code, out = run(env, "event", "register", "b1", "--org-id", "s1", "--person", "Bob", "--slot", "s9")
    assert code == 1 and "unknown slot" in out

    code, out = run(env, "event", "register-from-store", "b1", "--limit", "10")
    assert code == 0, out
    assert "registered 3 attendee(s); 1 already registered" in out

    code, out = run(env, "event", "schedule", "b1")
    assert code == 0, out
    assert "meetings for 4 attendees" in out and "LP bound" in out

    code, out = run(env, "event", "agenda", "b1", "u1-ann", "--format", "json")
    assert code == 0, out
    agenda = json.loads(out)
    assert agenda["attendee_id"] == "u1-ann" and agenda["items"] and agenda["items"][0]["why"]

    ics = tmp_path / "ann.ics"
    code, out = run(env, "event", "agenda", "b1", "u1-ann", "--format", "ics", "--output", str(ics))
    assert code == 0, out
    from icalendar import Calendar

    cal = Calendar.from_ical(ics.read_bytes())
    assert len(list(cal.walk("VEVENT"))) == len(agenda["items"])

    code, out = run(env, "event", "summary", "b1", "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("attendee_id,person"), out
    code, out = run(env, "event", "summary", "b1")
    assert code == 0 and "Meetings per attendee" in out

    code, out = run(env, "event", "export", "b1", "--out", str(tmp_path / "exp"))
    assert code == 0, out
    assert (tmp_path / "exp" / "summary.html").read_text().count("<svg") == 2
    assert len(list((tmp_path / "exp" / "ics").glob("*.ics"))) == 4

    code, out = run(env, "event", "unregister", "b1", "u1-ann")
    assert code == 0
    code, out = run(env, "event", "schedule", "b1")
    assert code == 0 and "cancelled" in out

    code, out = run(env, "event", "list")
    assert code == 0 and "b1" in out
    code, out = run(env, "event", "agenda", "b1", "nobody")
    assert code == 1 and "attendee 'nobody' not found" in out


def test_register_from_a_csv_file_reports_bad_rows(env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "orgs.json"
    data.write_text(json.dumps({"organisations": EVENT_ORGS}), encoding="utf-8")
    assert run(env, "import", "json", str(data))[0] == 0
    assert (
        run(env, "event", "create", "--name", "E", "--date", "2025-06-03", "--id", "e", "--tables", "3")[0]
        == 0
    )
    people = tmp_path / "people.csv"
    people.write_text("org_id,person,wanted_types\nu1,Ann,sme\ns1,Bob,pilot\n", encoding="utf-8")
    code, out = run(env, "event", "register", "e", "--file", str(people))
    assert code == 1
    assert "line 3" in out and "wanted_types" in out
    assert "registered 1 attendee(s)" in out


def test_bad_event_input_is_one_clear_line(env: dict[str, str]) -> None:
    code, out = run(env, "event", "create", "--name", "E", "--date", "03/06/2025", "--tables", "3")
    assert code == 2 and "--date" in out
    code, out = run(
        env, "event", "create", "--name", "E", "--date", "2025-06-03", "--tables", "3", "--group", "a:b"
    )
    assert code == 1 and "unknown group 'b'" in out
    code, out = run(
        env, "event", "create", "--name", "E", "--date", "2025-06-03", "--tables", "3", "--start", "23:30"
    )
    assert code == 1 and "midnight" in out


def test_the_organiser_oversees_requests_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    """Attendees ask through the API with the links the CLI printed; the CLI lists, cancels, sets
    the window and summarises."""
    import csv
    import io

    from fastapi.testclient import TestClient

    from api.app import create_app
    from pactmatch.settings import Settings

    data = tmp_path / "orgs.json"
    data.write_text(json.dumps({"organisations": EVENT_ORGS}), encoding="utf-8")
    assert run(env, "import", "json", str(data))[0] == 0
    code, out = run(env, "event", "create", "--name", "B", "--date", "2030-06-03", "--id", "b1", "--slots", "4",
                    "--tables", "5", "--max-meetings", "2", "--min-meetings", "1")  # fmt: skip
    assert code == 0 and "no deadline; at most 20 standing per attendee" in out, out
    for org_id, person in (("u1", "ann"), ("s1", "bo"), ("v1", "cy")):
        assert (
            run(
                env,
                "event",
                "register",
                "b1",
                "--org-id",
                org_id,
                "--person",
                person,
                "--attendee-id",
                person,
            )[0]
            == 0
        )

    code, out = run(env, "event", "links", "b1", "--base-url", "https://events.example.org/")
    assert code == 0, out
    rows = {r["attendee_id"]: r["link"] for r in csv.DictReader(io.StringIO(out))}
    assert sorted(rows) == ["ann", "bo", "cy"] and rows["ann"].startswith(
        "https://events.example.org/agenda/"
    )
    path = {a: link.removeprefix("https://events.example.org") for a, link in rows.items()}

    app = create_app(
        Settings(store=env["PACTMATCH_STORE"], encoder="hashing", cache_dir=Path(env["PACTMATCH_CACHE_DIR"]))
    )
    attendees = TestClient(app)
    r1 = attendees.post(f"{path['ann']}/requests", json={"to": "bo", "message": "=HYPERLINK(1)"}).json()[
        "request_id"
    ]
    assert attendees.post(f"{path['bo']}/requests/{r1}/accept").status_code == 200
    r2 = attendees.post(f"{path['cy']}/requests", json={"to": "ann"}).json()["request_id"]
    app.state.service.close()

    code, out = run(env, "event", "requests", "b1")
    assert code == 0 and "2 request(s)" in out and "accepted" in out and "pending" in out, out
    code, out = run(env, "event", "requests", "b1", "--format", "csv", "--state", "accepted")
    assert code == 0 and "'=HYPERLINK(1)" in out and len(out.splitlines()) == 2, out
    code, out = run(env, "event", "cancel-request", "b1", r2, "--note", "Cy left early")
    assert code == 0 and "cancelled r2 (cy → ann)" in out, out
    code, out = run(env, "event", "cancel-request", "b1", r2)
    assert code == 1 and "cancelled already" in out

    code, out = run(env, "event", "request-window", "b1", "--closes", "2020-01-01 18:00", "--max-open", "3")
    assert code == 0 and "until 2020-01-01 18:00; at most 3 standing" in out, out
    code, out = run(env, "event", "request-window", "b1", "--opens", "tomorrow")
    assert code == 1 and "--opens: expected YYYY-MM-DD HH:MM" in out

    code, out = run(env, "event", "schedule", "b1")
    assert code == 0 and "request window is still open" not in out, out
    code, out = run(env, "event", "summary", "b1")
    assert (
        code == 0
        and "requests: 2 sent by 2 attendee(s); 1 accepted" in out
        and "1 turned into meetings" in out
    ), out
    code, out = run(env, "event", "requests", "b1", "--format", "json", "--attendee", "bo")
    assert code == 0 and json.loads(out)[0]["in_schedule"] is True


def test_the_organiser_enters_and_answers_requests_from_the_command_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Every state change the organiser can make for attendees, and the refusals, by command."""
    data = tmp_path / "orgs.json"
    data.write_text(json.dumps({"organisations": EVENT_ORGS}), encoding="utf-8")
    assert run(env, "import", "json", str(data))[0] == 0
    code, out = run(env, "event", "create", "--name", "B", "--date", "2030-06-03", "--id", "b1", "--slots", "3",
                    "--tables", "5", "--max-meetings", "1", "--min-meetings", "1")  # fmt: skip
    assert code == 0, out
    for org_id, person in (("u1", "ann"), ("s1", "bo"), ("v1", "cy"), ("s2", "di")):
        code, out = run(
            env, "event", "register", "b1", "--org-id", org_id, "--person", person, "--attendee-id", person
        )
        assert code == 0, out
    # closed to attendees; the organiser still acts
    assert run(env, "event", "request-window", "b1", "--closes", "2020-01-01 18:00")[0] == 0

    code, out = run(env, "event", "send-request", "b1", "ann", "bo", "-m", "Recycling apprentices?")
    assert code == 0 and "r1 pending: ann → bo" in out, out
    code, out = run(env, "event", "answer-request", "b1", "r1", "accept", "--note", "by phone")
    assert code == 0 and "r1 accepted" in out, out
    code, out = run(env, "event", "answer-request", "b1", "r1", "accept")
    assert code == 1 and "r1 is accepted: it cannot be accepted" in out, out
    code, out = run(env, "event", "answer-request", "b1", "r1", "decline")  # a change of mind
    assert code == 0 and "r1 declined" in out, out
    code, out = run(env, "event", "send-request", "b1", "bo", "ann")
    assert code == 1 and "was declined" in out, out

    code, out = run(env, "event", "send-request", "b1", "cy", "di")
    assert code == 0 and "r2 pending" in out, out
    code, out = run(env, "event", "answer-request", "b1", "r2", "withdraw")
    assert code == 0 and "r2 withdrawn" in out, out
    code, out = run(env, "event", "answer-request", "b1", "r2", "maybe")
    assert code == 2, out  # not an answer

    # a pin is accepted at once; caps of 1 bound it
    code, out = run(env, "event", "send-request", "b1", "cy", "di", "--confirmed")
    assert code == 0 and "r3 accepted: cy → di" in out, out
    code, out = run(env, "event", "send-request", "b1", "ann", "di", "--confirmed")
    assert code == 1 and "as many as they can have (1)" in out, out
    code, out = run(env, "event", "send-request", "b1", "ann", "ann")
    assert code == 1 and "yourself" in out, out
    code, out = run(env, "event", "send-request", "b1", "ann", "bo", "-m", "x" * 501)
    assert code == 1 and "message" in out, out

    code, out = run(env, "event", "requests", "b1", "--format", "json")
    states = {r["request_id"]: (r["state"], r["history"][-1]["by"]) for r in json.loads(out)}
    assert states == {
        "r1": ("declined", "organiser"),
        "r2": ("withdrawn", "organiser"),
        "r3": ("accepted", "organiser"),
    }
    code, out = run(env, "event", "schedule", "b1")
    assert code == 0, out
    code, out = run(env, "event", "requests", "b1", "--format", "json", "--state", "accepted")
    assert [r["in_schedule"] for r in json.loads(out)] == [True]
