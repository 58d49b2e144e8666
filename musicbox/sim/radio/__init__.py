"""A fake of the Radio Browser directory API, listing the media world's stations."""

from musicbox.sim.radio.directory import STATIONS, RadioDirectoryFake, Station

__all__ = ["STATIONS", "RadioDirectoryFake", "Station"]
