"""The audio cache on disk: one Ogg/Opus file per song under `<cache dir>/audio/`, indexed in SQLite.

A file is written as `<name>.part` and only renamed and indexed once ffmpeg finished it, so a crash,
a kill or a full disk mid-write leaves a `.part` that is never played and is deleted at the next
start. The index and the directory are reconciled at start: an indexed file that vanished is
forgotten, a file nobody indexed is deleted. Thread-safe: the player threads and the loop share it.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from musicbox.cache.policy import Entry, S3Fifo
from musicbox.core.sponsorblock import Cuts, cuts_from_text, cuts_to_text

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audio_cache (
    key TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    stored_at REAL NOT NULL,
    last_played REAL NOT NULL,
    plays INTEGER NOT NULL DEFAULT 1,
    frequency INTEGER NOT NULL DEFAULT 0,
    main INTEGER NOT NULL DEFAULT 0
)
"""
# Added with loudness normalisation: what the source measured and the target the file was brought
# to (both NULL for a song cached before, or with normalisation off).
_LOUDNESS_COLUMNS = (("loudness_lufs", "REAL"), ("normalised_to", "REAL"))
# Added with SponsorBlock: what the file had cut (core.sponsorblock.cuts_to_text; "[]": nothing),
# NULL when that was not known as it was cached (SponsorBlock down, or cached before): a whole file.
_CUTS_COLUMN = ("cuts", "TEXT")
SUFFIX = ".opus"
PARTIAL = ".part"


@dataclass(frozen=True, slots=True)
class CacheStats:
    entries: int
    used_bytes: int
    budget_bytes: int
    hits: int
    misses: int
    partial_files: int


