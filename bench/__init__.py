"""Benchmarks run by hand: seeders for large data, load drivers, figures printed as tables."""
