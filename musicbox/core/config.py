"""The owner's configuration, as plain data. Loading, environment overrides and validation live
beside it (see `load_config`); every other module receives a `Config` and reads nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY = "wss://gateway.discord.gg/"
SPOTIFY_API_BASE = "https://api.spotify.com/v1/"
SPOTIFY_ACCOUNTS_BASE = "https://accounts.spotify.com"
RADIO_DIRECTORY = "https://all.api.radio-browser.info"
LYRICS_API = "https://lrclib.net"
SPONSORBLOCK_API = "https://sponsor.ajay.app"


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    token: str = ""
    api_base: str = DISCORD_API_BASE  # the simulator's address in tests, demo and bench
    gateway_url: str = DISCORD_GATEWAY  # likewise: a single-shard client dials this, not /gateway/bot
    dev_guild_id: int = 0  # when set, commands sync to this guild only (instant) instead of globally


@dataclass(frozen=True, slots=True)
class PlaybackConfig:
    # 100 sends cached Opus untouched; any other volume costs a decode and re-encode per packet.
    default_volume: int = 100  # percent, 0..200
    idle_timeout_s: int = 300  # leave after this long alone or idle
    max_queue: int = 500
    max_playlist: int = 1000
    max_track_s: int = 3 * 3600
    dj_role: str = ""  # empty: everyone may skip, stop, clear
    # EBU R128 integrated loudness every song is brought to as it is cached; 0: as the source is.
    loudness_lufs: int = -14


@dataclass(frozen=True, slots=True)
class ResolverConfig:
    workers: int = 0  # 0: chosen by the tuner
    metadata_ttl_s: int = 86_400
    # What search words become for yt-dlp. The test world and the demo point this at the media
    # world's search feed, e.g. "http://127.0.0.1:PORT/search.xspf?q={query}&n={limit}".
    search_template: str = "ytsearch{limit}:{query}"
    # Hosts a user's URL may point at even though they are loopback or private (the test world's
    # media server, a NAS on the owner's network). Everything else private is refused.
    allowed_private_hosts: tuple[str, ...] = ()
    # Where /radio finds stations: the Radio Browser API (the simulator's fake in tests and the demo).
    radio_directory: str = RADIO_DIRECTORY
    # Where /lyrics finds lyrics: the LRCLIB API (the simulator's fake in tests and the demo).
    lyrics_api: str = LYRICS_API
    # Where the stretches of YouTube videos to leave out are found: the SponsorBlock API (the
    # simulator's fake in tests and the demo).
    sponsorblock_api: str = SPONSORBLOCK_API


@dataclass(frozen=True, slots=True)
class CacheConfig:
    budget_mb: int = 0  # 0: chosen by the tuner
    max_transcodes: int = 0  # ffmpeg processes filling the cache at once; 0: chosen by the tuner
    prefetch_depth: int = -1  # queued songs cached ahead of time; -1: chosen by the tuner


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    max_guilds: int = 0  # active voice sessions at once; 0: chosen by the tuner
    max_filtered: int = -1  # guilds hearing a /filter at once; 0: no filters; -1: chosen by the tuner
    cleanup_interval_s: int = 60


@dataclass(frozen=True, slots=True)
class SpotifyConfig:
    client_id: str = ""
    client_secret: str = ""
    api_base: str = SPOTIFY_API_BASE
    accounts_base: str = SPOTIFY_ACCOUNTS_BASE

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)


@dataclass(frozen=True, slots=True)
class ObservabilityConfig:
    health_interval_s: int = 30
    metrics_enabled: bool = False
    metrics_endpoint: str = "127.0.0.1:9464"


@dataclass(frozen=True, slots=True)
class WebConfig:
    # Off until the owner turns it on; then this box only, unless the owner names a LAN address
    # (or 0.0.0.0: every interface). config_rules refuses a public address.
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    # The owner's password as a salted scrypt hash (musicbox/web/auth.py), set by `musicbox setup`;
    # empty: the owner logs in only with a one-time link from `musicbox web link`.
    password_hash: str = ""
    # The Discord application's OAuth2 client secret (Developer Portal → OAuth2): members "Login
    # with Discord" to control the music; empty: no member login.
    oauth_client_secret: str = ""


@dataclass(frozen=True, slots=True)
class LibraryConfig:
    # The owner's own music: absolute folders, indexed with their tags and searched before yt-dlp.
    folders: tuple[str, ...] = ()
    rescan_interval_s: int = 60  # how soon a file added, changed or removed is noticed


@dataclass(frozen=True, slots=True)
class StoreConfig:
    # Where settings, saved queues, playlists, favourites, history, Spotify matches and API tokens
    # are kept: empty, the SQLite file in the state directory; "postgresql://user:password@host/db",
    # a PostgreSQL server several processes share. The audio cache's index stays on each box.
    url: str = ""


@dataclass(frozen=True, slots=True)
class PathsConfig:
    state_dir: Path = Path(".")
    cache_dir: Path = Path(".")
    runtime_dir: Path = Path(".")


@dataclass(frozen=True, slots=True)
class Config:
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    playback: PlaybackConfig = field(default_factory=PlaybackConfig)
    resolver: ResolverConfig = field(default_factory=ResolverConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    spotify: SpotifyConfig = field(default_factory=SpotifyConfig)
    observability: ObservabilityConfig = field(default_factory=ObservabilityConfig)
    web: WebConfig = field(default_factory=WebConfig)
    library: LibraryConfig = field(default_factory=LibraryConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
