"""Discord's limits on what a bot may send, as pure checks.

Each check returns the problems it found as `{field path: message}`; the REST layer turns a non-empty
answer into Discord's 50035 "Invalid Form Body" and the simulator's violation log. The numbers are
Discord's documented limits (messages, embeds, components, application commands, autocomplete)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_FIELDS = 25
MAX_EMBED_TOTAL = 6000
MAX_ACTION_ROWS = 5
MAX_ROW_COMPONENTS = 5
MAX_CHOICES = 25
MAX_OPTIONS = 25
COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
# Application command option types.
SUBCOMMAND, GROUP, STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, NUMBER = 1, 2, 3, 4, 5, 6, 7, 8, 10
# What Discord's client lets a member type into an option that declares no bound of its own.
MAX_STRING_OPTION = 6000
MAX_SAFE_INTEGER = 2**53

EMBED_TEXT_LIMITS = {"title": 256, "description": 4096}
FIELD_LIMITS = {"name": 256, "value": 1024}

Problems = dict[str, str]


@dataclass(frozen=True, slots=True)
class Violation:
    """One breach of Discord's contract by the bot: `code` is Discord's error code or a name for a
    rule Discord enforces without one ("ack_timeout", "followup_expired", "unknown_route")."""

    code: str
    detail: str


def _too_long(value: object, limit: int) -> bool:
    return isinstance(value, str) and len(value) > limit


def message_problems(body: Mapping[str, Any]) -> Problems:
    problems: Problems = {}
    if _too_long(body.get("content"), MAX_CONTENT):
        problems["content"] = f"Must be {MAX_CONTENT} or fewer in length."
    embeds = body.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        problems["embeds"] = f"Must be {MAX_EMBEDS} or fewer in length."
    for index, embed in enumerate(embeds):
        problems.update(_embed_problems(f"embeds.{index}", embed))
    problems.update(_component_problems(body.get("components") or []))
    return problems


def _embed_problems(path: str, embed: Mapping[str, Any]) -> Problems:
    problems: Problems = {}
    for key, limit in EMBED_TEXT_LIMITS.items():
        if _too_long(embed.get(key), limit):
            problems[f"{path}.{key}"] = f"Must be {limit} or fewer in length."
    fields = embed.get("fields") or []
    if len(fields) > MAX_FIELDS:
        problems[f"{path}.fields"] = f"Must be {MAX_FIELDS} or fewer in length."
    for index, embed_field in enumerate(fields):
        for key, limit in FIELD_LIMITS.items():
            if _too_long(embed_field.get(key), limit):
                problems[f"{path}.fields.{index}.{key}"] = f"Must be {limit} or fewer in length."
    if _embed_length(embed) > MAX_EMBED_TOTAL:
        problems[path] = f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"
    return problems


def _embed_length(embed: Mapping[str, Any]) -> int:
    texts = [embed.get("title"), embed.get("description")]
    texts += [(embed.get("footer") or {}).get("text"), (embed.get("author") or {}).get("name")]
    for embed_field in embed.get("fields") or []:
        texts += [embed_field.get("name"), embed_field.get("value")]
    return sum(len(text) for text in texts if isinstance(text, str))


def _component_problems(rows: Sequence[Mapping[str, Any]]) -> Problems:
    problems: Problems = {}
    if len(rows) > MAX_ACTION_ROWS:
        problems["components"] = f"Must be {MAX_ACTION_ROWS} or fewer in length."
    for row_index, row in enumerate(rows):
        children = row.get("components") or []
        if len(children) > MAX_ROW_COMPONENTS:
            problems[f"components.{row_index}.components"] = (
                f"Must be {MAX_ROW_COMPONENTS} or fewer in length."
            )
        for index, child in enumerate(children):
            path = f"components.{row_index}.components.{index}"
            if _too_long(child.get("label"), 80):
                problems[f"{path}.label"] = "Must be 80 or fewer in length."
            if _too_long(child.get("custom_id"), 100):
                problems[f"{path}.custom_id"] = "Must be 100 or fewer in length."
    return problems


def choice_problems(choices: Sequence[Mapping[str, Any]]) -> Problems:
    problems: Problems = {}
    if len(choices) > MAX_CHOICES:
        problems["data.choices"] = f"Must be {MAX_CHOICES} or fewer in length."
    for index, choice in enumerate(choices):
        name = choice.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            problems[f"data.choices.{index}.name"] = "Must be between 1 and 100 in length."
        if _too_long(choice.get("value"), 100):
            problems[f"data.choices.{index}.value"] = "Must be 100 or fewer in length."
    return problems


def command_problems(commands: Sequence[Mapping[str, Any]]) -> Problems:
    problems: Problems = {}
    names = [command.get("name") for command in commands]
    for index, command in enumerate(commands):
        problems.update(_declaration_problems(str(index), command))
        if names.count(command.get("name")) > 1:
            problems[f"{index}.name"] = "Application command names must be unique"
    return problems


def _declaration_problems(path: str, declared: Mapping[str, Any]) -> Problems:
    problems: Problems = {}
    name = declared.get("name")
    if not isinstance(name, str) or not COMMAND_NAME.match(name) or name != name.lower():
        problems[f"{path}.name"] = "Command name is invalid"
    description = declared.get("description", "")
    if declared.get("type", 1) == 1 and not 1 <= len(description) <= 100:
        problems[f"{path}.description"] = "Must be between 1 and 100 in length."
    options = declared.get("options") or []
    if len(options) > MAX_OPTIONS:
        problems[f"{path}.options"] = f"Must be {MAX_OPTIONS} or fewer in length."
    seen_optional = False
    for index, option in enumerate(options):
        option_path = f"{path}.options.{index}"
        problems.update(_declaration_problems(option_path, option))
        if len(option.get("choices") or []) > MAX_CHOICES:
            problems[f"{option_path}.choices"] = f"Must be {MAX_CHOICES} or fewer in length."
        if option.get("required") and seen_optional:
            problems[f"{option_path}.required"] = (
                "Required options must be placed before non-required options"
            )
        seen_optional = seen_optional or not option.get("required")
    return problems


def option_refusals(declared: Sequence[Mapping[str, Any]], given: Mapping[str, object]) -> list[str]:
    """Why Discord's client would not let a member send `given` to a command (or subcommand) whose
    options are `declared`: a required option left out, a value outside its `choices`, its
    `min_value`/`max_value` or its `min_length`/`max_length`. Empty when the client would send it."""
    refusals = [
        f"{option['name']} is required"
        for option in declared
        if option.get("required") and option["name"] not in given
    ]
    for option in declared:
        if option["name"] in given:
            refusals += _value_refusals(option, given[option["name"]])
    return refusals


def _value_refusals(option: Mapping[str, Any], value: object) -> list[str]:
    name, kind = option["name"], option["type"]
    choices = option.get("choices")
    if choices:
        allowed = [choice["value"] for choice in choices]
        return [] if value in allowed else [f"{name} must be one of {allowed}"]
    refusals = []
    if kind in (INTEGER, NUMBER) and isinstance(value, int | float) and not isinstance(value, bool):
        low = option.get("min_value", -MAX_SAFE_INTEGER)
        high = option.get("max_value", MAX_SAFE_INTEGER)
        if not low <= value <= high:
            refusals.append(f"{name} must be from {low} to {high}")
    if kind == STRING and isinstance(value, str):
        shortest = option.get("min_length", 0)
        longest = option.get("max_length", MAX_STRING_OPTION)
        if not shortest <= len(value) <= longest:
            refusals.append(f"{name} must be from {shortest} to {longest} characters long")
    return refusals


def invalid_form_body(problems: Problems) -> dict[str, Any]:
    """Discord's 50035 answer: errors nested by path, each leaf a list under `_errors`."""
    errors: dict[str, Any] = {}
    for path, message in problems.items():
        node = errors
        for part in path.split("."):
            node = node.setdefault(part, {})
        node["_errors"] = [{"code": "BASE_TYPE_INVALID", "message": message}]
    return {"code": 50035, "message": "Invalid Form Body", "errors": errors}
