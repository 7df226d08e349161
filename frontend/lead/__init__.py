"""Pages for project leads: settings, taxonomy designer, members and adjudication."""
