"""The Informal Trace Format (regcheck/formats/itf.py): exact round trips, strict reading, atomic writing.

Trace files are data from strangers: everything malformed must be refused with
``TraceFormatError`` (never another exception), and whatever the writer writes the reader reads
back unchanged.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import itf_py
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regcheck import compose
from regcheck.cli import run_checks
from regcheck.core.result import CheckResult, Step, Trace, Verdict
from regcheck.errors import TraceFormatError
from regcheck.formats import itf
from regcheck.model.scenario import load_builtin

# --------------------------------------------------------------------------------------------
# Strategies

CHARACTERS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cf"))
"""What a trace's names and strings may hold: no control characters (``itf.MAX_TEXT`` bounds their length)."""
NAME = st.text(CHARACTERS, min_size=1, max_size=12)
VAR = NAME.filter(lambda s: s != "#meta")
VALUE = st.one_of(st.booleans(), st.integers(min_value=-(2**63), max_value=2**63), st.text(CHARACTERS, max_size=12))
LABEL = st.one_of(st.text(CHARACTERS, max_size=12), st.integers(min_value=-(2**31), max_value=2**31), st.booleans())
META = st.fixed_dictionaries(
    {},
    optional={
        "property": st.text(max_size=20),
        "replayed": st.booleans(),
        "scenario": st.text(max_size=10),
        "switches": st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
    },
)


@st.composite
def steps(draw: st.DrawFn) -> Step:
    params = draw(st.dictionaries(NAME, st.integers(min_value=-(2**31), max_value=2**31), max_size=3))
    labels = draw(st.dictionaries(NAME, LABEL, max_size=4))
    return Step(action=draw(NAME), params=tuple(params.items()), labels=labels)


@st.composite
def traces(draw: st.DrawFn) -> Trace:
    names = draw(st.lists(VAR, min_size=0, max_size=5, unique=True))
    length = draw(st.integers(0, 6))
    states = tuple(draw(st.fixed_dictionaries({n: VALUE for n in names})) for _ in range(length + 1))
    step_list = tuple(draw(steps()) for _ in range(length))
    loop = draw(st.one_of(st.none(), st.integers(0, length)))
    return Trace(vars=tuple(names), states=states, steps=step_list, loop=loop, meta=draw(META))


def assert_same(got: Trace, want: Trace) -> None:
    assert got.vars == want.vars
    assert len(got.states) == len(want.states)
    for a, b in zip(got.states, want.states):
        assert dict(a) == dict(b)
        # bool and int must not be confused (True == 1 in Python)
        assert {k: type(v) for k, v in a.items()} == {k: type(v) for k, v in b.items()}
    assert len(got.steps) == len(want.steps)
    for a, b in zip(got.steps, want.steps):
        assert a.action == b.action
        assert a.params == b.params
        assert dict(a.labels) == dict(b.labels)
        assert {k: type(v) for k, v in a.labels.items()} == {k: type(v) for k, v in b.labels.items()}
    assert got.loop == want.loop
    assert dict(got.meta) == dict(want.meta)
    assert got == want


def small_trace() -> Trace:
    return Trace(
        vars=("pc[1]", "done[1]", "imp[1]"),
        states=(
            {"pc[1]": "start", "done[1]": 0, "imp[1]": False},
            {"pc[1]": "start", "done[1]": 0, "imp[1]": True},
            {"pc[1]": "working", "done[1]": 1, "imp[1]": True},
        ),
        steps=(
            Step("Impersonate", (("worker", 1),), {"thread": "worker 1", "association": 0}),
            Step("EcDoConnectEx", (("worker", 1),), {"thread": "worker 1", "cache": "registered"}),
        ),
        loop=None,
        meta={"property": "p"},
    )


# --------------------------------------------------------------------------------------------
# Round trips


@settings(max_examples=200, deadline=None)
@given(traces())
def test_round_trip_through_itf_objects(trace: Trace) -> None:
    assert_same(itf.from_itf(itf.to_itf(trace)), trace)


@settings(max_examples=100, deadline=None)
@given(traces())
def test_round_trip_through_json_text(trace: Trace) -> None:
    text = itf.dumps(trace)
    json.loads(text)  # plain JSON
    assert_same(itf.loads(text), trace)


