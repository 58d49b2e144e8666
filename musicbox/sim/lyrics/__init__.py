"""A fake of LRCLIB's lyrics API, with songs of the media world's catalog."""

from musicbox.sim.lyrics.lrclib import LYRICS, LrclibFake, SongLyrics, synced_lines

__all__ = ["LYRICS", "LrclibFake", "SongLyrics", "synced_lines"]
