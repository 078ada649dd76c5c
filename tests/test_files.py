"""regcheck.files: a write that fails names the file the user asked for, never the temp file beside it."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from regcheck import files
from regcheck.cli import main
from regcheck.errors import InvalidArgument


def test_a_failed_write_names_its_target_and_leaves_no_temp_file(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def full(source: str, target: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), source, None, target)

    monkeypatch.setattr(files.os, "replace", full)
    with pytest.raises(InvalidArgument) as info:
        files.write_atomic(tmp_path / "report.xml", "<x/>")
    assert str(info.value) == f"cannot write {tmp_path / 'report.xml'}: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_the_command_says_which_file_it_could_not_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    def full(source: str, target: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), source, None, target)

    monkeypatch.setattr(files.os, "replace", full)
    target = tmp_path / "a\nb.xml"
    code = main(["check", "-p", "no-registration-mismatch", "--engine", "bmc", "--depth", "2", "--junit", str(target)])
    assert code == 2
    assert capsys.readouterr().err == f"error: cannot write {tmp_path}/a\\nb.xml: No space left on device\n"
