"""File input and output: SEG-Y/SU (segy.py and scan.py, the only importers of segyio) and atomic writes."""
