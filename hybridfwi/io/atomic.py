"""Writes that never leave a half-written file under its final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

import numpy as np

__all__ = ["atomic_path", "atomic_write_text", "atomic_save_npy", "check_parent"]


def check_parent(path: str | os.PathLike, what: str = "--out") -> None:
    """Refuse an output path that cannot be created: the nearest existing folder above it is a file."""
    from hybridfwi.errors import InputError

    p = os.path.dirname(os.path.abspath(os.fspath(path)))
    while p and not os.path.exists(p):
        p = os.path.dirname(p)
    if p and not os.path.isdir(p):
        raise InputError(f"{what} {os.fspath(path)!r}: {p!r} is a file, not a folder; choose another path")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success fsync and rename it onto ``path``.

    On an exception (or a kill) the final path is untouched; the temporary file is removed
    on exceptions and carries a ``.tmp`` ending otherwise, so resumable jobs can ignore it.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=suffix + ".tmp", dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the final file the usual permissions
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """``np.save`` to ``path`` atomically (no pickling)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
