"""Accounts on a real store: passwords, lock-out, keys, sessions, grants and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.accounts import Actor, Grant, Role
from domain.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    TooManyRequestsError,
)
from graph.embedded import EmbeddedStore
from pactmatch.accounts import LOCK_AFTER, LOCK_FOR, SESSION_LIFETIME, AccountService, changed_fields
from tests.conftest import org

ADMIN = Actor.cli("tests")
PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(embedded_store: EmbeddedStore, clock: Clock) -> AccountService:
    return AccountService(embedded_store, clock)


def test_passwords_are_argon2_hashed_and_names_case_insensitive(accounts: AccountService) -> None:
    user = accounts.add_user("Ana@Example.org", PASSWORD, [Grant(role=Role.ADMIN)], ADMIN)
    assert user.name == "ana@example.org" and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.model_dump_json()
    assert accounts.authenticate("ANA@example.org", PASSWORD).name == user.name
    with pytest.raises(ConflictError):
        accounts.add_user("ana@EXAMPLE.org", PASSWORD, [], ADMIN)
    with pytest.raises(InvalidInputError, match="password"):
        accounts.add_user("bob", "short", [], ADMIN)
    with pytest.raises(InvalidInputError, match="name"):
        accounts.add_user("no spaces allowed", PASSWORD, [], ADMIN)


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(accounts: AccountService) -> None:
    accounts.add_user("ana", PASSWORD, [], ADMIN)
    with pytest.raises(AuthenticationError) as wrong:
        accounts.authenticate("ana", "not the password")
    with pytest.raises(AuthenticationError) as unknown:
        accounts.authenticate("nobody", PASSWORD)
    assert str(wrong.value) == str(unknown.value) == "wrong user name or password"


def test_repeated_failures_lock_the_account_for_a_while(accounts: AccountService, clock: Clock) -> None:
    accounts.add_user("ana", PASSWORD, [], ADMIN)
    for _ in range(LOCK_AFTER):
        with pytest.raises(AuthenticationError):
            accounts.authenticate("ana", "guess")
    with pytest.raises(TooManyRequestsError) as locked:
        accounts.authenticate("ana", PASSWORD)  # even the right password, while locked
    assert locked.value.retry_after == int(LOCK_FOR.total_seconds()) + 1
    clock.now += LOCK_FOR + timedelta(seconds=1)
    assert accounts.authenticate("ana", PASSWORD).failed_logins == 0  # unlocked, counter reset
    for _ in range(LOCK_AFTER):
        with pytest.raises(AuthenticationError):
            accounts.authenticate("ana", "guess")
    accounts.set_password("ana", "a brand new password", ADMIN)  # an admin's reset unlocks
    assert accounts.authenticate("ana", "a brand new password").name == "ana"


def test_keys_are_shown_once_stored_hashed_and_revocable(accounts: AccountService, clock: Clock) -> None:
    accounts.add_user("ana", PASSWORD, [Grant(role=Role.MEMBER, scope="o1")], ADMIN)
    key, secret = accounts.create_key("ana", "my script", ADMIN)
    assert secret.startswith(f"pm_{key.key_id}_") and secret.split("_", 2)[2] not in key.model_dump_json()
    user, used = accounts.user_for_key(secret)
    assert user.name == "ana" and used.key_id == key.key_id
    assert accounts.list_keys("ana")[0].last_used_at == clock.now
    clock.now += timedelta(seconds=5)
    accounts.user_for_key(secret)
    assert accounts.list_keys()[0].last_used_at == clock.now - timedelta(seconds=5)  # at most once a minute
    for bad in (
        "",
        "pm_",
        f"pm_{key.key_id}_wrong",
        f"xx_{key.key_id}_{secret.split('_', 2)[2]}",
        "Bearer x",
    ):
        with pytest.raises(AuthenticationError):
            accounts.user_for_key(bad)
    accounts.revoke_key(key.key_id, ADMIN)
    with pytest.raises(AuthenticationError):
        accounts.user_for_key(secret)
    assert accounts.list_keys()[0].revoked_at == clock.now


def test_sessions_expire_and_end_with_a_password_change(accounts: AccountService, clock: Clock) -> None:
    user = accounts.add_user("ana", PASSWORD, [], ADMIN)
    token = accounts.start_session(user)
    assert accounts.user_for_session(token) == accounts.get_user("ana")
    assert accounts.user_for_session("forged") is None
    clock.now += SESSION_LIFETIME
    assert accounts.user_for_session(token) is None
    fresh = accounts.start_session(user)
    accounts.change_own_password(Actor.of(user, "page"), PASSWORD, "another long password")
    assert accounts.user_for_session(fresh) is None
    with pytest.raises(AuthenticationError):
        accounts.change_own_password(Actor.of(user, "page"), PASSWORD, "yet another password")


def test_grants_and_their_audit_trail(accounts: AccountService) -> None:
    accounts.add_user("ana", PASSWORD, [Grant(role=Role.COORDINATOR, scope="p1")], ADMIN)
    accounts.grant("ana", Grant(role=Role.COORDINATOR, scope="p2"), ADMIN)
    user = accounts.revoke("ana", Grant(role=Role.COORDINATOR, scope="p1"), ADMIN)
    assert user.scopes(Role.COORDINATOR) == ["p2"]
    with pytest.raises(NotFoundError):
        accounts.revoke("ana", Grant(role=Role.COORDINATOR, scope="p1"), ADMIN)
    with pytest.raises(InvalidInputError, match="needs the partnership id"):
        accounts.parse_grant("coordinator", None)
    with pytest.raises(InvalidInputError, match="role"):
        accounts.parse_grant("superuser", None)
    log = accounts.audit.entries(0, 10).items
    assert [e.action for e in log] == ["user.revoke", "user.grant", "user.create"]
    assert log[0].changes == {"grant": ["coordinator of p1", None]} and log[0].actor == "cli:tests"


def test_changed_fields_name_what_differs() -> None:
    before, after = org("a", city="Gent"), org("a", city="Brugge", website="https://b.example")
    assert changed_fields(before, after) == {
        "city": ["Gent", "Brugge"],
        "website": [None, "https://b.example"],
    }
    assert changed_fields(None, before)["name"] == [None, "Org a"]
