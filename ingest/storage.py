"""Files written whole or not at all: a partial file next to the target, renamed in place only when complete.

A full disk (ENOSPC) becomes InsufficientStorage (507) and leaves nothing behind.
"""
import errno
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from layers.errors import InsufficientStorage


def is_disk_full(error: BaseException | None) -> bool:
    """ENOSPC (no space) or EDQUOT (quota), anywhere in the error's chain."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        error = error.__cause__ if error.__cause__ is not None else (None if error.__suppress_context__ else error.__context__)
    return False


def write_atomically(target: Path, chunks: Iterable[bytes]) -> Path:
    """Writes the chunks to `target` (synced, then renamed into place); on any failure removes what was written."""
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    try:
        with partial.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())  # a full disk can surface only here, on delayed allocation
        os.replace(partial, target)
    except BaseException as error:
        partial.unlink(missing_ok=True)
        if is_disk_full(error):
            raise InsufficientStorage(parameter="file") from None
        raise
    return target