@settings(max_examples=50, deadline=None)
@given(traces())
def test_round_trip_through_files(tmp_path_factory: pytest.TempPathFactory, trace: Trace) -> None:
    folder = tmp_path_factory.mktemp("itf")
    path = folder / "t.itf.json"
    itf.write(trace, path)
    assert os.listdir(folder) == ["t.itf.json"], "an atomic write leaves no temp file behind"
    assert_same(itf.read(path), trace)
    # Overwriting replaces the file in place, still without leftovers.
    itf.write(trace, path)
    assert os.listdir(folder) == ["t.itf.json"]
    assert_same(itf.read(path), trace)


@settings(max_examples=100, deadline=None)
@given(traces())
def test_encoding_shape(trace: Trace) -> None:
    data = itf.to_itf(trace)
    assert data["#meta"]["format"] == "ITF"
    assert data["vars"] == list(trace.vars)
    assert len(data["states"]) == len(trace.states)
    assert ("loop" in data) == (trace.loop is not None)
    if trace.loop is not None:
        assert data["loop"] == trace.loop
    for index, (raw, state) in enumerate(zip(data["states"], trace.states)):
        assert raw["#meta"]["index"] == index
        if index > 0:
            assert raw["#meta"]["action"] == trace.steps[index - 1].action
        for name, value in state.items():
            if isinstance(value, bool):
                assert raw[name] is value
            elif isinstance(value, int):
                assert raw[name] == {"#bigint": str(value)}
            else:
                assert raw[name] == value


def test_ints_encode_as_bigint() -> None:
    data = itf.to_itf(small_trace())
    assert data["states"][2]["done[1]"] == {"#bigint": "1"}
    assert data["states"][0]["imp[1]"] is False
    assert data["states"][0]["pc[1]"] == "start"
    assert itf.encode_value(-7) == {"#bigint": "-7"}
    assert itf.encode_value(True) is True
    assert itf.decode_value({"#bigint": "-7"}, "here") == -7
    assert itf.decode_value({"#bigint": "12345678901234567890"}, "here") == 12345678901234567890


def test_lasso_round_trip() -> None:
    trace = Trace(
        vars=("x",),
        states=({"x": 0}, {"x": 1}, {"x": 0}),
        steps=(Step("Up", ()), Step("Down", ())),
        loop=0,
    )
    data = itf.to_itf(trace)
    assert data["loop"] == 0
    assert_same(itf.loads(itf.dumps(trace)), trace)


def test_plain_json_numbers_are_tolerated_on_input() -> None:
    data = itf.to_itf(small_trace())
    data["states"][2]["done[1]"] = 1
    assert itf.from_itf(data).states[2]["done[1]"] == 1


