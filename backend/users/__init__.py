"""Users domain: people who sign in, their roles, sessions and lockout."""
