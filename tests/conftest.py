"""Shared fixtures. Each world (Discord, media, Spotify) keeps its fixtures in tests/fixtures/."""

pytest_plugins: list[str] = [
    "tests.fixtures.discord",
    "tests.fixtures.media",
    "tests.fixtures.postgres",
    "tests.fixtures.spotify",
    "tests.world.fixture",
]
