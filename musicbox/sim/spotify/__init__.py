"""The Spotify fake: the Web API and accounts service on 127.0.0.1, over the media world's catalog."""

from musicbox.sim.spotify.catalog import album_id, artist_id, isrc, playlist_id, track_id
from musicbox.sim.spotify.fake import SpotifyFake

__all__ = ["SpotifyFake", "album_id", "artist_id", "isrc", "playlist_id", "track_id"]
