"""What a listener's recording makes of packet streams and RTP headers (no sockets, no event loop)."""

from __future__ import annotations

import struct

import nacl.secret

from musicbox.sim.signature import FRAME_SAMPLES, FrameFeatures, tone_hz
from musicbox.sim.voice import Recording, rtp


def tone(rung: int) -> FrameFeatures:
    return FrameFeatures(rms=0.2, freq_hz=tone_hz(rung))


SILENT = FrameFeatures(rms=0.0, freq_hz=0.0)


def test_the_sequence_number_wrapping_around_is_not_a_gap() -> None:
    recording = Recording(1, 2)
    for i, sequence in enumerate([65534, 65535, 0, 1]):
        recording.note_packet(9, sequence, i * FRAME_SAMPLES, FRAME_SAMPLES, arrival=i * 0.02)
    assert recording.sequence_gaps == [] and recording.timestamp_jumps == [] and recording.reordered == 0


def test_lost_and_late_packets_are_told_apart() -> None:
    recording = Recording(1, 2)
    for i, sequence in enumerate([10, 11, 14, 13, 15]):
        recording.note_packet(9, sequence, sequence * FRAME_SAMPLES, FRAME_SAMPLES, arrival=i * 0.02)
    assert recording.sequence_gaps == [2]
    assert recording.reordered == 1


def test_a_timestamp_that_jumps_ahead_of_the_packets_is_recorded() -> None:
    recording = Recording(1, 2)
    recording.note_packet(9, 1, 0, FRAME_SAMPLES, arrival=0.0)
    recording.note_packet(9, 2, 48_000, FRAME_SAMPLES, arrival=0.02)
    assert recording.timestamp_jumps == [48_000]


def test_tracks_are_named_in_order_and_short_blips_ignored() -> None:
    recording = Recording(1, 2)
    frames = [tone(4)] * 20 + [tone(9)] * 3 + [SILENT] * 10 + [tone(5)] * 15
    for index, frame in enumerate(frames):
        recording.note_frame(frame, arrival=index * 0.02, silence_packet=False)
    assert recording.heard_rungs() == [4, 5]
    assert recording.heard_ms(4) == 400
    assert recording.decoded_ms() == len(frames) * 20
    # Track 4 ends at frame 20, track 5 starts at frame 33 (3 blip + 10 silent frames later).
    assert recording.max_silence_ms_between_tracks() == 260


def test_a_recording_with_one_track_has_no_silence_between_tracks() -> None:
    recording = Recording(1, 2)
    for index in range(30):
        recording.note_frame(tone(2), arrival=index * 0.02, silence_packet=False)
    assert recording.max_silence_ms_between_tracks() == 0
    assert recording.first_audio_at == 0.0


def test_the_silence_inside_a_track_counts_pauses_silent_frames_and_other_tracks() -> None:
    recording = Recording(1, 2)
    arrivals = [index * 0.02 for index in range(10)]  # track 3 for 200 ms,
    arrivals += [1.5 + index * 0.02 for index in range(10)]  # nothing for 1.3 s, track 3 again
    for arrival in arrivals:
        recording.note_frame(tone(3), arrival=arrival, silence_packet=False)
    for index, frame in enumerate([SILENT] * 5 + [tone(7)] * 5 + [tone(3)] * 2):
        recording.note_frame(frame, arrival=1.7 + index * 0.02, silence_packet=False)
    assert round(recording.longest_silence_ms(3)) == 1300  # 1.3 s paused, not the 200 ms in between
    assert round(recording.longest_silence_ms(7)) == 0
    assert recording.longest_silence_ms(9) == 0.0  # never heard: no silence inside it either
    # The listener's own process stalled for 1 s of those 1.3: what the sender left out is 300 ms.
    assert round(recording.longest_silence_ms(3, deaf=[(0.4, 1.4)])) == 300


def test_an_rtp_header_extension_is_authenticated_and_its_body_stripped() -> None:
    key = bytes(range(32))
    extension_body = b"\xbe\xde\x00\x01"  # one 32-bit word, encrypted with the payload
    header = struct.pack(">BBHII", 0x90, 0x78, 7, 960, 1234) + struct.pack(">HH", 0xBEDE, 1)
    nonce = struct.pack(">I", 42)
    sealed = nacl.secret.Aead(key).encrypt(extension_body + b"opus!", header, nonce + bytes(20)).ciphertext
    packet = rtp.parse(header + sealed + nonce)

    assert packet is not None and (packet.sequence, packet.timestamp, packet.ssrc) == (7, 960, 1234)
    assert rtp.open_payload(rtp.XCHACHA, key, packet) == b"opus!"


def test_rtcp_and_runt_datagrams_are_not_taken_for_audio() -> None:
    assert rtp.parse(bytes([0x80, 200]) + bytes(30)) is None
    assert rtp.parse(bytes([0x80, 0x78]) + bytes(10)) is None


def test_a_packet_is_late_by_its_place_in_the_stream_not_by_the_gap_before_it() -> None:
    recording = Recording(guild_id=1, channel_id=2)
    arrivals = [0.000, 0.020, 0.040, 0.130, 0.150, 0.155, 0.165, 0.180]  # a stall, then catching up
    for n, arrival in enumerate(arrivals):
        recording.note_packet(ssrc=7, sequence=n, timestamp=960 * n, samples=960, arrival=10.0 + arrival)
    # Packet 3 was due at 60 ms and came at 130 (70 late), packet 4 at 150 for 80 (70 late); packet
    # 5 came at 155 for 100 (55: within the threshold); 6 and 7 were back on time.
    assert recording.late_packets(threshold_ms=60) == (2, 8)
    assert recording.late_packets(threshold_ms=100) == (0, 8)
