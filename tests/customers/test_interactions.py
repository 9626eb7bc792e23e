"""Quick interaction logging on the customer page, with and without htmx."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Interaction
from tenancy.context import tenant_context
from tests.customers.conftest import HTMX
from tests.factories import ContactFactory, CustomerFactory, InteractionFactory


@pytest.fixture
def customer(org_a):
    return CustomerFactory(organization=org_a, name="Acme Foods")


def _url(customer) -> str:
    return reverse("customers:interaction-create", args=[customer.organization.slug, customer.pk])


def _when(delta: timedelta = timedelta(0)) -> str:
    return timezone.localtime(timezone.now() + delta).strftime("%Y-%m-%dT%H:%M")


def _interactions(org) -> list[Interaction]:
    with tenant_context(org):
        return list(Interaction.objects.select_related("user", "contact", "customer"))


def test_an_htmx_log_returns_a_fresh_form_and_the_timeline_out_of_band(
    customer, org_a, bob, client_for
):
    InteractionFactory(
        customer=customer, subject="Earlier call", occurred_at=timezone.now() - timedelta(days=2)
    )
    contact = ContactFactory(customer=customer, first_name="Jane", last_name="Doe")

    response = client_for(bob).post(
        _url(customer),
        {
            "channel": "email",
            "direction": "inbound",
            "subject": "Asked for a quote",
            "body": "Wants 40 units",
            "contact": contact.pk,
            "occurred_at": _when(-timedelta(minutes=5)),
        },
        headers=HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Interaction logged." in html
    # The fresh form is empty ...
    assert 'data-testid="interaction-form"' in html
    form = html[html.index('data-testid="interaction-form"') : html.index("</form>")]
    assert 'class="form-control form-control-sm" value=""' in form  # the subject, emptied
    # ... and the timeline, swapped out of band, has the new entry on top.
    oob = html[html.index('<div id="timeline" hx-swap-oob="true">') :]
    assert oob.index("Asked for a quote") < oob.index("Earlier call")
    logged = [i for i in _interactions(org_a) if i.subject == "Asked for a quote"]
    assert len(logged) == 1
    assert (logged[0].user, logged[0].customer, logged[0].contact) == (bob, customer, contact)
    assert (logged[0].channel, logged[0].direction, logged[0].body) == (
        "email",
        "inbound",
        "Wants 40 units",
    )


def test_a_log_without_a_time_is_refused(customer, org_a, bob, client_for):
    response = client_for(bob).post(
        _url(customer),
        {"channel": "phone", "direction": "outbound", "subject": "Call"},
        headers=HTMX,
    )

    assert response.status_code == 422
    assert _interactions(org_a) == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"subject": ""}, "This field is required."),
        ({"channel": "pigeon"}, "Select a valid choice."),
        ({"occurred_at": "tomorrow-ish"}, "Enter a valid date/time."),
        ({"occurred_at": "FUTURE"}, "An interaction cannot be in the future."),
    ],
    ids=["no-subject", "bad-channel", "bad-time", "future"],
)
def test_an_invalid_htmx_log_answers_422_with_errors_and_writes_nothing(
    customer, org_a, bob, client_for, data, error
):
    payload = {
        "channel": "phone",
        "direction": "outbound",
        "subject": "Call",
        "occurred_at": _when(),
    }
    payload.update(data)
    if payload["occurred_at"] == "FUTURE":
        payload["occurred_at"] = _when(timedelta(days=3))

    response = client_for(bob).post(_url(customer), payload, headers=HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert "<html" not in html
    assert 'data-testid="interaction-form"' in html
    assert error in html or error in str(response.context["interaction_form"].errors)
    assert _interactions(org_a) == []


def test_a_contact_of_another_customer_is_refused(customer, org_a, bob, client_for):
    stranger = ContactFactory(customer=CustomerFactory(organization=org_a))

    response = client_for(bob).post(
        _url(customer),
        {
            "channel": "phone",
            "direction": "outbound",
            "subject": "Call",
            "contact": stranger.pk,
            "occurred_at": _when(),
        },
        headers=HTMX,
    )

    assert response.status_code == 422
    assert "contact" in response.context["interaction_form"].errors
    assert _interactions(org_a) == []


def test_a_log_without_htmx_redirects_to_the_customer(customer, org_a, bob, client_for):
    response = client_for(bob).post(
        _url(customer),
        {"channel": "meeting", "direction": "outbound", "subject": "Demo", "occurred_at": _when()},
    )

    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    assert [(i.subject, i.user) for i in _interactions(org_a)] == [("Demo", bob)]


def test_an_invalid_log_without_htmx_shows_the_form_page(customer, org_a, bob, client_for):
    response = client_for(bob).post(_url(customer), {"channel": "phone", "subject": ""})

    assert response.status_code == 400
    assert "<html" in response.content.decode()
    assert "Log an interaction with Acme Foods" in response.content.decode()
    assert _interactions(org_a) == []


def test_logging_needs_a_post(customer, bob, client_for):
    assert client_for(bob).get(_url(customer)).status_code == 405


def test_the_page_offers_the_quick_log_form_with_the_customers_contacts(
    customer, org_a, bob, client_for
):
    ContactFactory(customer=customer, first_name="Jane", last_name="Doe")
    ContactFactory(
        customer=CustomerFactory(organization=org_a), first_name="Other", last_name="Person"
    )

    html = client_for(bob).get(customer.get_absolute_url()).content.decode()

    form = html[html.index('data-testid="interaction-form"') :]
    form = form[: form.index("</form>")]
    assert "Jane Doe" in form
    assert "Other Person" not in form
