from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = _("Tenancy")

    def ready(self) -> None:
        from tenancy import db, home_panels  # noqa: F401  (signal receivers, home panels)
