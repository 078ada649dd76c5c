"""Where a command may write: one rule for every output option, folders written whole, one writer at a time.

The rule (:func:`plan_outputs`, called by every command once, before it writes anything): an output
may not be an input of the same command, nor another of its outputs, nor lie inside another of its
output folders; paths are compared by ``samefile`` where both exist, else by their resolved paths.
A folder of outputs is filled in a temporary sibling folder and then put in place (:func:`staged`):
as a whole (a report: the old folder renamed aside, the new renamed in, the old deleted), or file by
file into a folder that may hold the user's own files (traces, regression tests); a failure part way
(a full disk) leaves the target as it was. One writer at a time: a folder is locked with
``fcntl.flock`` on a lock file beside it (:func:`locked`); a second writer is refused.
``flock`` rather than a lock file made with ``O_EXCL``: the kernel drops the lock when its process
dies, so a killed run never leaves a stale lock that refuses every later one. Names from scenarios
become file names through :func:`file_stem`, shortened with a stable hash past :data:`NAME_LIMIT`.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from regcheck.display import printable
from regcheck.errors import InvalidArgument
from regcheck.files import output_folder, writable_target

__all__ = ["NAME_LIMIT", "Plan", "file_stem", "locked", "plan_outputs", "shortened", "staged"]

NAME_LIMIT = 80
"""Characters a name made from user text keeps in a file name; a longer one is cut and given a hash."""

_PREFIX = ".regcheck-"
"""How the temporary folders and lock files beside an output begin (short: the target's name may be long)."""


def shortened(text: str, *, key: str | None = None) -> str:
    """``text``, or its first :data:`NAME_LIMIT` characters, ``-`` and 8 hex digits of the SHA-256 of ``key``
    (default: ``text``) when it is longer: the same name always gives the same file name, and a file
    name stays far below the 255 bytes a file system allows."""
    if len(text) <= NAME_LIMIT:
        return text
    digest = hashlib.sha256((text if key is None else key).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{text[:NAME_LIMIT]}-{digest[:8]}"


def file_stem(name: str, default: str = "scenario") -> str:
    """A scenario or property name made safe as a file name inside an output folder: no separators, no
    dot-files, at most :data:`NAME_LIMIT` characters and a hash (see :func:`shortened`)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).lstrip(".") or default
    return shortened(stem, key=name)


def _shown(path: Path) -> str:
    return printable(str(path))


def _resolved(path: Path) -> Path:
    return Path(os.path.abspath(path)).resolve(strict=False)


def _same(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: by ``samefile`` where both exist, else by resolved path."""
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return _resolved(a) == _resolved(b)


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies inside ``folder`` (at any depth), or is it."""
    return _resolved(path).is_relative_to(_resolved(folder)) or _same(path, folder)


@dataclass(frozen=True)
class Plan:
    """The inputs and outputs of one command, checked against one another by :func:`plan_outputs`.

    Each is ``(what, path)``: ``what`` names it in messages (``--junit``, ``the scenario file``)."""

    inputs: tuple[tuple[str, Path], ...]
    files: tuple[tuple[str, Path], ...]
    folders: tuple[tuple[str, Path], ...]

    def check_files(self, option: str, paths: Iterable[Path]) -> None:
        """Refuse a file the command is about to put into its output folder ``option``: it exists as something
        other than a regular file, it is an input, or it is another output (run before anything is put there)."""
        for path in paths:
            writable_target(path)
            for what, given in self.inputs:
                if _same(path, given):
                    raise InvalidArgument(f"{option} would write {_shown(path)}, which is {what} {_shown(given)} "
                                          f"of this command; give {option} another folder")
            for what, given in self.files:
                if _same(path, given):
                    raise InvalidArgument(f"{option} would write {_shown(path)}, which {what} names too; "
                                          f"give {what} a path outside {option}")

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the lock of every output folder (see :func:`locked`) while the command runs."""
        with ExitStack() as stack:
            for option, folder in sorted(self.folders, key=lambda pair: str(_resolved(pair[1]))):
                stack.enter_context(locked(folder, option=option))
            yield


def plan_outputs(inputs: Iterable[tuple[str, Path | None]], files: Iterable[tuple[str, Path | None]],
                 folders: Iterable[tuple[str, Path | None]] = (), *, whole: Iterable[str] = ()) -> Plan:
    """The one rule for a command's outputs, checked before it writes anything (entries with no path are
    dropped). An output file must be a new path or a regular file, an output folder a folder or a new
    path; no output may be an input, another output, or lie inside another output folder; and no input
    may lie inside a folder that is replaced as a whole (``whole`` names those folders' options)."""
    given = [(what, path) for what, path in inputs if path is not None]
    outs = [(what, path) for what, path in files if path is not None]
    dirs = [(what, path) for what, path in folders if path is not None]
    replaced = frozenset(whole)
    for index, (what, path) in enumerate(outs + dirs):
        for source, given_path in given:
            if _same(path, given_path):
                raise InvalidArgument(f"{what} {_shown(path)} is {source} {_shown(given_path)} of this command; "
                                      f"give {what} its own path")
        for other, other_path in (outs + dirs)[:index]:
            if _same(path, other_path):
                raise InvalidArgument(f"{other} and {what} both name {_shown(path)}; give each its own path")
    for what, folder in dirs:
        for other, path in outs + dirs:
            if other != what and not _same(path, folder) and _inside(path, folder):
                raise InvalidArgument(f"{other} {_shown(path)} is inside the {what} folder {_shown(folder)}; "
                                      f"give {other} a path outside it")
        if what in replaced:
            for source, path in given:
                if _inside(path, folder):
                    raise InvalidArgument(f"{what} {_shown(folder)} holds {source} {_shown(path)}, and is replaced "
                                          f"as a whole; give {what} another folder")
    for _, path in outs:
        writable_target(path)
    for what, path in dirs:
        output_folder(path, option=what)
    return Plan(tuple(given), tuple(outs), tuple(dirs))


def _home(folder: Path) -> Path:
    """Where the lock and the temporary folder of ``folder`` live: beside it, or inside it when it exists and
    the folder above may not be written (``--trace-out .`` where the parent is another user's)."""
    resolved = _resolved(folder)
    if resolved.is_dir() and not os.access(resolved.parent, os.W_OK | os.X_OK):
        return resolved
    return resolved.parent


def _lock_path(folder: Path) -> Path:
    resolved = _resolved(folder)
    digest = hashlib.sha256(resolved.name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return _home(folder) / f"{_PREFIX}{digest}.lock"


@contextmanager
def locked(folder: Path, *, option: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on a lock file beside ``folder`` (made, with its parents, if missing);
    refuse, as bad input, when another process holds it. The lock file is removed on release."""
    lock = _lock_path(folder)
    where = f"{option} {_shown(folder)}"
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidArgument(f"{where}: cannot make {_shown(lock.parent)}: {exc.strerror or exc}") from None
    for _ in range(10):  # the file may be removed by its holder between our open and our flock: open it again
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise InvalidArgument(f"{where}: cannot lock it ({_shown(lock)}): {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise InvalidArgument(f"{where}: another regcheck is writing there now; "
                                      "run again when it has finished, or give another folder") from None
            raise InvalidArgument(f"{where}: cannot lock it ({_shown(lock)}): {exc.strerror or exc}") from None
        try:
            current = os.stat(lock, follow_symlinks=False)
        except FileNotFoundError:
            current = None
        held = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
            break
        os.close(fd)
    else:
        raise InvalidArgument(f"{where}: another regcheck is writing there now; run again when it has finished")
    try:
        yield
    finally:
        try:
            os.unlink(lock)
        finally:
            os.close(fd)


@contextmanager
def staged(folder: Path, *, whole: bool) -> Iterator[Path]:
    """A new, empty temporary folder beside ``folder`` (or inside it: :func:`_home`) to write into; when the
    block ends without error,
    its files take their place. A new ``folder`` (or, with ``whole``, any) is replaced as one: the old
    folder is renamed aside, the new one renamed in, the old one deleted. Else (a folder that may hold the
    user's own files) each new file is renamed over its target, the rest left as it was. On error the
    temporary folder is deleted and ``folder`` is as it was."""
    home = _resolved(folder).parent if whole else _home(folder)  # a whole folder is renamed: its parent is written
    stage = home / f"{_PREFIX}{secrets.token_hex(6)}.new"
    try:
        home.mkdir(parents=True, exist_ok=True)
        stage.mkdir(mode=0o777)  # the umask applies, as to any new folder
    except OSError as exc:
        raise InvalidArgument(f"cannot write {_shown(folder)}: {exc.strerror or exc}") from None
    try:
        try:
            yield stage
        except InvalidArgument as exc:  # a write into the stage failed: the message names the target, not the stage
            raise InvalidArgument(str(exc).replace(_shown(stage), _shown(folder))) from None
        try:
            _publish(stage, _resolved(folder), whole=whole)
        except OSError as exc:
            raise InvalidArgument(f"cannot write {_shown(folder)}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _publish(stage: Path, folder: Path, *, whole: bool) -> None:
    """Put the files of ``stage`` in ``folder``: as a whole (rename), or file by file (see :func:`staged`)."""
    if not whole and not any(stage.iterdir()):
        return  # nothing to write: no empty folder appears
    if not os.path.lexists(folder):
        os.rename(stage, folder)
        return
    if not whole:
        for path in sorted(stage.rglob("*")):
            if stat.S_ISREG(path.lstat().st_mode):
                target = folder / path.relative_to(stage)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
        return
    aside = stage.with_name(f"{_PREFIX}{secrets.token_hex(6)}.old")
    os.rename(folder, aside)
    try:
        os.rename(stage, folder)
    except BaseException:
        os.rename(aside, folder)
        raise
    shutil.rmtree(aside, ignore_errors=True)
