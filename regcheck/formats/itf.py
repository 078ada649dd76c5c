"""Informal Trace Format (ITF, Apalache/Quint) in and out.

A trace is ``{"#meta", "vars", "states", "loop"?}``; integers are ``{"#bigint": "n"}``, booleans
and enum members are plain JSON. The action that led into state i (i >= 1) and its labels are kept
in that state's ``#meta`` as ``action``, ``params`` and ``labels``. Reading is strict: a trace file
is data from strangers, so shapes and sizes are checked and nothing in it is executed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

from regcheck.core.expr import Value
from regcheck.core.result import Step, Trace
from regcheck.display import is_printable, printable_path, shown
from regcheck.errors import InvalidArgument, TraceFormatError
from regcheck.files import read_limited, write_atomic

FORMAT_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"
MAX_STATES = 100_000
MAX_BYTES = 64 * 1024 * 1024
MAX_DIGITS = 4000
MAX_TEXT = 200
"""Characters in a variable name, a string value, an action or a label: the model's are far shorter."""
_BIGINT = re.compile(r"-?[0-9]{1,%d}" % MAX_DIGITS, re.ASCII)


def encode_value(value: Value) -> Any:
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        text = str(value)
        if len(text.lstrip("-")) > MAX_DIGITS:
            raise TraceFormatError(f"an integer of more than {MAX_DIGITS} digits cannot be written")
        return {"#bigint": text}
    raise TraceFormatError(f"cannot write {value!r} as an ITF value")


def decode_value(raw: Any, where: str) -> Value:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        return _text(raw, where)
    if isinstance(raw, dict) and set(raw) == {"#bigint"} and isinstance(raw["#bigint"], str):
        if _BIGINT.fullmatch(raw["#bigint"]):
            return int(raw["#bigint"])
    if isinstance(raw, int):
        return raw  # plain JSON numbers are tolerated on input
    raise TraceFormatError(f"{where}: unsupported ITF value {json.dumps(raw)[:80]}")


def to_itf(trace: Trace) -> dict[str, Any]:
    """The trace as an ITF JSON object; a trace the reader would refuse or read back as another is refused here."""
    data = _encoded(trace)
    try:
        back = from_itf(data)
    except TraceFormatError as exc:
        raise TraceFormatError(f"this trace cannot be written as ITF: {exc}") from None
    if (back.vars, back.states, back.steps, back.loop, back.meta) != (
        trace.vars, trace.states, trace.steps, trace.loop, trace.meta
    ):
        reserved = sorted(set(trace.meta) & {"format", "format-description"})
        why = f"'#meta' may not use the ITF key {shown(reserved[0])}" if reserved else "it would read back otherwise"
        raise TraceFormatError(f"this trace cannot be written as ITF: {why}")
    return data


def _encoded(trace: Trace) -> dict[str, Any]:
    states = []
    for index, state in enumerate(trace.states):
        meta: dict[str, Any] = {"index": index}
        if index > 0:
            step = trace.steps[index - 1]
            meta["action"] = step.action
            meta["params"] = dict(step.params)
            meta["labels"] = dict(step.labels)
        states.append({"#meta": meta, **{name: encode_value(state[name]) for name in trace.vars}})
    data: dict[str, Any] = {
        "#meta": {"format": "ITF", "format-description": FORMAT_DESCRIPTION, **trace.meta},
        "vars": list(trace.vars),
        "states": states,
    }
    if trace.loop is not None:
        data["loop"] = trace.loop
    return data


