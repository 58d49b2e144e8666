"""The media world's catalog: entry k is a made-up song whose audio is a tone at `tone_hz(k)`.

Names are built from the index alone, so every process (tests, the Spotify fake, the demo) agrees on
what entry k is called without sharing state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

CATALOG_SIZE = 1000

_ARTISTS = (
    "The Lanterns",
    "Mira Vale",
    "Northbound Owls",
    "Juno Park",
    "Copper Atlas",
    "Elsa Marin",
    "The Quiet Tides",
    "Rafa Okoye",
    "Velvet Engine",
    "Lumen Drive",
    "Ada Korsakova",
    "Paper Kites Club",
    "Ostara",
    "Ben Hallorann",
    "Saltwater Radio",
    "Nadia Cruz",
)
_ADJECTIVES = (
    "Blue",
    "Golden",
    "Silent",
    "Electric",
    "Midnight",
    "Paper",
    "Wild",
    "Hollow",
    "Crimson",
    "Gentle",
    "Distant",
    "Neon",
    "Winter",
    "Broken",
    "Summer",
    "Velvet",
    "Burning",
    "Open",
    "Lonely",
    "Bright",
)
_NOUNS = (
    "Harbour",
    "Skyline",
    "Letters",
    "Horizon",
    "River",
    "Lights",
    "Garden",
    "Echoes",
    "Highway",
    "Static",
    "Mountains",
    "Satellite",
    "Window",
    "Ocean",
    "Streets",
    "Fire",
    "Heart",
    "Station",
    "Parade",
    "Tide",
    "Compass",
    "Daydream",
    "Frequencies",
    "Signal",
    "Thunder",
    "Avenue",
    "Orchard",
    "Mirror",
    "Bridges",
    "Weather",
    "Canyon",
    "Lullaby",
    "Anthem",
    "Carousel",
    "Postcards",
    "Rooftops",
    "Meadow",
    "Embers",
    "Voyage",
    "Tracks",
    "Arcade",
    "Shoreline",
    "Lantern",
    "Gravity",
    "Nightfall",
    "Circuit",
    "Coastline",
    "Balloons",
    "Fireflies",
    "Echo",
)


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    index: int
    artist: str
    title: str
    # The length the world serves this entry at when a caller does not ask for another (search
    # results, playlists built from the catalog): short, so a story can play several in seconds.
    duration_s: float
    album: str

    @property
    def full_title(self) -> str:
        return f"{self.artist} - {self.title}"

    @property
    def slug(self) -> str:
        """The entry as a file-name-safe word, so a direct media URL names its song."""
        cleaned = "".join(c if c.isalnum() else "-" for c in self.full_title.lower())
        return "-".join(part for part in cleaned.split("-") if part)


def entry(index: int) -> CatalogEntry:
    if index < 0:
        raise ValueError(f"catalog indices start at 0, got {index}")
    # Adjective and noun cycle at coprime periods (20, 50 -> lcm 100) and the tenth digit picks a
    # suffix, so the first CATALOG_SIZE titles are all distinct.
    title = f"{_ADJECTIVES[index % len(_ADJECTIVES)]} {_NOUNS[(index * 7) % len(_NOUNS)]}"
    part = index // 100
    if part:
        title += f" (Part {part + 1})"
    artist = _ARTISTS[(index * 5) % len(_ARTISTS)]
    album = f"{_NOUNS[(index // 4) % len(_NOUNS)]} Sessions"
    return CatalogEntry(index, artist, title, 6.0 + (index * 3) % 7, album)


def entries() -> Iterator[CatalogEntry]:
    return (entry(index) for index in range(CATALOG_SIZE))


def search(words: str, limit: int) -> list[CatalogEntry]:
    """Entries whose artist, title and album together hold every word (case-insensitive), in index order."""
    # Punctuation on its own ("Artist - Title") is no word, as on any real search engine.
    wanted = [word for word in words.lower().split() if any(c.isalnum() for c in word)]
    if not wanted:
        return []
    found: list[CatalogEntry] = []
    for candidate in entries():
        haystack = f"{candidate.artist} {candidate.title} {candidate.album}".lower()
        if all(word in haystack for word in wanted):
            found.append(candidate)
            if len(found) >= limit:
                break
    return found
