"""A fake of SponsorBlock's API, knowing the media world's YouTube videos."""

from musicbox.sim.sponsorblock.api import VIDEOS, SimVideo, SponsorBlockFake, video

__all__ = ["VIDEOS", "SimVideo", "SponsorBlockFake", "video"]
