"""The stores' tables, numbered by schema version, and the forward-only steps between versions, run at
start (`upgrade`) by whichever process opens the database first.

Versions:
  0  nothing yet (a new box, an empty PostgreSQL database).
  1  what musicbox made before versions were kept: each store ran `CREATE TABLE IF NOT EXISTS` and
     added the columns it missed, so a file of this version may lack tables or later columns.
  2  every table of the stores complete, and the version kept in `musicbox_schema`. On PostgreSQL the
     first version there is: the same tables in its types (BIGINT for Discord's 64-bit ids), a real
     `rowid` column where the stores order by insertion, names compared with lower() since it has no
     NOCASE.
  3  a server's /filter and SponsorBlock categories (guild_settings), and the time to first audio
     among the dashboard's series (vitals).
  4  PostgreSQL only: the fleet's heartbeats (fleet_processes, one row per process of a sharded bot,
     read by `musicbox status`) and the answers to actions forwarded between its processes
     (fleet_answers; core/fleet.py). A SQLite box is one machine's processes, which `status` finds
     by their sockets: its step changes nothing but the version.
A step is written once and never edited: a box skipping releases runs every step it missed in order.
Each step holds its own literals (a default of 1000 songs), not today's constants: what version 2
was must not move when a constant does. A database of a newer version than this musicbox knows is
refused, never downgraded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from musicbox.store.sql import POSTGRESQL, SQLITE, Connection, StoreError

# PostgreSQL: every process that starts at once waits for the one that migrates (an advisory lock
# held until its transaction ends; "mbox" as a number).
MIGRATION_LOCK = 0x6D626F78


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]  # the ones copied by `musicbox store migrate`, in the table's order
    order: str  # how rows are read for a copy: the order they were added in where it matters


# Everything the stores keep, parents before children (playlist_tracks refers to playlists).
# Not here: the audio cache's index and cached lookups, which stay in each box's own SQLite file.
TABLES = (
    Table(
        "guild_settings",
        (
            "guild_id", "dj_role", "default_volume", "max_queue", "max_playlist", "max_track_s",
            "max_saved_songs", "max_saved_playlists", "autoplay", "skip_share", "always_in_channel_id",
            "text_channel_id", "voice_channel_id", "loudness", "audio_filter", "skip_categories",
        ),
        "guild_id",
    ),
    Table(
        "saved_queue",
        (
            "guild_id", "position", "source", "key", "title", "page_url", "duration_s", "artist",
            "requester_id",
        ),
        "guild_id, position",
    ),
    Table(
        "saved_playback",
        ("guild_id", "voice_channel_id", "position_s", "loop_mode", "text_channel_id"),
        "guild_id",
    ),
    Table(
        "spotify_mappings",
        ("spotify_id", "source", "key", "title", "page_url", "duration_s", "artist", "mapped_at"),
        "spotify_id",
    ),
    Table("playlists", ("id", "guild_id", "owner_id", "name"), "id"),
    Table(
        "playlist_tracks",
        ("playlist_id", "position", "source", "key", "title", "page_url", "duration_s", "artist"),
        "playlist_id, position",
    ),
    Table(
        "favorites",
        ("user_id", "source", "key", "title", "page_url", "duration_s", "artist", "liked_at"),
        "rowid",
    ),
    Table(
        "play_history",
        (
            "guild_id", "played_at", "requester_id", "source", "key", "title", "page_url", "duration_s",
            "artist",
        ),
        "rowid",
    ),
    Table("api_tokens", ("id", "user_id", "name", "digest", "created_at"), "id"),
    Table(
        "vitals",
        (
            "at", "command_p95_ms", "cache_hit_ratio", "streams", "rss_mb", "cpu_percent", "errors",
            "first_audio_p95_ms",
        ),
        "at",
    ),
    Table(
        "local_songs",
        ("key", "path", "folder", "mtime_ns", "size", "title", "artist", "album", "duration_s"),
        "key",
    ),
)  # fmt: skip
# Tables whose ids other rows or the owner's commands name: a copy keeps them, and PostgreSQL's
# counter is moved past them.
KEPT_IDS = ("playlists", "api_tokens")

# Version 1 as the stores made it: the tables as they first shipped, then the columns added since.
_V1_TABLES = (
    """CREATE TABLE IF NOT EXISTS guild_settings (
        guild_id INTEGER PRIMARY KEY, dj_role TEXT NOT NULL, default_volume INTEGER NOT NULL,
        max_queue INTEGER NOT NULL, max_playlist INTEGER NOT NULL, max_track_s INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS saved_queue (
        guild_id INTEGER NOT NULL, position INTEGER NOT NULL, source TEXT NOT NULL, key TEXT NOT NULL,
        title TEXT NOT NULL, page_url TEXT NOT NULL, duration_s REAL, artist TEXT,
        requester_id INTEGER NOT NULL, PRIMARY KEY (guild_id, position))""",
    """CREATE TABLE IF NOT EXISTS saved_playback (
        guild_id INTEGER PRIMARY KEY, voice_channel_id INTEGER NOT NULL, position_s REAL NOT NULL,
        loop_mode TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS spotify_mappings (
        spotify_id TEXT PRIMARY KEY, source TEXT NOT NULL, key TEXT NOT NULL, title TEXT NOT NULL,
        page_url TEXT NOT NULL, duration_s REAL, artist TEXT, mapped_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS playlists (
        id INTEGER PRIMARY KEY, guild_id INTEGER NOT NULL, owner_id INTEGER NOT NULL, name TEXT NOT NULL,
        UNIQUE (guild_id, owner_id, name COLLATE NOCASE))""",
    """CREATE TABLE IF NOT EXISTS playlist_tracks (
        playlist_id INTEGER NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
        position INTEGER NOT NULL, source TEXT NOT NULL, key TEXT NOT NULL, title TEXT NOT NULL,
        page_url TEXT NOT NULL, duration_s REAL, artist TEXT, PRIMARY KEY (playlist_id, position))""",
    """CREATE TABLE IF NOT EXISTS favorites (
        user_id INTEGER NOT NULL, source TEXT NOT NULL, key TEXT NOT NULL, title TEXT NOT NULL,
        page_url TEXT NOT NULL, duration_s REAL, artist TEXT, liked_at REAL NOT NULL,
        PRIMARY KEY (user_id, source, key))""",
    """CREATE TABLE IF NOT EXISTS play_history (
        guild_id INTEGER NOT NULL, played_at REAL NOT NULL, requester_id INTEGER NOT NULL,
        source TEXT NOT NULL, key TEXT NOT NULL, title TEXT NOT NULL, page_url TEXT NOT NULL,
        duration_s REAL, artist TEXT)""",
    "CREATE INDEX IF NOT EXISTS play_history_by_guild ON play_history (guild_id, played_at)",
    """CREATE TABLE IF NOT EXISTS api_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, name TEXT NOT NULL,
        digest TEXT NOT NULL UNIQUE, created_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS vitals (
        at REAL PRIMARY KEY, command_p95_ms REAL, cache_hit_ratio REAL, streams INTEGER NOT NULL,
        rss_mb REAL NOT NULL, cpu_percent REAL NOT NULL, errors INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS local_songs (
        key TEXT PRIMARY KEY, path TEXT NOT NULL UNIQUE, folder TEXT NOT NULL, mtime_ns INTEGER NOT NULL,
        size INTEGER NOT NULL, title TEXT NOT NULL, artist TEXT, album TEXT, duration_s REAL)""",
)
_V1_ADDED_COLUMNS = (
    ("guild_settings", "max_saved_songs", "INTEGER NOT NULL DEFAULT 1000"),
    ("guild_settings", "max_saved_playlists", "INTEGER NOT NULL DEFAULT 25"),
    ("guild_settings", "autoplay", "INTEGER NOT NULL DEFAULT 0"),
    ("guild_settings", "skip_share", "INTEGER NOT NULL DEFAULT 50"),
    ("guild_settings", "always_in_channel_id", "INTEGER NOT NULL DEFAULT 0"),
    ("guild_settings", "text_channel_id", "INTEGER NOT NULL DEFAULT 0"),
    ("guild_settings", "voice_channel_id", "INTEGER NOT NULL DEFAULT 0"),
    ("guild_settings", "loudness", "INTEGER NOT NULL DEFAULT 1"),
    ("saved_playback", "text_channel_id", "INTEGER"),
)
_VERSION_TABLE = "CREATE TABLE musicbox_schema (version INTEGER NOT NULL)"


def _sqlite_2(connection: Connection) -> None:
    """Version 1 completed: whatever an older musicbox left, the tables and columns of today."""
    for statement in _V1_TABLES:
        connection.execute(statement)
    for table, column, declaration in _V1_ADDED_COLUMNS:
        present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})").fetchall()}
        if column not in present:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    connection.execute(_VERSION_TABLE)


_POSTGRESQL_2 = (
    """CREATE TABLE guild_settings (
        guild_id BIGINT PRIMARY KEY, dj_role TEXT NOT NULL, default_volume INTEGER NOT NULL,
        max_queue INTEGER NOT NULL, max_playlist INTEGER NOT NULL, max_track_s INTEGER NOT NULL,
        max_saved_songs INTEGER NOT NULL DEFAULT 1000, max_saved_playlists INTEGER NOT NULL DEFAULT 25,
        autoplay INTEGER NOT NULL DEFAULT 0, skip_share INTEGER NOT NULL DEFAULT 50,
        always_in_channel_id BIGINT NOT NULL DEFAULT 0, text_channel_id BIGINT NOT NULL DEFAULT 0,
        voice_channel_id BIGINT NOT NULL DEFAULT 0, loudness INTEGER NOT NULL DEFAULT 1)""",
    """CREATE TABLE saved_queue (
        guild_id BIGINT NOT NULL, position INTEGER NOT NULL, source TEXT NOT NULL, key TEXT NOT NULL,
        title TEXT NOT NULL, page_url TEXT NOT NULL, duration_s DOUBLE PRECISION, artist TEXT,
        requester_id BIGINT NOT NULL, PRIMARY KEY (guild_id, position))""",
    """CREATE TABLE saved_playback (
        guild_id BIGINT PRIMARY KEY, voice_channel_id BIGINT NOT NULL,
        position_s DOUBLE PRECISION NOT NULL, loop_mode TEXT NOT NULL, text_channel_id BIGINT)""",
    """CREATE TABLE spotify_mappings (
        spotify_id TEXT PRIMARY KEY, source TEXT NOT NULL, key TEXT NOT NULL, title TEXT NOT NULL,
        page_url TEXT NOT NULL, duration_s DOUBLE PRECISION, artist TEXT,
        mapped_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE playlists (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, guild_id BIGINT NOT NULL,
        owner_id BIGINT NOT NULL, name TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX playlists_by_name ON playlists (guild_id, owner_id, lower(name))",
    """CREATE TABLE playlist_tracks (
        playlist_id BIGINT NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
        position INTEGER NOT NULL, source TEXT NOT NULL, key TEXT NOT NULL, title TEXT NOT NULL,
        page_url TEXT NOT NULL, duration_s DOUBLE PRECISION, artist TEXT,
        PRIMARY KEY (playlist_id, position))""",
    """CREATE TABLE favorites (
        user_id BIGINT NOT NULL, source TEXT NOT NULL, key TEXT NOT NULL, title TEXT NOT NULL,
        page_url TEXT NOT NULL, duration_s DOUBLE PRECISION, artist TEXT,
        liked_at DOUBLE PRECISION NOT NULL, rowid BIGINT GENERATED ALWAYS AS IDENTITY,
        PRIMARY KEY (user_id, source, key))""",
    """CREATE TABLE play_history (
        guild_id BIGINT NOT NULL, played_at DOUBLE PRECISION NOT NULL, requester_id BIGINT NOT NULL,
        source TEXT NOT NULL, key TEXT NOT NULL, title TEXT NOT NULL, page_url TEXT NOT NULL,
        duration_s DOUBLE PRECISION, artist TEXT, rowid BIGINT GENERATED ALWAYS AS IDENTITY)""",
    "CREATE INDEX play_history_by_guild ON play_history (guild_id, played_at)",
    """CREATE TABLE api_tokens (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, user_id BIGINT NOT NULL,
        name TEXT NOT NULL, digest TEXT NOT NULL UNIQUE, created_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE vitals (
        at DOUBLE PRECISION PRIMARY KEY, command_p95_ms DOUBLE PRECISION,
        cache_hit_ratio DOUBLE PRECISION, streams INTEGER NOT NULL, rss_mb DOUBLE PRECISION NOT NULL,
        cpu_percent DOUBLE PRECISION NOT NULL, errors INTEGER NOT NULL)""",
    """CREATE TABLE local_songs (
        key TEXT PRIMARY KEY, path TEXT NOT NULL UNIQUE, folder TEXT NOT NULL, mtime_ns BIGINT NOT NULL,
        size BIGINT NOT NULL, title TEXT NOT NULL, artist TEXT, album TEXT,
        duration_s DOUBLE PRECISION)""",
    _VERSION_TABLE,
)


def _postgresql_2(connection: Connection) -> None:
    for statement in _POSTGRESQL_2:
        connection.execute(statement)


# The same on both: SQLite and PostgreSQL add a column with a default alike.
_ADDED_3 = (
    "ALTER TABLE guild_settings ADD COLUMN audio_filter TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE guild_settings ADD COLUMN skip_categories TEXT NOT NULL DEFAULT 'music_offtopic'",
    "ALTER TABLE vitals ADD COLUMN first_audio_p95_ms DOUBLE PRECISION",
)


def _both_3(connection: Connection) -> None:
    for statement in _ADDED_3:
        connection.execute(statement)


# Transient rows, not the owner's data: `musicbox store migrate` copies neither (not in TABLES).
# `stopped` is 0/1, as the stores keep flags.
_POSTGRESQL_4 = (
    """CREATE TABLE fleet_processes (
        host TEXT NOT NULL, label TEXT NOT NULL, shard_ids INTEGER[] NOT NULL,
        shard_count INTEGER NOT NULL, pid INTEGER NOT NULL, started_at DOUBLE PRECISION NOT NULL,
        seen_at DOUBLE PRECISION NOT NULL, guilds INTEGER NOT NULL, voice_sessions INTEGER NOT NULL,
        backend_pid INTEGER NOT NULL, stopped INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (host, label))""",
    """CREATE TABLE fleet_answers (
        request_id TEXT PRIMARY KEY, answer TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)""",
)


def _postgresql_4(connection: Connection) -> None:
    for statement in _POSTGRESQL_4:
        connection.execute(statement)


def _sqlite_4(_: Connection) -> None:
    """Nothing: a SQLite box keeps no fleet (see the module's docstring)."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int  # the version the database is at once this step ran
    steps: dict[str, Callable[[Connection], None]]  # by dialect


MIGRATIONS = (
    Migration(2, {SQLITE: _sqlite_2, POSTGRESQL: _postgresql_2}),
    Migration(3, {SQLITE: _both_3, POSTGRESQL: _both_3}),
    Migration(4, {SQLITE: _sqlite_4, POSTGRESQL: _postgresql_4}),
)
CURRENT = MIGRATIONS[-1].version


def pending(found: int) -> tuple[Migration, ...]:
    """The steps a database at version `found` still needs, in order."""
    if found > CURRENT:
        raise NewerSchema(found)
    return tuple(m for m in MIGRATIONS if m.version > found)


class NewerSchema(StoreError):
    def __init__(self, found: int) -> None:
        super().__init__(
            f"the database is at schema version {found}, newer than this musicbox knows ({CURRENT}): "
            "it was written by a newer musicbox; update this one (musicbox update)"
        )
        self.found = found


def table_names(connection: Connection) -> set[str]:
    if connection.dialect == SQLITE:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    else:
        rows = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
    return {str(row[0]) for row in rows}


def version_of(connection: Connection) -> int:
    """The schema version of the connection's database (see the module's docstring)."""
    tables = table_names(connection)
    if "musicbox_schema" in tables:
        row = connection.execute("SELECT version FROM musicbox_schema").fetchone()
        return 0 if row is None else int(row[0])
    return 1 if tables & {table.name for table in TABLES} else 0


def upgrade(connection: Connection) -> int:
    """Brings the connection's database to CURRENT (once per connection: every store asks); the
    version it was at. All steps commit together or none does."""
    with connection.lock:
        if connection.schema_checked:
            return CURRENT
        with connection.transaction():
            if connection.dialect == POSTGRESQL:
                connection.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            found = version_of(connection)
            steps = pending(found)
            for migration in steps:
                migration.steps[connection.dialect](connection)
            if steps:
                connection.execute("DELETE FROM musicbox_schema")
                connection.execute("INSERT INTO musicbox_schema (version) VALUES (?)", (CURRENT,))
        connection.schema_checked = True
        return found
