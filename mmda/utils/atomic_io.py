"""Atomic local writes for mmengine's file backend (checkpoints included).

mmengine's ``LocalBackend.put`` opens the destination and writes into it, so a
process killed while saving leaves a truncated ``iter_N.pth`` that ``--resume``
then picks up. :class:`AtomicLocalBackend` writes into a temporary file in the
same folder, fsyncs it and renames it over the destination (``os.replace`` is
atomic on POSIX and Windows): readers see the old file or the complete new one.
``install_atomic_local_backend`` registers it for local paths (prefix '').
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend


def _umask() -> int:
    """The process umask, read without changing it where possible."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no read-only query elsewhere
    os.umask(mask)
    return mask


def _file_mode(filepath: str) -> int:
    """Mode a plain ``open(filepath, 'wb')`` would give: the existing file's
    mode, else 0o666 minus the umask (``mkstemp`` alone makes 0o600, which
    colleagues on a shared cluster cannot read)."""
    try:
        return os.stat(filepath).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _atomic_write(data: bytes, filepath: Union[str, Path]) -> None:
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    mode = _file_mode(filepath)
    fd, tmp = tempfile.mkstemp(prefix=osp.basename(filepath) + '.', suffix='.tmp',
                               dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put``/``put_text`` replace files atomically."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        _atomic_write(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        _atomic_write(obj.encode(encoding), filepath)


def install_atomic_local_backend() -> None:
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # drop cached plain LocalBackend instances so the new class is used
    from mmengine.fileio import io as mmengine_io
    for key in list(mmengine_io.backend_instances):
        if type(mmengine_io.backend_instances[key]) is LocalBackend:
            del mmengine_io.backend_instances[key]
