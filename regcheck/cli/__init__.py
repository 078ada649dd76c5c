"""The ``regcheck`` command: the composition root, and with ``compose`` the only code that knows model/ and properties/.

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

import os
import signal
import sys
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
from regcheck.deadline import OutOfTime
from regcheck.display import brief
from regcheck.errors import EngineDisagreement, RegcheckError


class _OutputClosed(Exception):
    """Standard output was closed before the command finished writing."""


class _Group(click.Group):
    """The command group; it keeps a closed pipe from click, which would end the run with exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a closed pipe becomes :class:`_OutputClosed`, which click does not catch."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise _OutputClosed from None


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
    closed early (``regcheck check | head``) ends the run quietly with exit 141."""
    try:
        code = _run(argv)
        sys.stdout.flush()
    except (_OutputClosed, BrokenPipeError):
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    return code


def _run(argv: list[str] | None) -> int:
    """Run the command line; each error regcheck expects becomes one line on stderr and its exit code."""
    try:
        code = app.main(args=argv, prog_name="regcheck", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        return _error(exc.format_message())
    except (click.Abort, KeyboardInterrupt):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the goodbye
        # An object the interrupt left half-built (a z3 context) may fail in its finalizer at exit: not news.
        sys.unraisablehook = lambda unraisable: None
        err.print("interrupted", markup=False)
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
        where = f" {exc.filename}" if exc.filename else ""
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
