"""Discord's limits on what a bot sends, checked without a server."""

from __future__ import annotations

from musicbox.sim.discord import contract


def test_a_message_within_every_limit_has_no_problem() -> None:
    body = {
        "content": "x" * 2000,
        "embeds": [{"title": "t", "fields": [{"name": "n", "value": "v"}] * 25}] * 10,
    }
    assert contract.message_problems(body) == {}


def test_each_limit_is_named_by_the_field_that_broke_it() -> None:
    body = {
        "content": "x" * 2001,
        "embeds": [{"description": "d" * 4097, "fields": [{"name": "n", "value": "v" * 1025}] * 26}] * 11,
        "components": [{"type": 1, "components": [{"type": 2, "label": "l" * 81, "custom_id": "c"}] * 6}] * 6,
    }
    problems = contract.message_problems(body)
    for path in (
        "content",
        "embeds",
        "embeds.0.description",
        "embeds.0.fields",
        "embeds.0.fields.0.value",
        "embeds.0",
        "components",
        "components.0.components",
        "components.0.components.0.label",
    ):
        assert path in problems, path


def test_autocomplete_offers_at_most_25_choices_of_100_characters() -> None:
    fine = [{"name": f"n{i}", "value": f"v{i}"} for i in range(25)]
    assert contract.choice_problems(fine) == {}
    assert "data.choices" in contract.choice_problems([*fine, {"name": "x", "value": "x"}])
    assert "data.choices.0.name" in contract.choice_problems([{"name": "n" * 101, "value": "v"}])


def test_command_declarations_follow_discords_naming_and_ordering_rules() -> None:
    good = {
        "name": "play",
        "description": "Play",
        "options": [
            {"name": "query", "description": "q", "type": 3, "required": True},
            {"name": "next", "description": "n", "type": 5},
        ],
    }
    assert contract.command_problems([good]) == {}
    bad = {
        "name": "Play Now",
        "description": "",
        "options": [
            {"name": "later", "description": "l", "type": 3},
            {"name": "query", "description": "q", "type": 3, "required": True},
        ],
    }
    problems = contract.command_problems([bad, bad])
    assert {"0.name", "0.description", "0.options.1.required"} <= set(problems)


def test_the_error_body_nests_like_discords() -> None:
    body = contract.invalid_form_body({"embeds.0.title": "Must be 256 or fewer in length."})
    assert body["code"] == 50035
    assert body["errors"]["embeds"]["0"]["title"]["_errors"][0]["message"].startswith("Must be 256")
