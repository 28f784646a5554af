"""The wire contract shared by backend and dashboard: enums and non-table models, no I/O."""
