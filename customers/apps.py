from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        # Registers home panels, timeline sources and global search providers.
        from customers import home_panels, search, timeline  # noqa: F401
