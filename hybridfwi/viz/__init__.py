"""Figures (plots.py is the only importer of matplotlib)."""
