"""Hypothesis strategies shared by the tests."""

from __future__ import annotations

from hypothesis import strategies as st

from regcheck.model.scenario import ANY_USER, CHOICES, SYSTEM, Scenario, as_text


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Small valid scenarios over every switch: 1..3 workers, 1..2 requests and jobs, one or two users,
    job lists and "*" workers, mixed threads, mailbox rights for a service account or SYSTEM."""
    workers = draw(st.integers(1, 3))
    users = draw(st.sampled_from([("alice",), ("alice", "bob")]))
    two_jobs = st.lists(st.sampled_from(users), min_size=2, max_size=2).map(tuple)
    entry = st.one_of(st.sampled_from((*users, ANY_USER)), two_jobs)
    worker_users = draw(st.one_of(st.just(()), st.lists(entry, min_size=workers, max_size=workers).map(tuple)))
    flags = draw(st.one_of(st.just(()), st.lists(st.booleans(), min_size=workers, max_size=workers).map(tuple)))
    mailbox_access = draw(st.sampled_from([{}, {"svc": ("alice",)}, {"svc": users}, {SYSTEM: ("alice",)}]))
    identities = (SYSTEM, *users, *(a for a in mailbox_access if a != SYSTEM))
    return Scenario(
        workers=workers,
        requests=draw(st.integers(1, 2)),
        users=users,
        worker_users=worker_users,
        jobs=draw(st.integers(1, 2)),
        impersonate=draw(st.booleans()),
        worker_impersonates=flags,
        mailbox_access=mailbox_access,
        process_identity=draw(st.sampled_from(identities)),
        connect_flags=draw(st.sampled_from((0, 0x20, 0x22))),
        server_async=draw(st.booleans()),
        **{key: draw(st.sampled_from(values)) for key, values in CHOICES.items()},
    )


def resized(scenario: Scenario, workers: int) -> list[str]:
    """``--set`` overrides that give ``scenario`` ``workers`` workers: where its per-worker lists differ
    (which a bare ``workers=N`` may not reshape), each list's entries repeated in turn."""
    sets = [f"workers={workers}"]
    for key in ("worker_users", "worker_impersonates"):
        given = getattr(scenario, key)
        if len(set(given)) > 1 and len(given) != workers:
            cycled = [given[i % len(given)] for i in range(workers)]
            sets.append(f"{key}={as_text(key, [list(e) if isinstance(e, tuple) else e for e in cycled])}")
    return sets
