"""Users domain: people who sign in, their roles, sessions and the wait after wrong passwords."""
