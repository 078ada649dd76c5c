"""The notebook's interactive view of a position, driven without a browser: its buttons call the notebook API."""

from __future__ import annotations

import pytest

from regcheck.errors import InvalidArgument
from regcheck.notebook import position
from regcheck.widget import ASK, Explorer

NETWORK_ERROR = "worker-never-gets-network-error"


def _labels(explorer: Explorer) -> list[str]:
    return [button.description for button in explorer.actions.children]


def test_a_button_per_enabled_action_back_forward_and_the_question() -> None:
    explorer = Explorer(position("seed"), NETWORK_ERROR)
    assert _labels(explorer) == ["Impersonate(worker=1)"]
    assert explorer.back.disabled and explorer.forward.disabled
    explorer.actions.children[0].click()
    explorer.actions.children[0].click()
    assert explorer.here.index == 2 and "State after step 2 of scenario seed" in explorer.view.value
    assert _labels(explorer) == ["EcDoAsyncConnectEx(session=1)", "ServerEvent(session=1)"]
    assert explorer.ask.description == ASK
    explorer.ask.click()
    assert "can fail: a continuation of 3 step(s) violates it" in explorer.answer.value
    explorer.back.click()
    assert explorer.here.index == 1 and explorer.answer.value == "" and not explorer.forward.disabled
    explorer.forward.click()
    assert explorer.here.index == 2 and explorer.forward.disabled
    explorer.back.click()
    explorer.back.click()
    explorer.actions.children[0].click()  # a new step from an earlier position forgets the ones ahead
    assert explorer.here.index == 1 and explorer.forward.disabled


def test_the_question_for_another_property_and_a_wrong_name() -> None:
    explorer = Explorer(position("fix-run-as-user"))
    explorer.property.value = NETWORK_ERROR
    explorer.ask.click()
    assert "cannot fail from here (proved)" in explorer.answer.value
    with pytest.raises(InvalidArgument, match="unknown property"):
        Explorer(position("seed"), "no-such-property")


def test_widget_returns_a_displayable_box() -> None:
    box = position("seed").widget(NETWORK_ERROR)
    assert hasattr(box, "_repr_mimebundle_") or hasattr(box, "_ipython_display_")
