"""File input and output: SEG-Y/SU (segy.py, the only importer of segyio) and atomic writes."""
