"""Laporan situasi: drafted, edited, signed, rendered and sent situation reports."""
