"""How `regcheck diagnose` finds and diagnoses the cases of a large RpcHttp log, and where the time goes.

The log is written by the RpcHttp writer (`regcheck.model.logs.rpchttp.write`) from random runs of the
built-in seed: each association is one run, its GUID, request ids and times made its own, and the runs'
requests interleaved in one file, about 10 MB and 40,000 lines by default: 50 associations, 8 users, a
few with the registration conflict (notifications on) and the others healthy (fix B: the service connects
with CONNECT_NO_NOTIFICATIONS, each healthy run repeated to fill the file). The first pass, the slices'
second pass and each case's diagnosis are timed apart; one row per case, decided or not with its reason,
then the totals. Asserts nothing about time. Run:

    python benchmarks/cases.py [--associations 50] [--conflicts 4] [--lines 40000] [--timeout 600] [--seed 1]
                               [--no-fixes]

``--no-fixes`` leaves out the checks of what each fix does (``regcheck check`` on each fixed scenario),
to tell the search's time from theirs.
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
import uuid
from pathlib import Path

from regcheck.cases import Cases, diagnose_cases
from regcheck.core.compile import compile_system
from regcheck.core.explore import random_run
from regcheck.deadline import Deadline
from regcheck.model.logs import rpchttp
from regcheck.model.logs.identities import Identities
from regcheck.model.logs.slices import Selection, slices, survey
from regcheck.model.logs.writing import START, header
from regcheck.model.scenario import load_builtin, with_overrides
from regcheck.model.system import build

USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
_GUID = re.compile(r"(?<=S:AssociationGuid=)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_REQUEST = re.compile(r"S:RequestId=([^;]+)")


def requests_of(user: str, conflict: bool, rng: random.Random) -> list[list[str]]:
    """The requests (each its rows) of one random run of the seed for ``user``, as the writer writes them: with
    notifications on, a run that ends in a registration failure; with fix B, a healthy one."""
    design = [f"users={user}", "requests=2", "jobs=2"] + ([] if conflict else ["connect_flags=32"])
    scenario = with_overrides(load_builtin("seed"), design)
    compiled = compile_system(build(scenario))
    for _ in range(200):
        text = rpchttp.write(scenario, random_run(compiled, random.Random(rng.random()), 60))
        failed = "500.64." in text
        if failed == conflict and text.count("RPC_OUT_DATA;") > 3:
            break
    rows = [line + "\r\n" for line in text.split("\r\n") if line and not line.startswith(("\ufeff", "#"))]
    return [rows[i:i + 3] for i in range(0, len(rows), 3)]


def written(path: Path, associations: int, conflicts: int, lines: int, seed: int) -> tuple[int, set[str]]:
    """Write the log at ``path``; its size in bytes and the GUIDs of the associations with a conflict."""
    rng = random.Random(seed)
    conflicting = set(rng.sample(range(associations), conflicts))
    queues: list[list[list[str]]] = []
    guids: set[str] = set()
    healthy_requests = (lines // 3) // max(associations - conflicts, 1)
    for number in range(associations):
        user = USERS[number % len(USERS)]
        run = requests_of(user, number in conflicting, rng)
        if number not in conflicting:  # a long healthy session: the run's requests again and again
            run = [run[i % len(run)] for i in range(healthy_requests)]
        mapping: dict[str, str] = {}

        def own(match: re.Match[str], number: int = number, mapping: dict[str, str] = mapping) -> str:
            return mapping.setdefault(match.group(0), str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench:{number}:{match.group(0)}")))

        queue = []
        for request in run:
            queue.append([_GUID.sub(own, row) for row in request])
        if number in conflicting:
            guids |= set(mapping.values())
        queues.append(queue)
    text = [header(rpchttp.LOG_TYPE, rpchttp.COLUMNS)]
    count = 0
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        request = queue.pop(0)
        count += 1
        stamp = (START.timestamp() + count * 0.25)
        moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp * 1000) % 1000:03d}Z"
        for row in request:
            row = _REQUEST.sub(f"S:RequestId=b7e1{count:04x}-0000-4000-8000-{count:012x}", row)
            text.append(moment + row[row.index(","):])
    path.write_text("".join(text), encoding="utf-8", newline="")
    return path.stat().st_size, guids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--associations", type=int, default=50)
    parser.add_argument("--conflicts", type=int, default=4)
    parser.add_argument("--lines", type=int, default=40_000)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-fixes", action="store_true", help="Search only: leave out the checks of the fixes.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "RpcHttp_2013110409-1.LOG"
        began = time.perf_counter()
        size, conflicting = written(path, args.associations, args.conflicts, args.lines, args.seed)
        lines = path.read_text(encoding="utf-8").count("\n")
        print(f"log: {size / 1e6:.1f} MB, {lines:,} lines, {args.associations} associations, {len(USERS)} users, "
              f"{args.conflicts} with a conflict (written in {time.perf_counter() - began:.1f} s)")
        start = time.perf_counter()
        found = survey(path, None, Identities(), Selection())
        first = time.perf_counter() - start
        start = time.perf_counter()
        sliced = slices(found, found.cases())
        second = time.perf_counter() - start
        print(f"first pass alone: {first:.1f} s ({found.events:,} events, {len(found.tallies)} associations); "
              f"slices alone: {second:.1f} s ({sum(len(s) for s in sliced if not isinstance(s, str))} events)")
        start = time.perf_counter()
        result = diagnose_cases(path, None, Identities(), Selection(), load_builtin("seed"), (),
                                Deadline(args.timeout), check_fixes=not args.no_fixes)
        total = time.perf_counter() - start
    report(result, conflicting, total)


def report(result: Cases, conflicting: set[str], total: float) -> None:
    """One row per case, then where the time went."""
    head = f"{'case':>4} {'association':<36} {'identities':<14} {'failures':>8} {'explained by':<44} {'seconds':>7}"
    print(head)
    print("-" * len(head))
    for case in result.cases:
        seconds = case.diagnosis.seconds if case.diagnosis is not None and not case.same_as else 0.0
        print(f"{case.number:>4} {case.tally.key.name:<36} {case.tally.identity_words():<14} "
              f"{case.tally.failures:>8} {case.explained_by()[:44]:<44} {seconds:>7.1f}")
    found = {c.tally.key.name for c in result.cases}
    print(f"cases found: {len(found)}, the associations written with a conflict: {len(conflicting)}, "
          f"the same: {found == conflicting}; without failures: {result.survey.healthy()}")
    print(f"first pass {result.first_pass_s:.1f} s + slices {result.slices_s:.1f} s + diagnoses "
          f"{sum(c.diagnosis.seconds for c in result.cases if c.diagnosis and not c.same_as):.1f} s = {total:.1f} s in all")


if __name__ == "__main__":
    main()
