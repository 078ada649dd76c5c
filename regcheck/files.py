"""Files named by the user: bounded reads of regular files, atomic writes over regular files only.

A path on the command line may name anything: a device (``/dev/zero`` never ends), a FIFO (a read
blocks until someone writes), a symlink to either, or a file larger than any trace. Reading opens
without blocking, refuses whatever is not a regular file, and reads at most the limit plus one
byte whatever ``stat`` says. Writing goes to a temp file in the target folder and is renamed over
the target, which must be a new path or a regular file: a rename would replace a symlink or a
device node (as root, ``-o /dev/null`` would destroy ``/dev/null``).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from regcheck.display import printable_path
from regcheck.errors import InvalidArgument

_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symlink",
    stat.S_IFREG: "a regular file",
}


def _kind(mode: int) -> str:
    """What a file of mode ``mode`` is, in words."""
    return _KINDS.get(stat.S_IFMT(mode), "a special file")


def read_limited(path: Path, limit: int, *, what: str, whole: bool = True) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them; ``what`` names it in errors.

    A longer file is an error, unless ``whole`` is false: then its first ``limit`` bytes are the answer.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InvalidArgument(f"{what}: {exc.strerror or exc}") from None
    info = os.fstat(fd)  # before fdopen, which refuses a folder with an error of its own
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise InvalidArgument(f"{what} is {_kind(info.st_mode)}; give a regular file")
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(limit + 1)  # whatever fstat said: the file may grow
        except OSError as exc:
            raise InvalidArgument(f"{what}: {exc.strerror or exc}") from None
    if len(data) > limit and whole:
        size = info.st_size if info.st_size > limit else f"more than {limit}"
        raise InvalidArgument(f"{what} is {size} bytes; the limit is {limit}")
    return data[:limit]


def read_text_limited(path: Path, limit: int, *, what: str) -> str:
    """The UTF-8 text of the regular file at ``path`` (a byte-order mark allowed), at most ``limit`` bytes."""
    data = read_limited(path, limit, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"{what}: not UTF-8 (byte {exc.start})") from None


def _mode(path: Path, *, follow: bool, where: str) -> int | None:
    """The file mode of ``path`` (of the symlink itself unless ``follow``), None if nothing is there."""
    try:
        return (os.stat if follow else os.lstat)(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InvalidArgument(f"{where}: {exc.strerror or exc}") from None


def writable_target(path: Path) -> None:
    """Refuse an output path that exists and is not a regular file (a symlink, device, FIFO or folder)."""
    mode = _mode(path, follow=False, where=f"cannot write {printable_path(path)}")
    if mode is not None and not stat.S_ISREG(mode):
        raise InvalidArgument(
            f"cannot write {printable_path(path)}: it is {_kind(mode)}; "
            "regcheck writes only new files or over regular files"
        )


def output_folder(path: Path, *, option: str) -> None:
    """Refuse an output folder that cannot be one, before anything is written: it exists as something else
    (a file, a device, a symlink that leads to no folder), or the nearest existing folder above it is not one."""
    where = f"{option} {printable_path(path)}"
    mode = _mode(path, follow=False, where=where)
    if mode is not None:
        if not path.is_dir():
            raise InvalidArgument(f"{where}: it is {_kind(mode)}, not a folder")
        return
    for parent in path.parents:
        above = _mode(parent, follow=True, where=where)
        if above is not None:
            if not stat.S_ISDIR(above):
                raise InvalidArgument(f"{where}: {printable_path(parent)} is {_kind(above)}, not a folder")
            return


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` so that readers see the old file or the whole new one."""
    writable_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A short prefix: the target's own name may already be as long as a file name can be.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".regcheck-", suffix=".tmp")
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        # mkstemp makes the file private; an output file gets the permissions of any new file.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException as exc:
        os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from None
        raise


def _cannot_write(path: Path, exc: OSError) -> InvalidArgument:
    """A write error that names the target ``path``, never the temp file beside it that regcheck made."""
    return InvalidArgument(f"cannot write {printable_path(path)}: {exc.strerror or exc}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
