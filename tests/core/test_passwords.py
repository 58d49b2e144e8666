"""The owner's web password: kept only as a salted scrypt hash that matches it and nothing else."""

from __future__ import annotations

import pytest

from musicbox.core.passwords import hash_password, hash_problem, password_matches, password_problem


def test_a_hash_matches_its_password_only_and_never_holds_it() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$16384$8$1$")
    assert "correct horse" not in stored
    assert password_matches(stored, "correct horse battery")
    assert not password_matches(stored, "correct horse batterY")
    assert not password_matches(stored, "")


def test_the_same_password_hashes_differently_each_time() -> None:
    assert hash_password("correct horse battery") != hash_password("correct horse battery")


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "correct horse battery",  # a password pasted where the hash belongs
        "scrypt$16384$8$1$c2FsdA==",  # cut short
        "scrypt$3$8$1$c2FsdA==$" + "A" * 44,  # N not a power of two
        "scrypt$1073741824$8$1$c2FsdA==$" + "A" * 44,  # N that would ask for 1 TiB of memory
        "scrypt$16384$8$1$c2FsdA==$not base64!",
        "bcrypt$16384$8$1$c2FsdA==$" + "A" * 44,
    ],
)
def test_a_hash_musicbox_did_not_write_matches_nothing(stored: str) -> None:
    assert not password_matches(stored, "correct horse battery")
    if stored:
        assert hash_problem(stored) is not None


def test_an_empty_hash_means_no_password_and_is_no_problem() -> None:
    assert hash_problem("") is None
    assert hash_problem(hash_password("correct horse battery")) is None


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 8 characters"),
        (" padded password ", "must not start or end with a space"),
        ("long enough", None),
    ],
)
def test_a_password_too_weak_to_keep_is_refused_in_one_sentence(password: str, problem: str | None) -> None:
    found = password_problem(password)
    assert found == problem if problem is None else problem in (found or "")
