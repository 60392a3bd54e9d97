"""The hybrid: starting models (1-D reference, DL, the safeguard), the pipeline behind ``invert``,
physics-guided adaptation, and ``compare`` (DL-only vs hybrid vs FWI alone, one budget)."""
