"""What a bot token looks like, and how log lines are cleaned of secrets: pure, table-tested."""

from __future__ import annotations

import base64

import pytest

from musicbox.core.secrets import REDACTED, forms_of, redact, token_problem

TOKEN = "MTA1NzQwNjQ4OTc2MjcyNTg5OA.GzqH1a.Q1JYhU6nT-2m_pYk3xZb8vW0dLs7cEaRfGtHiJk"


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (TOKEN, ""),
        ("sim.AbCdEf12345.abcdefghijklmnopqrstuvwxyz012345", ""),  # the simulator's
        ("", "the bot token is empty"),
        (f"{TOKEN}\nsecond line", "a space or a line break inside it"),
        (f"Bot {TOKEN}", "a space or a line break inside it"),
        ("1057406489762725898", "that is not a bot token"),  # the application id
        ("4f1c0d4e" * 8, "that is not a bot token"),  # the public key
        ("xQ2vB9mK_pL3nR7tY1wE5uI8oA4sD6fG", "that is not a bot token"),  # the client secret
        (f'"{TOKEN}"', "that is not a bot token"),  # pasted with its quotes
        (f"{TOKEN}.{'a' * 200}", "longer than 200 characters"),
    ],
)
def test_a_token_is_judged_by_its_form_without_repeating_it(given: str, says: str) -> None:
    problem = token_problem(given)
    assert (says in problem) if says else problem == ""
    assert not given or given not in problem


def test_log_lines_lose_authorization_values_and_every_form_of_each_secret() -> None:
    basic = base64.b64encode(b"client-id:the-spotify-secret").decode()
    secrets = forms_of(TOKEN, "client-id", "the-spotify-secret")
    assert set(secrets) == {TOKEN, "the-spotify-secret", basic}
    lines = {
        # spotipy's debug line for the token request, and for an API call with the bearer token
        f"sending POST request to https://accounts.spotify.com/api/token with Headers: "
        f"{{'Authorization': 'Basic {basic}'}} and Body: {{'grant_type': 'client_credentials'}}": (
            f"{{'Authorization': 'Basic {REDACTED}'}} and Body: {{'grant_type': 'client_credentials'}}"
        ),
        "Sending GET to https://api.spotify.com/v1/tracks/x with Params: {} Headers: "
        "{'Authorization': 'Bearer BQDx-short-lived', 'Content-Type': 'application/json'}": (
            f"{{'Authorization': 'Bearer {REDACTED}', 'Content-Type': 'application/json'}}"
        ),
        f"Authorization: Bot {TOKEN}": f"Authorization: Bot {REDACTED}",
        f"login failed for {TOKEN} (secret the-spotify-secret)": (
            f"login failed for {REDACTED} (secret {REDACTED})"
        ),
        "nothing secret here": "nothing secret here",
    }
    for line, ends in lines.items():
        cleaned = redact(line, secrets)
        assert cleaned.endswith(ends), cleaned
        assert not any(secret in cleaned for secret in secrets)
        assert "BQDx-short-lived" not in cleaned


def test_no_spotify_secret_no_basic_form() -> None:
    assert forms_of(TOKEN, "", "") == [TOKEN]
