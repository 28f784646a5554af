"""Posko server: intake, state, live stream and operations."""
