"""Incidents domain."""