def from_itf(data: Any) -> Trace:
    """Parse an ITF JSON object into a Trace, rejecting anything malformed with the place it is."""
    if not isinstance(data, dict):
        raise TraceFormatError("an ITF trace must be a JSON object")
    unknown = set(data) - {"#meta", "vars", "states", "loop", "params"}
    if unknown:
        raise TraceFormatError(f"unknown top-level ITF field {shown(sorted(unknown)[0])}")
    params = data.get("params", [])
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise TraceFormatError("'params' must be a list of parameter names")
    names = data.get("vars")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise TraceFormatError("'vars' must be a list of variable names")
    for name in names:
        _text(name, "'vars'")
    if len(set(names)) != len(names):
        raise TraceFormatError(f"'vars' names {shown(next(n for n in names if names.count(n) > 1))} twice")
    raw_states = data.get("states")
    if not isinstance(raw_states, list) or not raw_states:
        raise TraceFormatError("'states' must be a non-empty list")
    if len(raw_states) > MAX_STATES:
        raise TraceFormatError(f"{len(raw_states)} states exceed the limit of {MAX_STATES}")
    states: list[dict[str, Value]] = []
    steps: list[Step] = []
    for index, raw in enumerate(raw_states):
        where = f"state {index}"
        if not isinstance(raw, dict):
            raise TraceFormatError(f"{where} is not an object")
        fields = set(raw) - {"#meta"}
        if fields != set(names):
            extra, missing = sorted(fields - set(names)), sorted(set(names) - fields)
            raise TraceFormatError(
                f"{where}: variables differ from 'vars' (extra {shown(extra)}, missing {shown(missing)})"
            )
        states.append({n: decode_value(raw[n], f"{where}, variable {n}") for n in names})
        if index > 0:
            steps.append(_decode_step(raw.get("#meta"), where))
    loop = data.get("loop")
    if loop is not None and (not isinstance(loop, int) or isinstance(loop, bool) or not 0 <= loop < len(states)):
        raise TraceFormatError(f"'loop' must be a state index from 0 to {len(states) - 1}, got {shown(loop)}")
    meta = data.get("#meta", {})
    if not isinstance(meta, dict):
        raise TraceFormatError("'#meta' must be an object")
    meta = {k: v for k, v in meta.items() if k not in ("format", "format-description")}
    return Trace(vars=tuple(names), states=tuple(states), steps=tuple(steps), loop=loop, meta=meta)


def _decode_step(meta: Any, where: str) -> Step:
    if not isinstance(meta, dict) or not isinstance(meta.get("action"), str):
        raise TraceFormatError(f"{where}: '#meta' must name the action that led to it")
    params = meta.get("params", {})
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in params.items()
    ):
        raise TraceFormatError(f"{where}: '#meta.params' must map parameter names to integers")
    labels = meta.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, (str, int)) for v in labels.values()):
        raise TraceFormatError(f"{where}: '#meta.labels' must map label names to strings or integers")
    for text in (meta["action"], *params, *labels, *(v for v in labels.values() if isinstance(v, str))):
        _text(text, f"{where}, '#meta'")
    return Step(action=meta["action"], params=tuple(params.items()), labels=dict(labels))


def _text(text: str, where: str) -> str:
    """A name or string value of the trace, refused when it is longer than any the model makes or holds
    control characters (which no model name has, and which would drive a terminal or break an SVG)."""
    if len(text) > MAX_TEXT:
        raise TraceFormatError(f"{where}: a text of {len(text)} characters; the limit is {MAX_TEXT}")
    if not is_printable(text):
        raise TraceFormatError(f"{where}: {shown(text)} holds control characters")
    return text


def dumps(trace: Trace) -> str:
    return json.dumps(to_itf(trace), indent=1)


def _no_constant(name: str) -> NoReturn:
    """Refuse ``NaN``, ``Infinity`` and ``-Infinity``, which JSON does not have and Python's reader accepts."""
    raise TraceFormatError(f"not a trace: {name} is not a JSON value")


def loads(text: str) -> Trace:
    """Parse ITF JSON text strictly: no NaN or Infinity, no number Python would refuse to read."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except TraceFormatError:
        raise
    except json.JSONDecodeError as exc:
        raise TraceFormatError(f"not JSON: {exc}") from None
    except RecursionError:
        raise TraceFormatError("not a trace: JSON nested too deeply") from None
    except ValueError:  # a plain JSON integer past Python's limit on digits
        raise TraceFormatError(f"not a trace: a number of more than {sys.get_int_max_str_digits()} digits") from None
    return from_itf(data)


def read(path: str | Path) -> Trace:
    """Read a trace file: a regular file of at most :data:`MAX_BYTES` bytes of UTF-8 ITF JSON."""
    path = Path(path)
    try:
        data = read_limited(path, MAX_BYTES, what=printable_path(path))
    except InvalidArgument as exc:
        raise TraceFormatError(str(exc)) from None
    try:
        return loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise TraceFormatError(f"{printable_path(path)}: not UTF-8 text") from None
    except TraceFormatError as exc:
        raise TraceFormatError(f"{printable_path(path)}: {exc}") from None


def write(trace: Trace, path: str | Path) -> None:
    """Write atomically (temp file + rename), so an interrupted run leaves no half-written trace."""
    write_atomic(Path(path), dumps(trace) + "\n")


