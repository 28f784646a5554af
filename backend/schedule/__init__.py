"""Schedule domain: the election calendar and whether a TPS keeps to it."""
