"""Hypothesis strategies shared by the tests."""

from __future__ import annotations

from hypothesis import strategies as st

from model.scenario import CHOICES, SYSTEM, Scenario


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Small valid scenarios over every switch: 1..3 workers, 1..2 requests, one or two users."""
    workers = draw(st.integers(1, 3))
    users = ("alice", "bob")[: draw(st.integers(1, 2))]
    return Scenario(
        workers=workers,
        requests=draw(st.integers(1, 2)),
        users=users,
        worker_users=tuple(draw(st.sampled_from(users)) for _ in range(workers)),
        impersonate=draw(st.booleans()),
        process_identity=draw(st.sampled_from((SYSTEM, *users))),
        connect_flags=draw(st.sampled_from((0, 0x20, 0x22))),
        server_async=draw(st.booleans()),
        **{key: draw(st.sampled_from(values)) for key, values in CHOICES.items()},
    )
