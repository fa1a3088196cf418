"""Record what the product answers, through its HTTP API, so a refactoring can be checked to change nothing.

Run it before and after a change on the same data and diff the two files::

    python scripts/record_behaviour.py --store /tmp/demo-store --out before.json
    ... change the code ...
    python scripts/record_behaviour.py --store /tmp/demo-store --out after.json
    diff before.json after.json && echo identical

It starts ``pactmatch serve`` on the given store (the process under test, nothing imported from
the project), calls it with an admin's API key made through the CLI, and records, for up to ``--partnerships`` partnerships: candidate lists with and
without filters and with diversity re-ranking, gap reports, synergies; region views of the
partnerships' regions; and one match-making event built from the store and scheduled. Only the
HTTP interface is used, so the script runs unchanged on either side of a refactoring. Scores are
rounded to 9 decimals so a change in floating-point summation order does not hide a real diff.
Keys that name a time or the store's path (``generated_at``, ``created_at``, ``store``) are dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

VOLATILE = {"generated_at", "created_at", "store", "seconds", "elapsed_seconds", "solve_seconds"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _answer(response: httpx.Response) -> Any:
    try:
        body = _clean(response.json())
    except ValueError:  # not JSON: an error page, recorded as it is
        body = response.text
    return {"status": response.status_code, "body": body}


def _get(client: httpx.Client, path: str, **params: Any) -> Any:
    return _answer(client.get(path, params=params))


def _post(client: httpx.Client, path: str, body: Any) -> Any:
    return _answer(client.post(path, json=body))


def record(client: httpx.Client, n_partnerships: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    listing = client.get("/partnerships", params={"limit": 500}).json()
    pids = sorted(p["partnership_id"] for p in listing["items"])[:n_partnerships]
    out["partnerships"] = pids
    regions: set[str] = set()
    for pid in pids:
        entry: dict[str, Any] = {}
        entry["candidates"] = _get(client, f"/partnerships/{pid}/candidates", top_k=20)
        entry["candidates_sme"] = _get(client, f"/partnerships/{pid}/candidates", top_k=10, sme="true")
        entry["candidates_type"] = _get(
            client, f"/partnerships/{pid}/candidates", top_k=10, type="higher_education"
        )
        entry["candidates_diverse"] = _get(
            client, f"/partnerships/{pid}/candidates", top_k=10, diversity=0.3, max_per_country=3
        )
        entry["gaps"] = _get(client, f"/partnerships/{pid}/gaps", candidates_per_gap=3)
        entry["synergies"] = _get(client, f"/partnerships/{pid}/synergies", top_k=5)
        members = client.get(f"/partnerships/{pid}/members").json()
        for m in members[:3]:
            org = client.get(f"/organisations/{m['org_id']}").json()
            regions.update(code[:4] for code in org.get("nuts_codes", [])[:1])
        out[pid] = entry
    for code in sorted(regions)[:n_partnerships]:
        out[f"region {code}"] = _get(client, f"/regions/{code}/stakeholders", examples=5)
    out["event"] = _event(client, pids)
    return out


def _event(client: httpx.Client, pids: list[str]) -> dict[str, Any]:
    event = {
        "event_id": "behaviour-check",
        "name": "Behaviour check",
        "date": "2027-03-01",
        "slots": [{"start": f"{9 + i:02d}:00", "duration_minutes": 30} for i in range(6)],
        "tables": 20,
        "default_max_meetings": 4,
        "min_meetings": 2,
    }
    client.delete("/events/behaviour-check")
    out: dict[str, Any] = {"create": _post(client, "/events", event)}
    selection: dict[str, Any] = {"limit": 60}
    out["register"] = _post(client, "/events/behaviour-check/attendees/from-store", selection)
    out["schedule"] = _post(client, "/events/behaviour-check/schedule", {"time_limit": 60})
    out["meetings"] = _get(client, "/events/behaviour-check/schedule", limit=500)
    out["summary"] = _get(client, "/events/behaviour-check/summary")
    client.delete("/events/behaviour-check")
    return out


def _admin_key(exe: Path, env: dict[str, str]) -> str:
    """An API key of an admin made for the recording, through the CLI (as an operator would)."""
    name = "behaviour-check"
    subprocess.run(
        [str(exe), "user", "add", name, "--role", "admin", "--password-stdin"],
        input=secrets.token_urlsafe(16) + "\n",
        env=env,
        capture_output=True,
        text=True,
    )  # fmt: skip  (fails harmlessly when the user exists from an earlier recording)
    made = subprocess.run(
        [str(exe), "key", "create", "--user", name], env=env, capture_output=True, text=True, check=True
    )
    return made.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", required=True, help="store directory or bolt:// URI (already imported)")
    parser.add_argument("--encoder", default="hashing")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--partnerships", type=int, default=40, help="how many partnerships (by id)")
    args = parser.parse_args()

    port = _free_port()
    exe = Path(sys.executable).with_name("pactmatch")
    env = {**os.environ, "PACTMATCH_STORE": args.store, "PACTMATCH_ENCODER": args.encoder}
    key = _admin_key(exe, env)
    server = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--store", args.store, "--encoder", args.encoder],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600, headers=headers) as client:
            for _ in range(600):
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None:
                    raise SystemExit(
                        f"the server stopped: {server.stderr.read().decode() if server.stderr else ''}"
                    )
                time.sleep(0.5)
            started = time.perf_counter()
            result = record(client, args.partnerships)
    finally:
        server.terminate()
        server.wait(timeout=30)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(
        f"recorded {len(result['partnerships'])} partnerships in {time.perf_counter() - started:.0f} s → {args.out}"
    )


if __name__ == "__main__":
    main()
