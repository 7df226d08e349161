"""Performance runs; `python -m benchmarks NAME [args]` runs benchmarks/NAME.py's main()."""
