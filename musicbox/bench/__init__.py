"""`musicbox bench`: scenarios that measure musicbox against the simulator and print figures."""
