"""The owner's own music: the folders of `[library] folders`, indexed with their tags, searched before
anything else.

`LocalMusic` owns one thread that walks the folders at start and every `rescan_interval_s`, reads the
tags (mutagen) of files whose mtime or size changed, and keeps the index in SQLite; the event loop
only reads the in-memory list the last scan left. `LocalSource` is a decorator over the other
sources: /play words and suggestions find local songs first; everything else passes through.

Which file plays is never a member's choice: a member names an index key, and only a file found
under a configured folder, whose real path (symlinks resolved) is still inside that folder, is
indexed or played."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from musicbox.bot.sources import Progress, QueryFailed, collected
from musicbox.core.config import LibraryConfig
from musicbox.core.local_music import SOURCE, LocalSong, Searchable, find_local, key_of_address, searchable
from musicbox.core.track import Track
from musicbox.sources.query import SearchWords, recognise
from musicbox.store.local_songs import IndexedFile, LocalSongStore
from musicbox.store.sql import Connection

if TYPE_CHECKING:
    import mutagen

    from musicbox.sources.spotify import WrappedSource

log = logging.getLogger(__name__)

# What ffmpeg plays and mutagen reads tags of; anything else in the folder (covers, playlists) is skipped.
AUDIO_SUFFIXES = frozenset({".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".wav"})
GONE = "that song is no longer in the owner's music folder; try /play with its name again"


def folder_problem(folder: str) -> str | None:
    """Why the bot cannot read `folder` (one phrase), or None when it can. `doctor`, `status` and the
    scan all ask this."""
    path = Path(folder)
    if not path.exists():
        return "does not exist"
    if not path.is_dir():
        return "is not a folder"
    if not os.access(path, os.R_OK | os.X_OK):
        return "cannot be read by this user"
    return None


@dataclass(frozen=True, slots=True)
class FolderState:
    """What the last scan found in one configured folder (`musicbox status` shows it)."""

    folder: str
    songs: int
    problem: str | None  # as folder_problem says; None when it was read


def inside(path: str, root: str) -> bool:
    """Whether the real `path` lies under the real `root` (both already resolved)."""
    return os.path.commonpath((path, root)) == root


class LocalMusic:
    def __init__(self, config: LibraryConfig, store: Connection) -> None:
        self._config = config
        self._store = LocalSongStore(store)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Replaced whole by each scan, so the loop reads it without a lock.
        self.songs: tuple[Searchable, ...] = tuple(map(searchable, self._store.songs()))
        self.folders: tuple[FolderState, ...] = ()  # empty until the first scan ends

    def start(self) -> None:
        self._thread = threading.Thread(target=self._scan_until_stopped, name="local-music", daemon=True)
        self._thread.start()

    async def aclose(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    def path_of(self, key: str) -> str | None:
        """The file of an indexed song, checked again now: a symlink changed since the scan must not
        lead out of the folder."""
        found = self._store.path_of(key)
        if found is None:
            return None
        path, folder = found
        if folder not in self._config.folders or not inside(os.path.realpath(path), os.path.realpath(folder)):
            return None
        return path if os.path.isfile(path) else None

    def scan(self) -> None:
        known = self._store.stamps()
        seen: set[str] = set()
        changed: list[IndexedFile] = []
        problems: dict[str, str] = {}
        for folder in self._config.folders:
            problem = folder_problem(folder)
            if problem is not None:
                problems[folder] = problem
                if problem != self._problem_of(folder):  # once, not at every rescan
                    log.warning("music folder %s %s: its songs are not offered", folder, problem)
                continue
            for path, stamp in _audio_files(folder):
                if path in seen:
                    continue  # two configured folders overlap
                seen.add(path)
                if known.get(path) != stamp:
                    changed.append(IndexedFile(path, folder, *stamp, song=_read_song(path)))
        self._store.update(changed, [path for path in known if path not in seen])
        self.songs = tuple(map(searchable, self._store.songs()))
        counts = self._store.counts()
        self.folders = tuple(
            FolderState(folder, counts.get(folder, 0), problems.get(folder))
            for folder in self._config.folders
        )
        if changed or len(known) != len(seen):
            log.info("music folders: %d songs (%d read again)", len(self.songs), len(changed))

    def _problem_of(self, folder: str) -> str | None:
        """What the last scan found wrong with `folder`."""
        return next((state.problem for state in self.folders if state.folder == folder), None)

    def _scan_until_stopped(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan()
            except Exception:  # a scan must never end the thread: the next one may succeed
                log.exception("scanning the music folders failed")
            self._stop.wait(self._config.rescan_interval_s)


def _audio_files(folder: str) -> Iterator[tuple[str, tuple[int, int]]]:
    root = os.path.realpath(folder)
    for directory, _, names in os.walk(root, onerror=lambda error: log.warning("music folder: %s", error)):
        for name in names:
            if Path(name).suffix.lower() not in AUDIO_SUFFIXES:
                continue
            path = os.path.realpath(os.path.join(directory, name))
            if not inside(path, root):
                continue  # a symlink out of the folder: never indexed
            try:
                status = os.stat(path)
            except OSError:
                continue  # removed meanwhile, or a dangling link
            yield path, (status.st_mtime_ns, status.st_size)


def _read_song(path: str) -> LocalSong:
    key = hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    fallback = LocalSong(key, Path(path).stem)
    import mutagen  # only a box with music folders reads tags: the service does not load it otherwise

    try:
        audio = mutagen.File(path, easy=True)
    except Exception as unreadable:  # mutagen raises many kinds on a damaged file; the name is enough
        log.info("music folder: no tags read from %s (%s)", path, unreadable)
        return fallback
    if audio is None:
        return fallback
    length = getattr(audio.info, "length", None)
    return LocalSong(
        key,
        _tag(audio, "title") or fallback.title,
        _tag(audio, "artist"),
        _tag(audio, "album"),
        float(length) if length else None,
    )


def _tag(audio: mutagen.FileType, name: str) -> str | None:
    values = audio.tags.get(name) if audio.tags is not None else None
    if not values:
        return None
    return str(values[0]).strip() or None


class LocalSource:
    def __init__(self, music: LocalMusic, wrapped: WrappedSource) -> None:
        self._music = music
        self._wrapped = wrapped

    @property
    def folders(self) -> tuple[FolderState, ...]:
        return self._music.folders

    @property
    def songs(self) -> tuple[Searchable, ...]:
        return self._music.songs

    def start_indexing(self) -> None:
        self._music.start()

    async def warm(self) -> None:
        self.start_indexing()
        await self._wrapped.warm()

    async def aclose(self) -> None:
        await self._music.aclose()
        await self._wrapped.aclose()

    async def resolve(self, query: str, *, progress: Progress | None = None) -> Sequence[Track]:
        return await collected(self.batches(query, progress=progress))

    async def batches(
        self, query: str, *, progress: Progress | None = None
    ) -> AsyncIterator[Sequence[Track]]:
        local = await asyncio.to_thread(self._local, query)
        if local is not None:
            yield [local]
            return
        async for batch in self._wrapped.batches(query, progress=progress):
            yield batch

    async def search(self, words: str, *, limit: int) -> Sequence[Track]:
        # In a thread: about 10-20 ms of CPU over 10,000 songs, on every keystroke of a suggestion.
        found = await asyncio.to_thread(find_local, words, self._music.songs, limit=limit)
        local = [song.track() for song in found]
        if len(local) >= limit:
            return local
        return local + list(await self._wrapped.search(words, limit=limit - len(local)))

    async def media_url(self, track: Track) -> str:
        if track.id.source != SOURCE:
            return await self._wrapped.media_url(track)
        path = await asyncio.to_thread(self._music.path_of, track.id.key)
        if path is None:
            raise QueryFailed(GONE)
        return path

    def _local(self, query: str) -> Track | None:
        key = key_of_address(query)
        if key is not None:
            by_key = next((entry.song for entry in self._music.songs if entry.song.key == key), None)
            if by_key is None:
                raise QueryFailed(GONE)
            return by_key.track()
        if not isinstance(recognise(query), SearchWords):
            return None
        best = find_local(query, self._music.songs, limit=1)
        return best[0].track() if best else None


def with_local_music(sources: WrappedSource, config: LibraryConfig, store: Connection) -> WrappedSource:
    """The source `musicbox run` hands the bot: local songs first when the owner named folders."""
    if not config.folders:
        return sources
    return LocalSource(LocalMusic(config, store), sources)
