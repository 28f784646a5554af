"""Dash pages: the wall display and the commander's view."""
