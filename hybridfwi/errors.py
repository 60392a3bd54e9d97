"""Typed errors. Library code raises these; the CLI turns them into a one-line message and exit 2."""

__all__ = ["HybridFWIError", "InputError", "ModellingError"]


class HybridFWIError(Exception):
    """Base class of every error hybridfwi raises on purpose."""


class InputError(HybridFWIError, ValueError):
    """Bad user input: a file, an option or a configuration. The message says how to fix it."""


class ModellingError(HybridFWIError, ValueError):
    """A modelling request that would give wrong or unstable results (dispersion, velocity bounds)."""
