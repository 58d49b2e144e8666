"""Where tracks come from: links and words recognised (pure), resolved by yt-dlp through the egress gate."""