class AudioStore:
    def __init__(
        self,
        directory: Path,
        database: sqlite3.Connection,
        *,
        budget_bytes: int,
        clock: Callable[[], float] = time.time,
        owner: bool = True,
    ) -> None:
        """`owner`: this process is the bot and clears what a crash left. `musicbox cache` opens the
        store as a visitor (owner=False) so it never deletes a file the running bot is writing."""
        self.directory = directory
        self._database = database
        self._clock = clock
        self._lock = threading.Lock()
        self._policy = S3Fifo(budget_bytes)
        self.budget_bytes = budget_bytes
        self.hits = 0
        self.misses = 0
        if owner:  # a visitor (root, often) must not make the bot's directory its own
            directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            database.execute(_SCHEMA)
            present = {str(row[1]) for row in database.execute("PRAGMA table_info(audio_cache)")}
            for name, kind in (*_LOUDNESS_COLUMNS, _CUTS_COLUMN):
                if name not in present:
                    database.execute(f"ALTER TABLE audio_cache ADD COLUMN {name} {kind}")
            if owner:
                self._clear_leftovers()
            self._load_index(owner)

    def file_for(self, key: str) -> Path:
        return self.directory / (hashlib.sha1(key.encode()).hexdigest() + SUFFIX)

    def partial_for(self, key: str) -> Path:
        # Unique per writer: a retried fill never appends to a dead writer's bytes.
        return self.file_for(key).with_suffix(f".{threading.get_ident()}.{time.monotonic_ns()}{PARTIAL}")

    def lookup(self, key: str) -> Path | None:
        """The finished file for `key`, counted as a hit or a miss."""
        with self._lock:
            path = self.file_for(key)
            if key in self._policy and path.exists():
                self.hits += 1
                self._policy.hit(key)
                self._database.execute(
                    "UPDATE audio_cache SET last_played = ?, plays = plays + 1 WHERE key = ?",
                    (self._clock(), key),
                )
                return path
            self.misses += 1
            return None

    def loudness(self, key: str) -> tuple[float | None, float | None] | None:
        """(the source's measured loudness, the target its file was brought to) as indexed."""
        with self._lock:
            row = self._database.execute(
                "SELECT loudness_lufs, normalised_to FROM audio_cache WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else (row[0], row[1])

    def cuts(self, key: str) -> Cuts | None:
        """What the cached file of `key` had cut from its source; None when not known (a whole file)."""
        with self._lock:
            row = self._database.execute("SELECT cuts FROM audio_cache WHERE key = ?", (key,)).fetchone()
        return None if row is None or row[0] is None else cuts_from_text(row[0])

    def contains(self, key: str) -> bool:
        with self._lock:
            return key in self._policy and self.file_for(key).exists()

    def commit(
        self,
        key: str,
        partial: Path,
        pinned: Iterable[str] = (),
        loudness: tuple[float | None, int] | None = None,
        cuts: Cuts | None = None,
    ) -> list[str]:
        """Make a finished `.part` file the cached copy of `key`; returns the keys evicted for room.
        `loudness`: (the source's measured loudness, the target the file was brought to); `cuts`:
        what was left out of it (None: not known, the file is whole)."""
        measured, target = loudness if loudness is not None else (None, None)
        final = self.file_for(key)
        with self._lock:
            partial.replace(final)
            size = final.stat().st_size
            now = self._clock()
            self._policy.admit(key, size)
            entry = self._policy.entry(key) or Entry(size)
            try:
                self._database.execute(
                    "INSERT OR REPLACE INTO audio_cache"
                    " (key, file, bytes, stored_at, last_played, frequency, main,"
                    " loudness_lufs, normalised_to, cuts)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        final.name,
                        size,
                        now,
                        now,
                        entry.frequency,
                        int(entry.main),
                        measured,
                        target,
                        None if cuts is None else cuts_to_text(cuts),
                    ),
                )
            except sqlite3.Error:  # the state disk is full: a file the index does not know never plays
                self._policy.forget(key)
                final.unlink(missing_ok=True)
                raise
            return self._evict({key, *pinned})

    def enforce_budget(self, pinned: Iterable[str]) -> list[str]:
        with self._lock:
            return self._evict(set(pinned))

    def remove(self, keys: Iterable[str]) -> int:
        """Delete these entries (`musicbox cache purge`); how many bytes were freed."""
        freed = 0
        with self._lock:
            for key in keys:
                entry = self._policy.entry(key)
                if entry is None:
                    continue
                freed += entry.size
                self._drop(key)
        return freed

    def keys_older_than(self, seconds: float) -> list[str]:
        with self._lock:
            rows = self._database.execute(
                "SELECT key FROM audio_cache WHERE last_played < ?", (self._clock() - seconds,)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def all_keys(self) -> list[str]:
        with self._lock:
            return [str(row[0]) for row in self._database.execute("SELECT key FROM audio_cache")]

    def oldest_played(self) -> float | None:
        with self._lock:
            row = self._database.execute("SELECT MIN(last_played) FROM audio_cache").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def stats(self) -> CacheStats:
        with self._lock:
            partial = sum(1 for _ in self.directory.glob(f"*{PARTIAL}"))
            return CacheStats(
                len(self._policy),
                self._policy.used_bytes,
                self._policy.budget_bytes,
                self.hits,
                self.misses,
                partial,
            )

    def _evict(self, pinned: set[str]) -> list[str]:
        victims = self._policy.evict(pinned)
        for key in victims:
            self._drop(key, already_out_of_policy=True)
        if victims:
            log.info("cache over budget: evicted %d songs", len(victims))
        return victims

    def _drop(self, key: str, *, already_out_of_policy: bool = False) -> None:
        if not already_out_of_policy:
            self._policy.forget(key)
        self.file_for(key).unlink(missing_ok=True)
        self._database.execute("DELETE FROM audio_cache WHERE key = ?", (key,))

    def _clear_leftovers(self) -> None:
        for partial in self.directory.glob(f"*{PARTIAL}"):
            partial.unlink(missing_ok=True)  # a write that never finished: never playable
        indexed = {str(row[0]) for row in self._database.execute("SELECT file FROM audio_cache")}
        for stray in self.directory.glob(f"*{SUFFIX}"):
            if stray.name not in indexed:
                stray.unlink(missing_ok=True)  # renamed but never indexed: a crash between the two

    def _load_index(self, owner: bool) -> None:
        rows = self._database.execute(
            "SELECT key, file, bytes, frequency, main FROM audio_cache ORDER BY stored_at"
        ).fetchall()
        for key, name, size, frequency, main in rows:
            if not (self.directory / name).exists():
                if owner:
                    self._database.execute("DELETE FROM audio_cache WHERE key = ?", (key,))
                continue
            self._policy.restore(key, Entry(int(size), int(frequency), bool(main)))
