"""Audit domain: the append-only, hash-chained record of every action and state change."""
