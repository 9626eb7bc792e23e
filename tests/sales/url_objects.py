"""The sales entries of the URL registry (tests/url_objects.py), one module per area."""

from tests.sales import (  # noqa: F401  (each module registers its entries on import)
    url_objects_activities,
    url_objects_catalog,
    url_objects_leads,
    url_objects_opportunities,
)
