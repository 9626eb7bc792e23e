"""A lead arrives from the website, is qualified, converted, and shows on the pipeline."""

import pytest
from playwright.sync_api import Page, expect

from sales.models import Lead, Opportunity, WebForm
from tenancy.context import tenant_context
from tests.e2e.browser import Shoot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_web_form_lead_is_qualified_converted_and_lands_on_the_pipeline(
    page: Page, live_server, new_context, org_a, bob, shoot: Shoot
):
    with tenant_context(org_a):
        web_form = WebForm.objects.create(
            organization=org_a,
            name="Contact us",
            fields=["first_name", "last_name", "email", "company", "notes"],
        )

    # The company website posts the snippet's form: no session, no CSRF token.
    visitor = new_context()
    response = visitor.request.post(
        f"{live_server.url}/f/org-a/{web_form.token}/",
        form={
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "grace@navy.example",
            "company": "Navy Labs",
            "notes": "We need forty licences.",
        },
    )
    assert response.ok, response.status
    with tenant_context(org_a):
        lead = Lead.objects.get()
    assert (lead.last_name, lead.email, lead.web_form_id) == (
        "Hopper",
        "grace@navy.example",
        web_form.pk,
    )

    sign_in(page.context, bob, live_server.url)
    page.goto(f"{live_server.url}/o/org-a/sales/leads/")
    page.get_by_role("link", name="Grace Hopper").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")
    expect(page.get_by_role("region", name="Details")).to_contain_text("Contact us")

    page.get_by_test_id("status-qualified").click()
    expect(page.get_by_text("This lead is qualified")).to_be_visible()
    with tenant_context(org_a):
        assert Lead.objects.get(pk=lead.pk).status == "qualified"

    page.get_by_test_id("convert-lead").click()
    form = page.get_by_test_id("convert-form")
    form.get_by_label("Create a new customer").check()
    form.get_by_label("Create an opportunity in the default pipeline").check()
    form.get_by_label("Opportunity name").fill("Navy Labs licences")
    form.locator("#id_amount").fill("40000")
    shoot(page, "lead-convert", sizes=("laptop",))
    form.get_by_test_id("convert-submit").click()

    # The rep lands on the new company customer, with the lead as its contact.
    expect(page.get_by_role("alert")).to_contain_text("Grace Hopper was converted.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Navy Labs")
    expect(page.get_by_role("region", name="Contacts")).to_contain_text("Grace Hopper")
    with tenant_context(org_a):
        lead.refresh_from_db()
        opportunity = Opportunity.objects.get()
    assert lead.status == "converted"
    assert lead.converted_opportunity_id == opportunity.pk
    assert opportunity.name == "Navy Labs licences"
    assert opportunity.customer_id == lead.converted_customer_id

    page.goto(f"{live_server.url}/o/org-a/sales/pipeline/")
    board = page.get_by_test_id("board")
    expect(board).to_contain_text("Navy Labs licences")
    shoot(page, "pipeline-after-conversion", sizes=("laptop",))
