"""``pactmatch user``, ``key``, ``audit``, ``event link`` and ``serve``'s refusal, as operators run them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from graph.embedded import EmbeddedStore
from pactmatch.accounts import AccountService
from pactmatch.cli import app

runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_users_grants_passwords_and_keys_from_the_command_line(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    code, out, _ = run(
        "user",
        "add",
        "ana",
        "--role",
        "admin",
        "--password-stdin",
        "--store",
        store,
        stdin="a long password\n",
    )
    assert code == 0 and "created user ana (admin)" in out
    code, _, err = run(
        "user",
        "add",
        "bob",
        "--role",
        "coordinator",
        "--password-stdin",
        "--store",
        store,
        stdin="another password\n",
    )
    assert code == 1 and "needs the partnership id" in err
    assert (
        run(
            "user",
            "add",
            "bob",
            "--role",
            "coordinator",
            "--scope",
            "p1",
            "--password-stdin",
            "--store",
            store,
            stdin="another password\n",
        )[0]
        == 0
    )
    assert run("user", "grant", "bob", "--role", "organiser", "--scope", "fair", "--store", store)[0] == 0
    code, out, _ = run("user", "revoke", "bob", "--role", "coordinator", "--scope", "p1", "--store", store)
    assert code == 0 and "organiser of fair" in out and "coordinator" not in out
    code, out, _ = run("user", "list", "--store", store)
    assert "ana" in out and "organiser of fair" in out
    assert (
        run("user", "passwd", "bob", "--password-stdin", "--store", store, stdin="a third password\n")[0] == 0
    )
    code, _, err = run(
        "user", "passwd", "nobody", "--password-stdin", "--store", store, stdin="a third password\n"
    )
    assert code == 1 and "not found" in err

    code, out, _ = run("key", "create", "--user", "ana", "--label", "import job", "--store", store)
    key = out.strip().splitlines()[-1]
    assert code == 0 and key.startswith("pm_")
    accounts = AccountService(EmbeddedStore(Path(store)))
    user, record = accounts.user_for_key(key)
    assert user.name == "ana" and record.label == "import job"
    code, out, _ = run("key", "list", "--store", store)
    assert record.key_id in out and key.split("_", 2)[2] not in out  # never the secret
    assert run("key", "revoke", record.key_id, "--store", store)[0] == 0
    code, out, _ = run("audit", "--store", store)
    assert "key.revoke" in out and "user.create" in out and "cli:" in out


def test_serve_refuses_other_hosts_while_no_admin_exists(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    code, _, err = run("serve", "--host", "0.0.0.0", "--store", store, "--encoder", "hashing")
    assert code == 1 and "no admin yet" in err and "pactmatch user add" in err
