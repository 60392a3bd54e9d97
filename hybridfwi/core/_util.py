"""Small helpers shared by the core objects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hybridfwi.errors import InputError

__all__ = ["require_fields"]


def require_fields(d: Mapping, fields: Iterable[str], where: str) -> None:
    """Raise :class:`InputError` naming the first of ``fields`` missing from mapping ``d``."""
    if not isinstance(d, Mapping):
        raise InputError(f"{where}: expected a JSON object, got {type(d).__name__}")
    missing = [f for f in fields if f not in d]
    if missing:
        raise InputError(f"{where}: missing field(s) {', '.join(repr(m) for m in missing)}")
