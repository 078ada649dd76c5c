"""Shapes of counterexamples in the protocol's words, as trace constraints (``regcheck.core.constraints``).

"Find a counterexample in which the notification thread registers first" becomes
``registers_first("notifier 1")``: the first step whose registration-cache event is
``registered`` is sent by notifier 1. The labels named here (``thread``, ``message``, ``context``,
``cache``, ``result``) are the ones ``regcheck/model/system.py`` puts on every action (SEMANTICS.md,
"Actions"); a value no action can carry simply matches no step.
"""

from __future__ import annotations

from regcheck.core.constraints import Before, Fields, First, Happens, Never

MISMATCH_EVENTS = ("mismatch", "mismatch-evicted")
"""Cache events of "Registration of the Association GUID failed"."""


def step(
    thread: str | None = None,
    message: str | None = None,
    *,
    runs_as: str | None = None,
    cache: str | tuple[str, ...] | None = None,
    result: str | None = None,
    action: str | None = None,
) -> Fields:
    """The fields of a step: who sent it, which message, under which security context, what the cache did.

    >>> step("notifier 1", "EcDoAsyncWaitEx")
    (('thread', ('notifier 1',)), ('message', ('EcDoAsyncWaitEx',)))
    """
    fields: list[tuple[str, tuple[str, ...]]] = []
    for key, value in (("thread", thread), ("message", message), ("context", runs_as), ("result", result),
                       ("action", action)):
        if value is not None:
            fields.append((key, (value,)))
    if cache is not None:
        fields.append(("cache", (cache,) if isinstance(cache, str) else tuple(cache)))
    if not fields:
        raise ValueError("a step needs at least one of thread, message, runs_as, cache, result, action")
    return tuple(fields)


def registers_first(thread: str) -> First:
    """``thread`` makes the first registration of an association (e.g. ``"notifier 1"``)."""
    return First(step(cache="registered"), step(thread))


def first_mismatch_by(thread: str) -> First:
    """The first "Registration of the Association GUID failed" happens to a call of ``thread``."""
    return First(step(cache=MISMATCH_EVENTS), step(thread))


def sends(thread: str, message: str | None = None) -> Happens:
    """``thread`` sends ``message`` (any message, if None) before the property fails."""
    return Happens(step(thread, message))


def never_sends(thread: str, message: str | None = None) -> Never:
    """``thread`` does not send ``message`` (anything, if None) before the property fails."""
    return Never(step(thread, message))


def sends_before(first: tuple[str, str], then: tuple[str, str]) -> Before:
    """``first`` = (thread, message) is sent before any ``then`` = (thread, message)."""
    return Before(step(*first), step(*then))
