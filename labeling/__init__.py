"""The labeling domain: projects, taxonomies, traces, steps, step labels, agreement."""
