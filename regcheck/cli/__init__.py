"""The ``regcheck`` command: the composition root, and with ``compose`` the only code that knows regcheck/model/ and regcheck/properties/.

The command group :data:`app` and :func:`main`, which turns every error regcheck expects into one
line on stderr and its exit code (``regcheck.cli.exits``), never a traceback. The commands live one
group to a module:

- ``check``: the verdicts of a scenario, as a table and a story, or as JSON (:mod:`.check`);
- ``show``, ``replay``: a trace file on its own (:mod:`.show`);
- ``report``, ``sweep``: many checks at once (:mod:`.batch`);
- ``scenarios``, ``properties``: what there is to check (:mod:`.listing`);
- ``export``: a scenario as a Promela model, for SPIN (:mod:`.export`);
- ``diagnose``: the settings of the model that explain an observed log (:mod:`.diagnose`).

Beside them: :mod:`.console` (the consoles and the progress spinner), :mod:`.inputs` (scenarios,
paths and engine settings, validated once for every command) and :mod:`.schema` (the versioned
``--json`` documents).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Any

import click

import regcheck
from regcheck.cli.batch import report_command, sweep_command
from regcheck.cli.check import check_command, run_checks
from regcheck.cli.console import err
from regcheck.cli.diagnose import diagnose_command
from regcheck.cli.exits import EXIT_BROKEN_PIPE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNKNOWN, EXIT_USAGE
from regcheck.cli.export import export_command
from regcheck.cli.listing import list_properties, list_scenarios
from regcheck.cli.show import replay_command, show_command
from regcheck.core import smt
from regcheck.deadline import OutOfTime
from regcheck.display import brief, printable_path
from regcheck.errors import EngineDisagreement, RegcheckError


class _OutputClosed(Exception):
    """Standard output was closed before the command finished writing."""


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an interrupt: every clean-up that Ctrl-C runs (pools stopped, their workers killed,
    no file left half-written) runs for it too."""


class _TerminatedRun(Exception):
    """A command that SIGTERM ended; click lets it through (an interrupt would become click's Abort)."""


def _on_sigterm(signum: int, frame: object) -> None:
    """The SIGTERM handler of the ``regcheck`` command."""
    raise _Terminated


class _Group(click.Group):
    """The command group; it keeps a closed pipe and SIGTERM from click, which would end the run with exit 1
    or print a line of its own."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a closed pipe becomes :class:`_OutputClosed` and SIGTERM :class:`_TerminatedRun`,
        which click does not catch."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise _OutputClosed from None
        except _Terminated:
            raise _TerminatedRun from None


@click.group(cls=_Group, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(regcheck.__version__, prog_name="regcheck")
@click.pass_context
def app(ctx: click.Context) -> None:
    """Model checker for the Exchange 2013 Outlook Anywhere registration protocol.

    With no command, checks the built-in seed scenario (the article's case).
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(check_command)


for _command in (check_command, show_command, replay_command, list_scenarios, list_properties, report_command,
                 sweep_command, export_command, diagnose_command):
    app.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """Entry point: bad input becomes one line on stderr and exit 2, never a traceback; standard output
    closed early (``regcheck check | head``) ends the run quietly with exit 141; Ctrl-C or SIGTERM ends it
    with ``interrupted`` and exit 130, its child processes stopped."""
    main_thread = threading.current_thread() is threading.main_thread()  # only it may handle a signal
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    try:
        with smt.signals_cancel_queries() if main_thread else contextlib.nullcontext():
            code = _run(argv)
        sys.stdout.flush()
    except (_OutputClosed, BrokenPipeError):
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    return code


def _run(argv: list[str] | None) -> int:
    """Run the command line; each error regcheck expects becomes one line on stderr and its exit code."""
    try:
        code = app.main(args=argv, prog_name="regcheck", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        return _error(exc.format_message())
    except (click.Abort, KeyboardInterrupt, _TerminatedRun) as exc:
        for number in (signal.SIGINT, signal.SIGTERM):  # a second signal must not interrupt the goodbye
            signal.signal(number, signal.SIG_IGN)
        # An object the interrupt left half-built (a z3 context) may fail in its finalizer at exit: not news.
        sys.unraisablehook = lambda unraisable: None
        terminated = isinstance(exc, (_Terminated, _TerminatedRun)) or isinstance(exc.__cause__, _Terminated)
        err.print("interrupted by SIGTERM" if terminated else "interrupted", markup=False)
        return EXIT_INTERRUPTED
    except EngineDisagreement as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_INTERNAL
    except OutOfTime as exc:  # a stage with no partial answer ran out of the command's time: unknown
        err.print(brief(f"error: {exc}"), markup=False)
        return EXIT_UNKNOWN
    except RegcheckError as exc:
        return _error(str(exc))
    except OSError as exc:
        where = f" {printable_path(exc.filename)}" if exc.filename else ""
        return _error(f"cannot write{where}: {exc.strerror or exc}")
    return code if isinstance(code, int) else EXIT_OK


def _error(message: str) -> int:
    """Print ``message`` as the one line of an error (printable, overlong values cut); the bad-input exit code."""
    err.print(brief(f"error: {message}"), markup=False)
    return EXIT_USAGE


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush cannot fail on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


__all__ = ["app", "main", "run_checks"]
