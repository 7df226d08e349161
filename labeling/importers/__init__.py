"""Pure parsers of trace files, one module per format; no database access here."""
