"""``pactmatch user``, ``pactmatch key`` and ``pactmatch audit``: accounts for operators.

The CLI acts as admin on the store it opens. Passwords are read from standard input
(``--password-stdin``, for scripts) or asked for without echo, twice; a new key is printed alone
on the last line of standard output, once.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from domain.accounts import Grant, Role, User
from pactmatch.accounts import AccountService
from pactmatch.cli.common import StoreOption, cli_actor, console, fail, handled, open_service

user_app = typer.Typer(help="Users and their role grants.", no_args_is_help=True)
key_app = typer.Typer(help="API keys (Authorization: Bearer <key>).", no_args_is_help=True)

RoleOption = Annotated[Role, typer.Option("--role", help="admin | coordinator | organiser | member")]
ScopeOption = Annotated[
    str | None,
    typer.Option(
        "--scope", help="the partnership (coordinator), event (organiser) or organisation (member) id"
    ),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input (one line)")
]


def accounts_for(store: str | None) -> AccountService:
    return AccountService(open_service(store).store)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = typer.prompt("password", hide_input=True)
    if typer.prompt("again", hide_input=True) != password:
        raise fail("the two passwords differ", 2)
    return str(password)


def grant_of(role: Role, scope: str | None) -> Grant:
    return AccountService.parse_grant(role.value, scope)


def add(
    name: Annotated[str, typer.Argument(help="the user name (an e-mail address works)")],
    role: RoleOption,
    scope: ScopeOption = None,
    password_stdin: PasswordStdin = False,
    store: StoreOption = None,
) -> None:
    """Create a user with one role grant (add more with ``user grant``)."""
    with handled():
        grant = grant_of(role, scope)
        accounts = accounts_for(store)
        user = accounts.add_user(name, read_password(password_stdin), [grant], cli_actor())
    console.print(f"created user {user.name} ({grant.label()})", highlight=False)


def list_users(store: StoreOption = None) -> None:
    """Users, their grants and whether they are locked out."""
    with handled():
        users = accounts_for(store).list_users()
    table = Table(title="Users")
    for column in ("name", "grants", "created", "locked until"):
        table.add_column(column)
    for u in users:
        table.add_row(
            u.name,
            ", ".join(g.label() for g in u.grants) or "-",
            f"{u.created_at:%Y-%m-%d}",
            f"{u.locked_until:%Y-%m-%d %H:%M}" if u.locked_until else "",
        )
    console.print(table)


def print_grants(user: User) -> None:
    console.print(
        f"{user.name}: {', '.join(g.label() for g in user.grants) or 'no grants left'}", highlight=False
    )


def grant(
    name: Annotated[str, typer.Argument()],
    role: RoleOption,
    scope: ScopeOption = None,
    store: StoreOption = None,
) -> None:
    """Give a user one more role grant."""
    with handled():
        user = accounts_for(store).grant(name, grant_of(role, scope), cli_actor())
    print_grants(user)


def revoke(
    name: Annotated[str, typer.Argument()],
    role: RoleOption,
    scope: ScopeOption = None,
    store: StoreOption = None,
) -> None:
    """Take one role grant away from a user."""
    with handled():
        user = accounts_for(store).revoke(name, grant_of(role, scope), cli_actor())
    print_grants(user)


def passwd(
    name: Annotated[str, typer.Argument()], password_stdin: PasswordStdin = False, store: StoreOption = None
) -> None:
    """Set a user's password (unlocks a locked account and ends its sessions)."""
    with handled():
        accounts = accounts_for(store)
        accounts.get_user(name)  # an unknown user fails before the password is asked for
        accounts.set_password(name, read_password(password_stdin), cli_actor())
    console.print(f"password of {name.lower()} changed", highlight=False)


def create_key(
    user: Annotated[str, typer.Option("--user", help="whose key it is")],
    label: Annotated[str, typer.Option("--label", help="what it is for")] = "",
    store: StoreOption = None,
) -> None:
    """Create an API key; it is printed once, alone on the last line (store it now)."""
    with handled():
        key, secret = accounts_for(store).create_key(user, label, cli_actor())
    typer.echo(f"created key {key.key_id} for {key.user}; it is shown only now:", err=True)
    typer.echo(secret)


def list_keys(
    user: Annotated[str | None, typer.Option("--user", help="one user's keys")] = None,
    store: StoreOption = None,
) -> None:
    """API keys (never their secrets): owner, label, last use, revocation."""
    with handled():
        keys = accounts_for(store).list_keys(user)
    table = Table(title="API keys")
    for column in ("key id", "user", "label", "created", "last used", "revoked"):
        table.add_column(column)
    for k in keys:
        table.add_row(
            k.key_id, k.user, k.label, f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )  # fmt: skip
    console.print(table)


def revoke_key(
    key_id: Annotated[str, typer.Argument(help="the key id (the part after pm_)")], store: StoreOption = None
) -> None:
    """Revoke an API key: it stops working at once."""
    with handled():
        accounts_for(store).revoke_key(key_id, cli_actor())
    console.print(f"revoked key {key_id}")


def audit(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    actor: Annotated[str | None, typer.Option("--actor", help="one actor's writes")] = None,
    store: StoreOption = None,
) -> None:
    """The audit log, newest first: who wrote what, when, through which interface."""
    with handled():
        page = accounts_for(store).audit.entries(offset, limit, actor)
    table = Table(title=f"Audit log ({page.total} entries; {offset + 1}-{offset + len(page.items)})")
    for column in ("at", "actor", "via", "action", "target", "changes"):
        table.add_column(column)
    for e in page.items:
        changes = "; ".join(f"{k}: {before!r} → {after!r}" for k, (before, after) in e.changes.items())
        table.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.via, e.action, e.target, changes[:300])
    console.print(table)


def register(app: typer.Typer) -> None:
    user_app.command("add")(add)
    user_app.command("list")(list_users)
    user_app.command("grant")(grant)
    user_app.command("revoke")(revoke)
    user_app.command("passwd")(passwd)
    key_app.command("create")(create_key)
    key_app.command("list")(list_keys)
    key_app.command("revoke")(revoke_key)
    app.add_typer(user_app, name="user")
    app.add_typer(key_app, name="key")
    app.command("audit")(audit)
