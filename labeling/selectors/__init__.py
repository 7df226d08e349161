"""Reads of the labeling domain, one module per topic."""
