"""Exports: the stored record as CSV, XLSX and GeoJSON, cut to the reader's area, streamed."""
