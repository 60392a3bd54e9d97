"""Synthetic data: seeded velocity-model families (families.py) and sharded datasets (datasets.py)."""
