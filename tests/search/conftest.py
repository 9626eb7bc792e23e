import pytest


@pytest.fixture(autouse=True)
def _indexed_text_search(monkeypatch):
    """Search as on a database whose text functions are LEAKPROOF (the full strategy: trigram
    and full-text conditions); tests of the prefix-only strategy switch it off."""
    monkeypatch.setattr("customers.search.text_search_indexes_usable", lambda: True)


@pytest.fixture
def in_org_a(org_a):
    """Run the test body as org A (selectors and managers need an organization)."""
    from tenancy.context import tenant_context

    with tenant_context(org_a):
        yield org_a
