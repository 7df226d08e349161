"""Agreement statistics over step labels, in pure Python and NumPy (no Django import)."""
