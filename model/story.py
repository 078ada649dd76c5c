"""A counterexample told in the protocol's words: threads, identities, association GUIDs, the cache.

Association GUIDs are not part of the model's state; they are named here by walking the trace:
association a starts as ``g<a>``, and every Reconnect onto a new association gives it the next
fresh name.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.scenario import Scenario
from regcheck.result import STUTTER, Trace

RESULT_CODES = {
    "MAPI_E_NETWORK_ERROR": "MAPI_E_NETWORK_ERROR (0x80040115)",
    "ecRejected": "ecRejected (0x000007EE)",
    "ecAccessDenied": "ecAccessDenied (0x80070005)",
    "NotificationPending": "NotificationPending (0x00000001)",
}

CACHE_WORDS = {
    "registered": "registered to {identity}",
    "hit": "hit ({identity})",
    "mismatch": "MISMATCH: registered to {owner}",
    "mismatch-evicted": "MISMATCH: registered to {owner}; evicted",
    "no-registration": "no registration (evicted)",
    "re-registered": "re-registered to {identity}",
}
MISMATCH_TEXT = "Registration of the Association GUID failed"


@dataclass(frozen=True)
class StoryRow:
    step: int
    thread: str
    identity: str
    call: str
    guid: str
    cache: str
    result: str
    failed: bool


def concrete(scenario: Scenario, trace: Trace) -> Scenario:
    """The scenario with the number of workers the trace shows (a workers=any counterexample names it)."""
    if scenario.parameterised:
        return scenario.with_workers(int(trace.meta.get("workers", 1)))
    return scenario


def association_guids(scenario: Scenario, trace: Trace) -> list[dict[int, str]]:
    """For each state, the GUID name of each association."""
    scenario = concrete(scenario, trace)
    current = {a: f"g{a}" for a in range(1, scenario.association_count + 1)}
    fresh = scenario.association_count + 1
    names = [dict(current)]
    for step in trace.steps:
        if step.action == "Reconnect" and scenario.after_network_error == "reconnect-new" and current:
            worker = dict(step.params)["worker"]
            current[scenario.association_of(worker)] = f"g{fresh}"
            fresh += 1
        names.append(dict(current))
    return names


def rows(scenario: Scenario, trace: Trace) -> list[StoryRow]:
    """One row per step, in the vocabulary a support engineer reads in an Exchange log."""
    scenario = concrete(scenario, trace)
    guids = association_guids(scenario, trace)
    out = []
    for index, step in enumerate(trace.steps):
        labels = step.labels
        before = trace.states[index]
        association = int(labels.get("association", 0))
        guid = guids[index].get(association, "-") if association else "-"
        identity = str(labels.get("context", "-"))
        cache = str(labels.get("cache", "-"))
        owner = before.get(f"reg[{association}]", "-")
        words = CACHE_WORDS.get(cache, "" if cache == "-" else cache)
        result = str(labels.get("result", ""))
        out.append(
            StoryRow(
                step=index + 1,
                thread=str(labels.get("thread", "")),
                identity=identity,
                call=str(labels.get("message", step.action)),
                guid=guid,
                cache=words.format(guid=guid, identity=identity, owner=owner),
                result=RESULT_CODES.get(result, result),
                failed=result in ("MAPI_E_NETWORK_ERROR", "ecAccessDenied", "ecRejected"),
            )
        )
    return out


def cause(scenario: Scenario, trace: Trace) -> str:
    """The step that broke the registration, if any; for a lasso, also what repeats for ever."""
    sentence = _first_cause(scenario, trace)
    if trace.loop is None:
        return sentence
    last = len(trace.steps)
    if trace.steps and trace.steps[-1].action == STUTTER:
        repeat = f"From step {last}, no thread can act any more: the state after step {trace.loop} stays for ever"
    else:
        repeat = f"Step {last} repeats for ever" if trace.loop + 1 == last else (
            f"Steps {trace.loop + 1} to {last} repeat for ever"
        )
    final = trace.states[-1]
    pending = sorted(k for k, v in final.items() if k.startswith("pending[") and v is True)
    waiting = f"; the notification of session {pending[0][8:-1]} is never delivered" if pending else ""
    if sentence.startswith("The property fails"):
        return f"{repeat}{waiting}."
    return f"{sentence} {repeat}{waiting}."


def _first_cause(scenario: Scenario, trace: Trace) -> str:
    story = rows(scenario, trace)
    for row in story:
        if row.cache.startswith("MISMATCH"):
            who = row.thread
            if who.startswith("notifier"):
                who += " (MAPI's notification thread, which does not carry the impersonation)"
            owner = row.cache.split("registered to ")[1].split(";")[0]
            evicted = "evicted" in row.cache
            later = [r for r in story[row.step:] if r.failed and r.thread.startswith("worker")]
            consequence = ""
            if evicted and later:
                consequence = f"; {later[0].thread}'s {later[0].call} at step {later[0].step} then failed"
                consequence += " with no registration" if later[0].cache.startswith("no registration") else ""
            return (
                f"Step {row.step}: {who}, running as {row.identity}, sent {row.call} on association {row.guid}, "
                f'registered to {owner}: "{MISMATCH_TEXT}". The front end failed the call with '
                f"MAPI_E_NETWORK_ERROR" + (" and evicted the registration" if evicted else "") + consequence + "."
            )
    failed = [row for row in story if row.failed]
    if failed:
        row = failed[0]
        return f"Step {row.step}: {row.thread}'s {row.call} failed with {row.result}."
    return "The property fails in the final state."
