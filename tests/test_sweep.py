"""Tests of ``regcheck sweep`` (regcheck/sweep.py): axes, the matrix, the smallest failing configuration, Dask.

The sweep under test has 32 configurations of the seed, one property, BMC to depth 6 (about two
seconds on two processes); the Dask run uses an in-process ``LocalCluster`` with one worker.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regcheck import sweep
from regcheck.cli import main
from regcheck.errors import InvalidArgument
from regcheck.model import scenario as scenarios
from regcheck.model.scenario import load_builtin

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
PROP = "worker-never-gets-network-error"
# workers=2,1: product order meets 2 workers first, but the smallest failing configuration has 1.
AXES = ["impersonate", "connect_flags", "transport=rpc-http,rpc-tcp", "association_scope", "workers=2,1"]
ARGS = ["sweep", "seed", "-p", PROP, "--engine", "bmc", "--depth", "6", *(a for x in AXES for a in ("--vary", x))]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, ANSI.sub("", captured.out), ANSI.sub("", captured.err)


def test_axes() -> None:
    assert sweep.parse_axis("workers=1..3") == sweep.Axis("workers", ("1", "2", "3"))
    assert sweep.parse_axis("impersonate").values == ("true", "false")
    assert sweep.parse_axis("connect-flags").values == ("0", "0x20")
    assert sweep.parse_axis("async_failure").values == ("poll", "retry", "give-up")
    seed = load_builtin("seed")
    assert [str(a) for a in sweep.axes_of([], seed)] == [str(sweep.parse_axis(a)) for a in sweep.DEFAULT_AXES]
    assert len(sweep.configurations(seed, sweep.axes_of([], seed))) == 96
    assert sweep.defaults_left_out(seed) == []
    for bad in ("workers", "workers=3..1", "transport=rpc-http,rpc-http", "workers="):
        with pytest.raises(InvalidArgument):
            sweep.parse_axis(bad)


def test_one_at_a_time_varies_each_switch_alone_from_the_base() -> None:
    base = load_builtin("fix-no-notifications")  # connect_flags = 0x20, written 32 in the scenario
    axes = sweep.axes_of(["transport", "connect_flags", "async_failure"], load_builtin("seed"))
    found = sweep.configurations(base, axes, one_at_a_time=True)
    assert [c.assignments() for c in found] == [
        ["transport=rpc-http", "connect_flags=0x20", "async_failure=poll"],
        ["transport=rpc-tcp", "connect_flags=0x20", "async_failure=poll"],
        ["transport=mapi-http", "connect_flags=0x20", "async_failure=poll"],
        ["transport=rpc-http", "connect_flags=0", "async_failure=poll"],
        ["transport=rpc-http", "connect_flags=0x20", "async_failure=retry"],
        ["transport=rpc-http", "connect_flags=0x20", "async_failure=give-up"],
    ]
    assert found[0].scenario.switches() == base.switches()


@pytest.mark.slow
def test_the_matrix_and_the_smallest_failing_configuration_locally_and_on_dask(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, local, err = run(capsys, *ARGS, "--jobs", "2")
    assert code == 0
    assert "32 configurations x 1 property on 2 local process(es)" in err
    lines = local.splitlines()
    assert lines[0] == "sweep of seed: 32 configurations, engine bmc, depth 6"
    rows = [line for line in lines if "│" in line]
    assert len(rows) == 32
    cells = [[c.strip() for c in row.split("│")] for row in rows]
    violated = [c[:5] for c in cells if c[5] == "violated 5"]
    # Only the article's setup fails: impersonating, notifications on, Exchange 2013's registration cache.
    assert violated == [
        ["true", "0", "rpc-http", scope, workers] for scope in ("process", "session") for workers in ("2", "1")
    ]
    assert all(c[5] == "bounded 6" for c in cells if c[5] != "violated 5")
    assert (
        f"{PROP}: smallest failing configuration: impersonate=true connect_flags=0 transport=rpc-http "
        "association_scope=process workers=1 (violated in 5 steps; 28 bounded, 4 violated)"
    ) in lines

    import distributed
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        code, on_dask, err = run(capsys, *ARGS, "--dask", cluster.scheduler_address)
    assert code == 0
    assert on_dask == local
    assert "on Dask at" in err


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sweep", "-p", PROP, "--engine", "bmc", "--depth", "5", "--vary", "transport=rpc-http,rpc-tcp", "--json"]
    code, out, _ = run(capsys, *argv, "--jobs", "1")
    assert code == 0
    document = json.loads(out)
    assert document["version"] == 1 and document["axes"] == {"transport": ["rpc-http", "rpc-tcp"]}
    assert [c["set"] for c in document["configurations"]] == [["transport=rpc-http"], ["transport=rpc-tcp"]]
    verdicts = [c["results"][0]["verdict"] for c in document["configurations"]]
    assert verdicts == ["violated", "bounded"]
    assert document["smallest_failing"] == {PROP: ["transport=rpc-http"]}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--vary", "colour=red"], "unknown switch 'colour'"),
        (["--vary", "workers=1", "--vary", "workers=2"], "'workers' is given twice"),
        (["--vary", "workers=0..1"], "configuration workers=0: workers: expected a whole number"),
        (["--vary", "transport=smtp"], "configuration transport=smtp: transport: 'smtp' is not allowed"),
        (["--dask", "tcp://127.0.0.1:9", "--vary", "workers=1"], "cannot reach a Dask scheduler"),
    ],
)
def test_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str
) -> None:
    monkeypatch.setattr(sweep, "DASK_CONNECT_TIMEOUT", 1.0)
    code, out, err = run(capsys, "sweep", "-p", PROP, "--engine", "bmc", "--depth", "2", *argv)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_the_design_table_of_the_docs_is_the_one_the_sweeps_compute() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "designs.md").read_text()
    shown = page.split("<!-- design-table -->\n", 1)[1].split("\n<!-- /design-table -->", 1)[0]
    table = sweep.design_table()
    assert shown == table.markdown()
    cells = {design: dict(zip(table.columns, row)) for design, row in table.rows}
    assert set(cells["service-account"].values()) == {"safe"}
    assert cells["mailbox-walker"][("fix B", "association_scope=process")] == "unsafe"
    assert cells["mailbox-walker"][("fix B", "association_scope=session")] == "safe"


def test_the_readme_design_example_is_a_valid_scenario() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### Describe your design", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    design = scenarios.parse(example, origin="README", default_name="readme")
    assert design.jobs_of(1) == ("*", "*") and design.jobs_of(2) == ("alice", "bob")
    assert design.has_rights("svc", "bob") and not design.impersonates(2)


def test_a_design_with_per_worker_lists_is_swept_without_the_axes_they_would_shadow() -> None:
    """mixed-threads gives its two workers different impersonation: the default sweep leaves out
    ``impersonate`` and ``workers`` and says why, and asking for them is refused (never a false "no failure")."""
    mixed = load_builtin("mixed-threads")
    assert [a.key for a in sweep.axes_of([], mixed)] == ["connect_flags", "transport", "association_scope"]
    left_out = sweep.defaults_left_out(mixed)
    assert [entry.split()[0] for entry in left_out] == ["impersonate", "workers"]
    assert "worker_impersonates = [true, false]" in left_out[0]
    with pytest.raises(InvalidArgument, match="would reshape worker_impersonates"):
        sweep.configurations(mixed, sweep.axes_of(["workers=2,3"], mixed))


def test_an_unknown_switch_to_vary_is_named_with_the_closest() -> None:
    with pytest.raises(InvalidArgument, match=r"--vary: unknown switch 'workrs'.*did you mean 'workers'\?"):
        sweep.parse_axis("workrs=1,2")


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 5), min_size=1, max_size=3), one_at_a_time=st.booleans())
def test_the_size_of_a_sweep_is_counted_before_it_is_made(sizes: list[int], one_at_a_time: bool) -> None:
    """``sweep.size`` (what the limit is checked against) is at least the number of configurations made,
    and exactly it for the product."""
    keys = ["requests", "workers", "connect_flags"]
    axes = [sweep.Axis(key, tuple(str(v) for v in range(1, n + 1))) for key, n in zip(keys, sizes)]
    made = sweep.configurations(load_builtin("seed"), axes, one_at_a_time=one_at_a_time)
    counted = sweep.size(axes, one_at_a_time=one_at_a_time)
    assert counted >= len(made) and (one_at_a_time or counted == len(made))


def test_ranges_are_counted_before_they_are_listed() -> None:
    many = ",".join(f"{i * 10_000}..{i * 10_000 + 9_999}" for i in range(100_000))  # 10^9 values, never listed
    with pytest.raises(InvalidArgument, match="1000000000 values; a switch may take at most 10000"):
        sweep.parse_axis(f"connect_flags={many}")
