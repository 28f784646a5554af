"""These tests reuse the operations fixtures (cheap hashing, the field harness, tokens)."""

from tests.ops.conftest import field, ops_server, settings, tokens

__all__ = ["field", "ops_server", "settings", "tokens"]
