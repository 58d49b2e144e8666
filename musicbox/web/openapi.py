"""The API's OpenAPI 3.1 document, served at /api/v1/openapi.json: what a phone app's author reads,
and what tests/web/test_api.py validates and checks against the routes the server has."""

from __future__ import annotations

from typing import Any

from musicbox import __version__
from musicbox.web.auth import SESSION_COOKIE

_ERROR = {"$ref": "#/components/responses/Error"}
_DONE = {
    "description": "Done; the message is what the slash command would have said.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Done"}}},
}
_GUILD = {
    "name": "guild_id",
    "in": "path",
    "required": True,
    "description": "The server's id, as listed by /guilds.",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
_REFUSALS = {code: _ERROR for code in ("401", "403", "404", "409", "429")}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _action(
    summary: str, body: dict[str, Any] | None = None, extra: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [_GUILD, *(extra or [])],
        "responses": {"200": _DONE, "400": _ERROR, **_REFUSALS},
    }
    if body is not None:
        operation["requestBody"] = body
    return operation


def document() -> dict[str, Any]:
    whole = {"type": "integer", "minimum": 1}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "musicbox",
            "version": __version__,
            "description": (
                "A guild's queue, under the same rules as the slash commands: be in the server, in the "
                "bot's voice channel to control it, and have the DJ role where the server asks for it."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"token": []}, {"session": []}],
        "paths": {
            "/guilds": {
                "get": {
                    "summary": "The servers you share with the bot",
                    "responses": {
                        "200": {
                            "description": "Servers",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Guilds"}}
                            },
                        },
                        **_REFUSALS,
                    },
                }
            },
            "/guilds/{guild_id}/queue": {
                "get": {
                    "summary": "What plays and what is queued",
                    "parameters": [_GUILD],
                    "responses": {
                        "200": {
                            "description": "The queue",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Queue"}}
                            },
                        },
                        **_REFUSALS,
                    },
                },
                "post": _action(
                    "Play a link or search words (as /play): joins your voice channel if needed",
                    _body({"query": {"type": "string", "minLength": 1, "maxLength": 500}}, ["query"]),
                ),
            },
            "/guilds/{guild_id}/queue/{position}": {
                "delete": _action(
                    "Remove a queued track (as /remove)",
                    extra=[{"name": "position", "in": "path", "required": True, "schema": whole}],
                )
            },
            "/guilds/{guild_id}/queue/move": {
                "post": _action(
                    "Move a queued track (as /move)", _body({"from": whole, "to": whole}, ["from", "to"])
                )
            },
            "/guilds/{guild_id}/skip": {"post": _action("Skip the current track (as /skip)")},
            "/guilds/{guild_id}/pause": {"post": _action("Pause (as /pause)")},
            "/guilds/{guild_id}/resume": {"post": _action("Resume (as /resume)")},
            "/guilds/{guild_id}/volume": {
                "put": _action(
                    "Set the volume (as /volume)",
                    _body({"percent": {"type": "integer", "minimum": 0, "maximum": 200}}, ["percent"]),
                )
            },
        },
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal token from `musicbox api token create`.",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": SESSION_COOKIE,
                    "description": (
                        "The session of a member logged in with Discord on the web page; a change "
                        "(POST, PUT, DELETE) also sends the page's CSRF token as 'X-CSRF-Token'."
                    ),
                },
            },
            "responses": {
                "Error": {
                    "description": "Refused, with one sentence saying why and what to do",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                },
                "Done": {
                    "type": "object",
                    "properties": {"message": {"type": "string"}},
                    "required": ["message"],
                },
                "Track": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string"},
                        "url": {"type": "string"},
                        "duration_s": {"type": ["number", "null"]},
                        "artist": {"type": ["string", "null"]},
                        "requester_id": {"type": "string"},
                        "position": whole,
                    },
                    "required": ["title", "url"],
                },
                "Queue": {
                    "type": "object",
                    "properties": {
                        "playing": {"oneOf": [{"$ref": "#/components/schemas/Track"}, {"type": "null"}]},
                        "paused": {"type": "boolean"},
                        "volume": {"type": ["integer", "null"]},
                        "position_s": {"type": "number"},
                        "filter": {"type": ["string", "null"], "description": "/filter, as /now names it"},
                        "upcoming": {"type": "array", "items": {"$ref": "#/components/schemas/Track"}},
                    },
                    "required": ["playing", "paused", "upcoming"],
                },
                "Guilds": {
                    "type": "object",
                    "properties": {
                        "guilds": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "name": {"type": "string"},
                                    "playing": {"type": "boolean"},
                                },
                                "required": ["id", "name", "playing"],
                            },
                        }
                    },
                    "required": ["guilds"],
                },
            },
        },
    }
