"""musicbox: a self-hosted Discord music bot."""

__version__ = "0.1.0"
