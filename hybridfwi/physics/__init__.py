"""Wave physics around deepwave: forward modelling (forward.py), misfits (misfits.py, which also reads
deepwave's own misfits) and band/time filters (filters.py). Nothing outside this package imports deepwave
to propagate waves."""

from hybridfwi.physics.forward import ForwardConfig, check_dispersion, forward_model, resolve_device, simulate

__all__ = ["ForwardConfig", "check_dispersion", "forward_model", "resolve_device", "simulate"]
