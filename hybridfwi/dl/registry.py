"""Model registry: ``@register_model(name)`` and ``create_model(name, **kw)``."""

from __future__ import annotations

from collections.abc import Callable

import torch.nn as nn

from hybridfwi.errors import InputError

__all__ = ["register_model", "create_model", "model_names"]

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str):
    def deco(factory):
        if name in _MODELS:
            raise ValueError(f"model {name!r} registered twice")
        _MODELS[name] = factory
        return factory

    return deco


def model_names() -> list[str]:
    _load()
    return sorted(_MODELS)


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered network; ``kwargs`` go to its constructor (e.g. ``in_shape``, ``out_shape``)."""
    _load()
    if name not in _MODELS:
        raise InputError(f"unknown architecture {name!r}; known: {', '.join(sorted(_MODELS))}")
    return _MODELS[name](**kwargs)


def _load() -> None:
    import hybridfwi.dl.networks  # noqa: F401  (registers the built-in networks)
