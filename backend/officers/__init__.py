"""Officers domain."""
