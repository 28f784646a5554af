"""Dashboard tests: figures without a browser, both views in a real browser."""
