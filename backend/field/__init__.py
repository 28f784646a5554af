"""Field domain: what an officer's phone reads with its device credential."""
