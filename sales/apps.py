import importlib
import pkgutil

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        # sales/hooks/*.py register timeline sources, merge movers, search providers and home
        # panels with the other apps' registries.
        from sales import hooks

        for module in pkgutil.iter_modules(hooks.__path__):
            importlib.import_module(f"sales.hooks.{module.name}")
