"""``regcheck scenarios`` and ``regcheck properties``: what there is to check.

Every cell is literal text (rich ``Text``), never markup: ``[true, false]`` in a description is words.
"""

from __future__ import annotations

import click
from rich.text import Text

from regcheck.cli.console import out
from regcheck.cli.tables import WordTable
from regcheck.display import printable
from regcheck.model import scenario as scenarios
from regcheck.properties import catalogue


@click.command("scenarios")
def list_scenarios() -> None:
    """List the built-in scenarios and what each expects."""
    table = WordTable(show_edge=False, pad_edge=False)
    table.add_column("scenario")
    table.add_column("description", overflow="fold")
    for name in scenarios.builtin_names():
        table.add_row(Text(printable(name)), Text(printable(scenarios.load_builtin(name).description)))
    out.print(table)


@click.command("properties")
def list_properties() -> None:
    """List the properties with their kind, meaning and source."""
    table = WordTable(show_edge=False, pad_edge=False)
    for column in ("property", "kind", "description", "source"):
        table.add_column(column, overflow="fold")
    for spec in catalogue.CATALOGUE:
        table.add_row(*(Text(printable(cell)) for cell in (spec.name, spec.kind.value, spec.description, spec.source)))
    out.print(table)


__all__ = ["list_properties", "list_scenarios"]
