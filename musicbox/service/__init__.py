"""The running service: what `musicbox run` starts around the bot (systemd notification, the control
socket `musicbox status` reads, signal handling)."""
