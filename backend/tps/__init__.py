"""Tps domain."""
