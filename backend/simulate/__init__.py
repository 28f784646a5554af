"""Simulated field units: plan an election day for every officer and play it against a server."""
