"""Benchmark suites (``hybridfwi benchmark make/run``): cases, observed data without the inverse crime,
resumable runs, per-family aggregates."""
