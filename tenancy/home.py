"""Panels that apps contribute to the home page of each role.

An app registers a function `(request) -> HomePanel | None` in its AppConfig.ready(); the home
page shows, in order, every panel that returns something for the member's role.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpRequest


@dataclass(frozen=True)
class HomePanel:
    title: str
    template: str
    context: dict = field(default_factory=dict)
    order: int = 100


PanelFunction = Callable[[HttpRequest], HomePanel | None]
_panels: list[PanelFunction] = []


def register_home_panel(function: PanelFunction) -> PanelFunction:
    if function not in _panels:
        _panels.append(function)
    return function


def home_panels(request: HttpRequest) -> list[HomePanel]:
    panels = [panel for function in _panels if (panel := function(request)) is not None]
    return sorted(panels, key=lambda panel: panel.order)