def test_unwritable_value_leaves_the_old_file_intact(tmp_path) -> None:
    path = tmp_path / "t.itf.json"
    itf.write(small_trace(), path)
    before = path.read_bytes()
    bad = Trace(vars=("x",), states=({"x": 1.5},), steps=())  # floats are not ITF values here
    with pytest.raises(TraceFormatError):
        itf.write(bad, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["t.itf.json"]


def test_write_creates_the_folder(tmp_path) -> None:
    path = tmp_path / "a" / "b" / "t.itf.json"
    itf.write(small_trace(), path)
    assert os.listdir(path.parent) == ["t.itf.json"]
    assert_same(itf.read(path), small_trace())


# --------------------------------------------------------------------------------------------
# Strict reading


def good() -> dict:
    return copy.deepcopy(itf.to_itf(small_trace()))


def _without_vars(d: dict) -> dict:
    del d["vars"]
    return d


def _state_missing_variable(d: dict) -> dict:
    del d["states"][1]["done[1]"]
    return d


def _state_extra_variable(d: dict) -> dict:
    d["states"][0]["surprise"] = True
    return d


def _unknown_top_level(d: dict) -> dict:
    d["extra"] = 1
    return d


def _set(path: tuple, value) -> callable:
    def change(d: dict) -> dict:
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return d

    return change


def _bigint(text) -> callable:
    return _set(("states", 1, "done[1]"), {"#bigint": text})


def _no_action(d: dict) -> dict:
    del d["states"][1]["#meta"]["action"]
    return d


def _no_meta(d: dict) -> dict:
    del d["states"][2]["#meta"]
    return d


MALFORMED = {
    "missing vars": _without_vars,
    "vars not a list": _set(("vars",), "pc[1]"),
    "vars not names": _set(("vars",), [1, 2]),
    "states missing": lambda d: {k: v for k, v in d.items() if k != "states"},
    "states empty": _set(("states",), []),
    "state not an object": _set(("states", 1), ["x"]),
    "state missing a variable": _state_missing_variable,
    "state with an extra variable": _state_extra_variable,
    "unknown top-level field": _unknown_top_level,
    "bigint not digits": _bigint("12a"),
    "bigint empty": _bigint(""),
    "bigint a float": _bigint("1.5"),
    "bigint a number": _set(("states", 1, "done[1]"), {"#bigint": 5}),
    "bigint with an extra key": _set(("states", 1, "done[1]"), {"#bigint": "5", "x": 1}),
    "bigint spaced": _bigint(" 5"),
    "bigint underscored": _bigint("1_000"),
    "bigint only a sign": _bigint("-"),
    "a float value": _set(("states", 1, "done[1]"), 1.5),
    "a null value": _set(("states", 1, "done[1]"), None),
    "a list value": _set(("states", 1, "done[1]"), [1]),
    "loop too large": _set(("loop",), 3),
    "loop negative": _set(("loop",), -1),
    "loop a string": _set(("loop",), "0"),
    "loop a bool": _set(("loop",), True),
    "step without #meta.action": _no_action,
    "step without #meta": _no_meta,
    "action not a string": _set(("states", 1, "#meta", "action"), 7),
    "params not integers": _set(("states", 1, "#meta", "params"), {"worker": "1"}),
    "params a bool": _set(("states", 1, "#meta", "params"), {"worker": True}),
    "labels not scalars": _set(("states", 1, "#meta", "labels"), {"thread": ["worker 1"]}),
    "meta not an object": _set(("#meta",), ["ITF"]),
}


@pytest.mark.parametrize("change", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_is_rejected(change) -> None:
    data = change(good())
    with pytest.raises(TraceFormatError):
        itf.from_itf(data)
    with pytest.raises(TraceFormatError):
        itf.loads(json.dumps(data))


@pytest.mark.parametrize("data", [[], "trace", 3, None, True], ids=["list", "string", "int", "null", "bool"])
def test_non_object_is_rejected(data) -> None:
    with pytest.raises(TraceFormatError):
        itf.from_itf(data)
    with pytest.raises(TraceFormatError):
        itf.loads(json.dumps(data))


def test_messages_say_where() -> None:
    with pytest.raises(TraceFormatError, match="state 1"):
        itf.from_itf(_state_missing_variable(good()))
    with pytest.raises(TraceFormatError, match="extra"):
        itf.from_itf(_unknown_top_level(good()))
    with pytest.raises(TraceFormatError, match="loop"):
        itf.from_itf(_set(("loop",), 9)(good()))
    with pytest.raises(TraceFormatError, match="state 1"):
        itf.from_itf(_no_action(good()))


def test_not_json_is_rejected() -> None:
    with pytest.raises(TraceFormatError):
        itf.loads("{not json")
    with pytest.raises(TraceFormatError):
        itf.loads("")


def test_missing_file_is_a_trace_format_error(tmp_path) -> None:
    with pytest.raises(TraceFormatError):
        itf.read(tmp_path / "absent.itf.json")


def test_loop_at_the_last_state_is_accepted() -> None:
    data = good()
    data["loop"] = 2
    assert itf.from_itf(data).loop == 2


# Bugs: each shows a way a stranger's trace file escapes the TraceFormatError contract.


def test_bigint_with_two_signs_is_a_trace_format_error() -> None:
    with pytest.raises(TraceFormatError):
        itf.from_itf(_bigint("--5")(good()))


def test_bigint_with_superscript_digit_is_a_trace_format_error() -> None:
    with pytest.raises(TraceFormatError):
        itf.from_itf(_bigint("²")(good()))


def test_deeply_nested_json_is_a_trace_format_error() -> None:
    with pytest.raises(TraceFormatError):
        itf.loads("[" * 100_000 + "]" * 100_000)


def test_non_utf8_file_is_a_trace_format_error(tmp_path) -> None:
    path = tmp_path / "binary.itf.json"
    path.write_bytes(b'{"vars": ["\xff\xfe"]}')
    with pytest.raises(TraceFormatError):
        itf.read(path)


def test_what_the_writer_accepts_the_reader_reads_back() -> None:
    trace = Trace(vars=("x",), states=({"x": 10**39},), steps=())
    try:
        data = itf.to_itf(trace)
    except TraceFormatError:
        return  # refusing to write is consistent too
    assert itf.from_itf(data) == trace


# --------------------------------------------------------------------------------------------
# A real counterexample from the checker


@pytest.fixture(scope="module")
def seed_results():
    return run_checks(load_builtin("seed"), [], engine="bmc", depth=6, timeout=60)


def test_checker_counterexamples_round_trip(seed_results, tmp_path) -> None:
    with_traces = [r for r in seed_results if r.trace is not None]
    assert with_traces, "the seed is violated within 6 steps"
    for result in seed_results:
        if result.verdict is Verdict.VIOLATED:
            assert result.trace is not None
        if result.trace is None:
            continue
        trace = result.trace
        assert_same(itf.from_itf(itf.to_itf(trace)), trace)
        assert_same(itf.loads(itf.dumps(trace)), trace)
        path = tmp_path / f"{result.property}.itf.json"
        itf.write(trace, path)
        assert_same(itf.read(path), trace)
        assert trace.meta.get("replayed") is True
        assert len(trace) == result.depth
    assert sorted(os.listdir(tmp_path)) == sorted(f"{r.property}.itf.json" for r in with_traces)


# --------------------------------------------------------------------------------------------
# Another reader: the Apalache/Quint ITF library (itf_py) reads what regcheck writes, and regcheck
# reads back what itf_py writes of it. itf_py keeps each state's ``#meta`` as it is, so the steps
# (action, params, labels) travel there; it adds ``"params": []`` and ``"loop": null`` at the top.


def _itf_py_reads(text: str, want: Trace) -> itf_py.Trace:
    """``text`` (regcheck's ITF of ``want``) read by itf_py: the same variables, states, values, steps and loop."""
    got = itf_py.trace_from_json(json.loads(text))
    assert list(got.vars) == list(want.vars)
    assert got.loop == want.loop
    assert list(got.params) == []
    assert got.meta["format"] == "ITF"
    assert {k: v for k, v in got.meta.items() if k not in ("format", "format-description")} == dict(want.meta)
    assert len(got.states) == len(want.states)
    for index, (state, values) in enumerate(zip(got.states, want.states)):
        assert state.values == dict(values)
        assert list(state.values) == list(want.vars), "itf_py sees the variables in the order of 'vars'"
        # decoded to the same Python types: {"#bigint": ...} to int, booleans and strings as they are
        assert {k: type(v) for k, v in state.values.items()} == {k: type(v) for k, v in values.items()}
        assert state.meta["index"] == index
        if index > 0:
            step = want.steps[index - 1]
            assert state.meta["action"] == step.action
            assert tuple(state.meta["params"].items()) == step.params
            assert state.meta["labels"] == dict(step.labels)
        else:
            assert set(state.meta) == {"index"}
    return got


def _back_through_itf_py(got: itf_py.Trace, want: Trace, tmp_path: Path | None = None) -> None:
    """itf_py's JSON of ``got``, read by regcheck from text (and from a file in ``tmp_path``), is ``want``."""
    data = itf_py.trace_to_json(got)
    text = json.dumps(data)
    assert_same(itf.loads(text), want)
    assert_same(itf.from_itf(json.loads(text)), want)
    if tmp_path is not None:
        path = tmp_path / "from-itf-py.itf.json"
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
        assert_same(itf.read(path), want)


@pytest.fixture(scope="module")
def seed_explicit() -> list[CheckResult]:
    """The seed's verdicts by the explicit engine: safety counterexamples and liveness lassos."""
    return run_checks(load_builtin("seed"), [], engine="explicit", depth=12, timeout=60)


def test_itf_py_reads_the_checkers_counterexamples(seed_explicit: list[CheckResult], tmp_path: Path) -> None:
    with_traces = [(r.property, r.trace) for r in seed_explicit if r.trace is not None]
    assert len(with_traces) >= 2
    assert any(t.loop is not None for _, t in with_traces), "the seed's liveness lassos are among them"
    assert any(t.loop is None for _, t in with_traces)
    seed = load_builtin("seed")
    for prop, found in with_traces:
        # as `check --trace-out` writes it: with the scenario and its switches in the trace's #meta
        trace = found.with_meta(scenario=seed.name, switches=compose.scenario_of(seed, found).switches())
        got = _itf_py_reads(itf.dumps(trace), trace)
        _back_through_itf_py(got, trace, tmp_path)
        path = tmp_path / f"{prop}.itf.json"
        itf.write(trace, path)
        from_file = _itf_py_reads(path.read_text(encoding="utf-8"), trace)
        _back_through_itf_py(from_file, trace)
        assert from_file == got


def test_itf_py_reads_a_lasso_loop_as_a_state_index(seed_explicit: list[CheckResult]) -> None:
    lasso = next(r.trace for r in seed_explicit if r.trace is not None and r.trace.loop is not None)
    assert lasso is not None and lasso.loop is not None
    got = _itf_py_reads(itf.dumps(lasso), lasso)
    assert got.loop == lasso.loop and 0 <= got.loop < len(got.states)
    assert got.states[got.loop].values == dict(lasso.states[lasso.loop])


@settings(max_examples=60, deadline=None)
@given(traces())
def test_round_trip_through_itf_py(trace: Trace) -> None:
    _back_through_itf_py(_itf_py_reads(itf.dumps(trace), trace), trace)


def test_itf_py_null_loop_and_empty_params_are_read_as_no_loop() -> None:
    data = itf_py.trace_to_json(itf_py.trace_from_json(itf.to_itf(small_trace())))
    assert data["loop"] is None and data["params"] == []
    assert_same(itf.from_itf(data), small_trace())


# The writer refuses what the reader would refuse or read back as another trace ("whatever the writer writes
# the reader reads back unchanged"); the reader wants top-level 'params' to be a list of parameter names.

_ONE = ({"x": 1},)
WRITTEN_NOT_READ = {
    "a string value with an ESC": Trace(vars=("x",), states=({"x": "a\x1bb"},), steps=()),
    "a string value of 201 characters": Trace(vars=("x",), states=({"x": "a" * 201},), steps=()),
    "a variable name of 201 characters": Trace(vars=("v" * 201,), states=({"v" * 201: 1},), steps=()),
    "a label with an ESC": Trace(vars=("x",), states=({"x": 1}, {"x": 2}), steps=(Step("A", (), {"t": "\x1b[2J"}),)),
    "a variable named twice": Trace(vars=("x", "x"), states=_ONE, steps=()),
    "no states": Trace(vars=(), states=(), steps=()),
    "a loop past the last state": Trace(vars=("x",), states=_ONE, steps=(), loop=3),
    "a boolean parameter": Trace(vars=("x",), states=({"x": 1}, {"x": 2}), steps=(Step("A", (("w", True),)),)),
    "a parameter named twice": Trace(vars=("x",), states=({"x": 1}, {"x": 2}),
                                     steps=(Step("A", (("w", 1), ("w", 2))),)),
    "'format' in the trace's meta": Trace(vars=("x",), states=_ONE, steps=(), meta={"format": "mine"}),
}


@pytest.mark.parametrize("trace", list(WRITTEN_NOT_READ.values()), ids=list(WRITTEN_NOT_READ))
def test_the_writer_refuses_what_the_reader_would_not_read_back(trace: Trace) -> None:
    try:
        text = itf.dumps(trace)
    except TraceFormatError:
        return  # refusing to write is consistent
    assert json.loads(text)["#meta"]["format"] == "ITF"
    assert_same(itf.loads(text), trace)


@pytest.mark.parametrize("params", [5, "worker", [1], {"worker": 1}, [None]])
def test_top_level_params_must_be_a_list_of_names(params: object) -> None:
    data = good()
    data["params"] = params
    with pytest.raises(TraceFormatError):
        itf.from_itf(data)
