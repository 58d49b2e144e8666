"""The media world: songs, pages, playlists and a search feed on 127.0.0.1, with faults on demand."""

from musicbox.sim.media.catalog import CATALOG_SIZE, CatalogEntry, entry
from musicbox.sim.media.world import FAULTS, MediaWorld

__all__ = ["CATALOG_SIZE", "FAULTS", "CatalogEntry", "MediaWorld", "entry"]
