"""Alerts domain: what needs a commander's attention, raised and cleared by the sweeper."""
