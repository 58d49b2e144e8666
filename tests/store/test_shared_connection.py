"""The stores of one database share its connection from worker threads: a playlist saved while the
queue is checkpointed (every few seconds of playback) must not fail, nor lose either write, on the
SQLite file as on a PostgreSQL server."""

from __future__ import annotations

import threading

from musicbox.core.queue import QueuedTrack
from musicbox.core.track import Track, TrackId
from musicbox.store.playlists import PlaylistStore
from musicbox.store.queues import QueueStore
from tests.fixtures.postgres import Opener

ROUNDS = 100
SONGS = [Track(TrackId("http", f"s{n}"), f"Song {n}", f"http://x/{n}") for n in range(30)]


def test_transactions_of_two_stores_on_one_connection_do_not_collide(store_opener: Opener) -> None:
    database = store_opener()
    queues, playlists = QueueStore(database), PlaylistStore(database)
    failures: list[Exception] = []

    def checkpointing() -> None:
        for _ in range(ROUNDS):
            try:
                queues.save(1, [QueuedTrack(song, requester_id=1) for song in SONGS])
            except Exception as failure:  # what the member or the log would have seen
                failures.append(failure)

    def saving_playlists() -> None:
        for n in range(ROUNDS):
            try:
                playlists.create(1, 2, f"mix {n}", SONGS)
            except Exception as failure:
                failures.append(failure)

    workers = [threading.Thread(target=checkpointing), threading.Thread(target=saving_playlists)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert failures == []
    assert len(playlists.listed(1, 2)) == ROUNDS
    assert all(len(playlists.tracks(1, 2, f"mix {n}") or []) == len(SONGS) for n in range(ROUNDS))
    entries, _ = queues.take(1)
    assert [e.track for e in entries] == SONGS
