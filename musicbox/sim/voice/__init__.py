"""Discord's voice server, simulated: the v8 voice websocket over TLS and the UDP media endpoint that
decrypts, decodes and fingerprints what the bot sends, per voice channel."""

from musicbox.sim.voice.recording import Recording
from musicbox.sim.voice.server import VoiceServer

__all__ = ["Recording", "VoiceServer"]
