"""``regcheck export``: a scenario's transition system and properties as a model for another checker.

The one format is Promela, for SPIN (``regcheck.formats.promela``): translated from the system that
``model.system.build`` makes and every engine checks, never written by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from regcheck.cli.inputs import Choice, PathType, load_scenario
from regcheck.errors import InvalidArgument, InvalidModel
from regcheck.files import write_atomic
from regcheck.formats import promela
from regcheck.model.scenario import names_a_file
from regcheck.model.system import build
from regcheck.outputs import plan_outputs
from regcheck.properties import catalogue

FORMATS = ("promela",)


@click.command("export")
@click.argument("target")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch (repeatable).")
@click.option("--format", "fmt", type=Choice(FORMATS), default="promela", show_default=True,
              help="What to write: promela, a model for the SPIN model checker.")
@click.option("--property", "-p", "prop", multiple=True, help="Property to include (repeatable); default: all.")
@click.option("--output", "-o", type=PathType(path_type=Path, dir_okay=False), help="Write here instead of stdout.")
def export_command(
    target: str,
    sets: tuple[str, ...] = (),
    fmt: str = "promela",
    prop: tuple[str, ...] = (),
    output: Path | None = None,
) -> None:
    """Write TARGET (a built-in scenario or a .toml file) as a Promela model for SPIN.

    One process per action instance runs its guarded, simultaneous updates as one d_step; the
    actions the liveness properties leave unfair (ServerEvent) share one process, so that SPIN's
    weak fairness (pan -f) is regcheck's. Safety properties are asserts after every step and in
    the initial state; each liveness property is an ltl block, p_ and its name with - as _. A
    state with no enabled action is a valid end state. The model's header says how to run SPIN:

    \b
      spin -a model.pml
      gcc -O2 -DSAFETY -DNOCLAIM -o pan pan.c && ./pan -E
      gcc -O2 -DNOREDUCE -DNFAIR=K -o pan pan.c && ./pan -a -f -E -A -N p_worker_requests_succeed
    """
    names = list(dict.fromkeys(prop or catalogue.NAMES))
    for name in names:
        catalogue.spec(name)
    plan_outputs([("the scenario file", Path(target) if names_a_file(target) else None)], [("--output", output)])
    scenario = load_scenario(target, list(sets))
    if scenario.parameterised:
        raise InvalidArgument(
            "export needs a number of workers (--set workers=N): workers=any is checked by counter abstraction, "
            "which has no Promela model"
        )
    system = build(scenario)
    properties = [catalogue.instantiate(name, scenario) for name in names]
    try:
        model = promela.translate(system, properties, title=scenario.name)
    except InvalidModel as exc:
        raise InvalidArgument(f"cannot export {scenario.name} as {fmt}: {exc}") from None
    if output is None:
        sys.stdout.write(model.text)
    else:
        write_atomic(output, model.text)


__all__ = ["FORMATS", "export_command"]
