"""Audit tests reuse the operations fixtures (cheap hashing, the field harness)."""

from tests.ops.conftest import field, settings

__all__ = ["field", "settings"]
