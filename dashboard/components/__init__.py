"""Reusable layout pieces of the dashboard."""
