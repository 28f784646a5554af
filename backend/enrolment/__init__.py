"""Enrolment domain: one-time links that put an officer's device credential on a phone."""
