"""Tables of the exports app."""
