"""The chain of custody of each TPS's ballot boxes, from sealing to the PPK (docs/custody.md)."""
