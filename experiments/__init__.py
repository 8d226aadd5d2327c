"""Scenarios, batch runs, benchmarks, scheme comparisons and reports."""
