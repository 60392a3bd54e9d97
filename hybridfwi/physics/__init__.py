"""Wave physics: forward modelling around deepwave (forward.py is the only importer of deepwave)."""

from hybridfwi.physics.forward import ForwardConfig, check_dispersion, forward_model, resolve_device, simulate

__all__ = ["ForwardConfig", "check_dispersion", "forward_model", "resolve_device", "simulate"]
