"""The protocol's uncertain points (regcheck/model/PROTOCOL.md, "What no source decides") and how far the model covers them.

The article leaves several behaviours of Exchange and of MAPI open. Each is a *variant*: where
the model can express it, a switch of :class:`model.scenario.Scenario` with its values (the
article's reading first); where it cannot, the variant is listed with ``switch = None`` so that
a design review says plainly what was not checked. Reports list the values no checked scenario
used; notebooks sweep a conclusion over every value to see whether it survives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from regcheck.model.scenario import CHOICES, Scenario


@dataclass(frozen=True)
class Variant:
    """One uncertain point: its id in PROTOCOL.md, the switch that expresses it (if any), and why it is open."""

    id: str
    title: str
    switch: str | None
    values: tuple[str, ...]
    """The switch's values as ``--set`` accepts them, the article's reading first; () if not modelled."""
    question: str

    def value_of(self, scenario: Scenario) -> str:
        """The value ``scenario`` gives this variant, written as ``--set`` takes it."""
        if self.switch is None:
            raise ValueError(f"{self.id} is not modelled")
        value = getattr(scenario, self.switch)
        return str(value).lower() if isinstance(value, bool) else str(value)


VARIANTS: tuple[Variant, ...] = (
    Variant("C4", "transport and server", "transport", CHOICES["transport"],
            "The registration rule applies only to Exchange 2013 Outlook Anywhere; MAPI over HTTP is keyed "
            "by a session cookie, without an association."),
    Variant("C5", "server accepts async notifications", "server_async", ("true", "false"),
            "EcDoAsyncConnectEx may be rejected (ecRejected) when the server has async notifications off."),
    Variant("V1", "registration key", None, (),
            "The article says only \"security context\": the key may be the HTTP or the RPC authentication "
            "identity. The model keys the cache by the one identity a call carries."),
    Variant("V2", "what a mismatch does", "on_mismatch", CHOICES["on_mismatch"],
            "The article: evict and fail. Failing without evicting is modelled; rejecting only the wait "
            "(as gromox does) is not."),
    Variant("V3", "when a registration is created", "registration", CHOICES["registration"],
            "Only on an association's first request, or again on any request that finds none (alternating "
            "evictions)."),
    Variant("V4", "identity tracking", "identity_tracking", CHOICES["identity_tracking"],
            "Dynamic (the thread's token per call) or static (a snapshot at bind); static could hide the bug."),
    Variant("V5", "who calls EcDoAsyncConnectEx", "async_connect_by", CHOICES["async_connect_by"],
            "The impersonating worker or the notification thread: decides where the first mismatch happens."),
    Variant("V6", "recovery after MAPI_E_NETWORK_ERROR", "after_network_error", CHOICES["after_network_error"],
            "Public documentation does not describe emsmdb32's reconnect logic."),
    Variant("V7", "eviction's effect on a parked wait", None, (),
            "Untouched, completed with an error, or the connection torn down: unknown. The model leaves a "
            "parked wait untouched."),
    Variant("V8", "association scope", "association_scope", CHOICES["association_scope"],
            "One association per process and server, or one per MAPI session."),
    Variant("V9", "client reaction to a failed async call", "async_failure", CHOICES["async_failure"],
            "Fall back to polling (MS-OXCNOTIF SHOULD), retry the wait, or give up."),
)
"""Every open point of regcheck/model/PROTOCOL.md, "What no source decides" (the design's own choices are ordinary switches)."""


def modelled() -> tuple[Variant, ...]:
    """The variants a scenario switch expresses."""
    return tuple(v for v in VARIANTS if v.switch is not None)


def not_modelled() -> tuple[Variant, ...]:
    """The variants the model cannot express: no check says anything about their other readings."""
    return tuple(v for v in VARIANTS if v.switch is None)


def unexplored(scenarios: list[Scenario]) -> list[tuple[Variant, tuple[str, ...]]]:
    """For each modelled variant, the values that none of ``scenarios`` used (fully used variants are left out)."""
    found = []
    for variant in modelled():
        used = {variant.value_of(s) for s in scenarios}
        missing = tuple(v for v in variant.values if v not in used)
        if missing:
            found.append((variant, missing))
    return found


def simplifications() -> list[str]:
    """The model's deliberate simplifications, as listed in ``regcheck/model/SEMANTICS.md`` (one sentence each)."""
    text = (resources.files("regcheck.model") / "SEMANTICS.md").read_text(encoding="utf-8")
    section = text.split("## Deliberate simplifications", 1)[1].split("\n## ", 1)[0]
    items = re.split(r"^- ", section.strip(), flags=re.MULTILINE)
    return [" ".join(item.split()) for item in items if item.strip()]
