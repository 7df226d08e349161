"""Turns labelled traces into training-data files."""
