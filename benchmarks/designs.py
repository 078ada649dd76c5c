"""The built-in client designs at a realistic size: 4 workers, 2 jobs each, 2 users, as fresh `regcheck` processes.

Prints a table: design, the switches that scale it, the verdict of each safety property, whether
every one is decided (violated or proved, not bounded or unknown), and seconds end to end with the
default engine (auto) and timeout. service-account is also checked for every number of workers.
Asserts nothing about time; the target is under 30 s per design. Run:

    python benchmarks/designs.py
"""

from __future__ import annotations

from fresh import SAFETY, check, properties

TWO_JOBS_EACH = "worker_users=alice+bob,alice+bob,alice+bob,alice+bob"
DESIGNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mailbox-walker", ("workers=4", TWO_JOBS_EACH)),
    ("thread-pool", ("workers=4", "jobs=2")),
    ("session-cache", ("workers=4", "jobs=2")),
    ("service-account", ("workers=4", "jobs=2")),
    ("service-account", ("workers=any", "jobs=2")),
    ("mixed-threads", ("workers=4", "users=alice,bob", TWO_JOBS_EACH, "worker_impersonates=true,false,true,false",
                       "mailbox_access=svc:alice+bob")),
)
SHORT = {"violated": "V", "proved": "P", "bounded": "B", "unknown": "?"}


def main() -> None:
    header = f"{'design':16} {'verdicts (' + ' '.join(str(i + 1) for i in range(len(SAFETY))) + ')':>16} " \
             f"{'decided':>8} {'seconds':>8}  switches"
    print("safety properties: " + ", ".join(f"{i + 1} {name}" for i, name in enumerate(SAFETY)))
    print(header)
    print("-" * len(header))
    for design, switches in DESIGNS:
        seconds, results = check(design, *(a for s in switches for a in ("--set", s)), *properties(SAFETY))
        verdicts = [r["verdict"] for r in results]
        decided = all(v in ("violated", "proved") for v in verdicts)
        print(f"{design:16} {' '.join(SHORT[v] for v in verdicts):>16} {'yes' if decided else 'NO':>8} "
              f"{seconds:>8.2f}  {' '.join(switches)}", flush=True)


if __name__ == "__main__":
    main()
