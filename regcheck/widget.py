"""An interactive position in Jupyter (``pip install 'regcheck[widgets]'``): step, go back, ask the checker.

``position.widget()`` (``regcheck.notebook``) shows the state and the chart of the path so far, a button per
enabled action, back and forward, and "can it fail from here?" for a chosen property; every button calls the
notebook API (``Position.step``, ``Position.can_fail``), so the widget answers exactly what the API answers.
ipywidgets is optional: it is imported here only, and without it the rest of the API works the same.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from regcheck.display import printable
from regcheck.errors import InvalidArgument, RegcheckError
from regcheck.properties import catalogue

if TYPE_CHECKING:
    from regcheck.notebook import Position

ASK = "can it fail from here?"
BACK = "back"
FORWARD = "forward"


def _widgets() -> Any:
    try:
        import ipywidgets
    except ImportError as exc:
        raise InvalidArgument("the interactive view needs ipywidgets: pip install 'regcheck[widgets]'") from exc
    return ipywidgets


class Explorer:
    """The widget's state: the positions visited along one path (back and forward move within it) and the views."""

    def __init__(self, start: Position, prop: str | None = None) -> None:
        w = _widgets()
        self.path = [start]
        self.at = 0
        names = list(catalogue.NAMES)
        chosen = prop if prop is not None else names[0]
        catalogue.spec(chosen)  # an unknown name is an error that lists the known ones
        self.view = w.HTML()
        self.actions = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.back = w.Button(description=BACK, icon="arrow-left")
        self.forward = w.Button(description=FORWARD, icon="arrow-right")
        self.property = w.Dropdown(options=names, value=chosen, description="property")
        self.ask = w.Button(description=ASK, button_style="info", layout=w.Layout(width="auto"))
        self.answer = w.HTML()
        self.answer.add_class("regcheck-answer")
        self.back.on_click(lambda _: self.go(self.at - 1))
        self.forward.on_click(lambda _: self.go(self.at + 1))
        self.ask.on_click(lambda _: self.can_fail())
        self.box = w.VBox([w.HBox([self.back, self.forward]), self.actions,
                           w.HBox([self.property, self.ask]), self.answer, self.view])
        self.show()

    @property
    def here(self) -> Position:
        return self.path[self.at]

    def show(self) -> None:
        """The current position's tables and chart, one button per enabled action, back and forward enabled as fit."""
        w = _widgets()
        self.view.value = self.here._repr_html_()
        buttons = []
        for choice in self.here.enabled():
            button = w.Button(description=choice.label, tooltip=choice.words(), layout=w.Layout(width="auto"))
            button.on_click(lambda _, number=choice.number: self.take(number))
            buttons.append(button)
        self.actions.children = tuple(buttons)
        self.back.disabled = self.at == 0
        self.forward.disabled = self.at == len(self.path) - 1

    def take(self, choice: int | str) -> None:
        """Step by ``choice`` from the current position; the positions ahead of it are forgotten."""
        self.path = [*self.path[: self.at + 1], self.here.step(choice)]
        self.at += 1
        self.answer.value = ""
        self.show()

    def go(self, at: int) -> None:
        """Move back or forward along the path."""
        if 0 <= at < len(self.path):
            self.at = at
            self.answer.value = ""
            self.show()

    def can_fail(self) -> None:
        """Ask the checker whether the chosen property can fail from here; the answer as the API displays it."""
        try:
            self.answer.value = self.here.can_fail(str(self.property.value))._repr_html_()
        except RegcheckError as exc:
            self.answer.value = f"<p>{_escaped(str(exc))}</p>"


def _escaped(text: str) -> str:
    return escape(printable(text))


def explorer(start: Position, prop: str | None = None) -> Any:
    """The interactive view of ``start``: an ipywidgets box (display it, or leave it last in a cell)."""
    return Explorer(start, prop).box
