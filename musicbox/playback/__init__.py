"""Playback: guild sessions, voice lifecycle, prefetch."""
