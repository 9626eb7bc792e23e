"""Web-to-lead forms: building one and copying its snippet, and the public endpoint the
company's website posts to."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from sales.models import Lead, WebForm
from tenancy.context import tenant_context
from tenancy.models import Notification
from tests.sales.factories_leads import AssignmentRuleFactory, LeadScoreRuleFactory, WebFormFactory


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _admin_url(org, name: str, **kwargs) -> str:
    return reverse(f"sales:{name}", kwargs={"org_slug": org.slug, **kwargs})


def _public_url(org, web_form) -> str:
    return reverse("web-form-submit", kwargs={"org_slug": org.slug, "token": web_form.token})


def _leads(org) -> list[Lead]:
    with tenant_context(org):
        return list(Lead.objects.select_related("web_form").order_by("id"))


# --- Building a form ----------------------------------------------------------------------


def test_a_manager_builds_a_form_and_gets_its_snippet(org_a, alice, client_for):
    client = client_for(alice)

    response = client.post(
        _admin_url(org_a, "web-form-create"),
        {
            "name": "Contact us",
            "fields": ["email", "last_name", "company", "notes"],
            "thank_you_message": "Thanks!",
            "campaign_name": "Website 2026",
            "source": "web_form",
            "is_active": "on",
        },
    )

    with tenant_context(org_a):
        web_form = WebForm.objects.get()
    assert response.status_code == 302
    assert web_form.fields == ["last_name", "email", "company", "notes"]  # standard order
    page = client.get(response["Location"]).content.decode()
    action = f"http://testserver/f/{org_a.slug}/{web_form.token}/"
    assert f"&lt;form action=&quot;{action}&quot; method=&quot;post&quot;" in page
    assert "name=&quot;fax&quot;" in page and "clientele-hp" in page
    assert "Leave this field empty" in page


def test_a_form_needs_a_last_name_and_a_way_to_answer(org_a, alice, client_for):
    response = client_for(alice).post(
        _admin_url(org_a, "web-form-create"),
        {"name": "Bad", "fields": ["company"], "source": "web_form"},
    )

    assert response.status_code == 400
    assert "needs the “Last name” field" in response.content.decode()
    with tenant_context(org_a):
        assert not WebForm.objects.exists()


def test_a_redirect_must_be_a_web_address(org_a, alice, client_for):
    response = client_for(alice).post(
        _admin_url(org_a, "web-form-create"),
        {
            "name": "X",
            "fields": ["last_name", "phone"],
            "source": "web_form",
            "redirect_url": "javascript:alert(1)",
        },
    )

    assert response.status_code == 400


def test_the_list_shows_the_organizations_forms_only(org_a, org_b, alice, client_for):
    WebFormFactory(organization=org_a, name="Ours")
    WebFormFactory(organization=org_b, name="Theirs")

    html = client_for(alice).get(_admin_url(org_a, "web-form-list")).content.decode()

    assert "Ours" in html and "Theirs" not in html


def test_deleting_a_form_keeps_its_leads(org_a, alice, client_for):
    web_form = WebFormFactory(organization=org_a)
    Client().post(_public_url(org_a, web_form), {"last_name": "Doe", "email": "d@x.example"})

    response = client_for(alice).post(_admin_url(org_a, "web-form-delete", pk=web_form.pk))

    assert response.status_code == 302
    [lead] = _leads(org_a)
    assert lead.web_form is None and lead.campaign_name == "Spring launch"


# --- The public endpoint ------------------------------------------------------------------


def test_a_submission_creates_an_assigned_scored_lead_in_the_forms_organization(
    org_a, org_b, bob, mallory
):
    web_form = WebFormFactory(organization=org_a, campaign_name="Spring launch")
    AssignmentRuleFactory(organization=org_a, assignees=[bob.pk])
    LeadScoreRuleFactory(
        organization=org_a,
        label="From the web",
        field="source",
        operator="equals",
        value="Web form",
        points=5,
    )

    response = Client().post(
        _public_url(org_a, web_form),
        {
            "first_name": "Jane",
            "last_name": "Doe",
            "email": "Jane@Example.com",
            "company": "Globex",
            "notes": "Call me",
            "title": "ignored: not on the form",
        },
    )

    assert response.status_code == 200
    assert web_form.thank_you_message in response.content.decode()
    [lead] = _leads(org_a)
    assert (lead.full_name, lead.email, lead.company, lead.notes) == (
        "Jane Doe",
        "jane@example.com",
        "Globex",
        "Call me",
    )
    assert lead.title == ""
    assert (lead.source, lead.web_form, lead.campaign_name) == (
        "web_form",
        web_form,
        "Spring launch",
    )
    assert (lead.owner, lead.score) == (bob, 5)
    assert _leads(org_b) == []
    with tenant_context(org_a):
        assert Notification.objects.get().user == bob


def test_a_submission_redirects_when_the_form_says_so(org_a):
    web_form = WebFormFactory(organization=org_a, redirect_url="https://acme.example/thanks")

    response = Client().post(
        _public_url(org_a, web_form), {"last_name": "Doe", "email": "d@x.example"}
    )

    assert response.status_code == 302
    assert response["Location"] == "https://acme.example/thanks"


def test_the_endpoint_takes_cross_site_posts_without_a_csrf_token(org_a):
    web_form = WebFormFactory(organization=org_a)
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        _public_url(org_a, web_form),
        {"last_name": "Doe", "email": "d@x.example"},
        headers={"Origin": "https://acme.example", "Referer": "https://acme.example/contact"},
    )

    assert response.status_code == 200
    assert len(_leads(org_a)) == 1


def test_the_hosted_page_shows_the_form(org_a):
    web_form = WebFormFactory(organization=org_a, name="Talk to sales")

    response = Client().get(_public_url(org_a, web_form))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Talk to sales" in html and 'name="last_name"' in html and 'name="fax"' in html
    assert "app-shell" not in html


def test_an_unknown_token_is_not_found(org_a):
    WebFormFactory(organization=org_a)

    response = Client().post(f"/f/{org_a.slug}/not-a-token/", {"last_name": "Doe"})

    assert response.status_code == 404
    assert "This form does not exist" in response.content.decode()
    assert _leads(org_a) == []


def test_another_organizations_token_is_not_found_and_stores_nothing(org_a, org_b):
    theirs = WebFormFactory(organization=org_b)

    response = Client().post(
        f"/f/{org_a.slug}/{theirs.token}/", {"last_name": "Doe", "email": "d@x.example"}
    )

    assert response.status_code == 404
    assert _leads(org_a) == [] and _leads(org_b) == []


def test_an_unknown_organization_is_not_found(org_a):
    web_form = WebFormFactory(organization=org_a)

    response = Client().post(f"/f/no-such-org/{web_form.token}/", {"last_name": "Doe"})

    assert response.status_code == 404


def test_an_inactive_form_refuses_submissions(org_a):
    web_form = WebFormFactory(organization=org_a, is_active=False)

    response = Client().post(
        _public_url(org_a, web_form), {"last_name": "Doe", "email": "d@x.example"}
    )

    assert response.status_code == 410
    assert "This form is closed" in response.content.decode()
    assert _leads(org_a) == []


def test_a_filled_honeypot_pretends_success_and_stores_nothing(org_a):
    web_form = WebFormFactory(organization=org_a)

    response = Client().post(
        _public_url(org_a, web_form),
        {"last_name": "Bot", "email": "bot@spam.example", "fax": "http://spam.example"},
    )

    assert response.status_code == 200
    assert web_form.thank_you_message in response.content.decode()
    assert _leads(org_a) == []


def test_invalid_fields_get_a_clear_page_listing_them(org_a):
    web_form = WebFormFactory(organization=org_a)

    response = Client().post(
        _public_url(org_a, web_form),
        {"first_name": "Jane", "last_name": "", "email": "not-an-email"},
        headers={"Referer": "https://acme.example/contact"},
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "Please check the form" in html
    assert "Last name" in html and "This field is required." in html
    assert "Enter a valid email address." in html
    assert 'value="Jane"' in html  # kept, to correct and send again
    assert 'href="https://acme.example/contact"' in html
    assert _leads(org_a) == []


def test_a_phone_only_form_requires_the_phone(org_a):
    web_form = WebFormFactory(organization=org_a, fields=["last_name", "phone"])

    missing = Client().post(_public_url(org_a, web_form), {"last_name": "Doe"})
    sent = Client().post(_public_url(org_a, web_form), {"last_name": "Doe", "phone": "555 0100"})

    assert missing.status_code == 400
    assert sent.status_code == 200
    assert [lead.phone for lead in _leads(org_a)] == ["555 0100"]


def test_a_too_large_body_is_refused(org_a):
    web_form = WebFormFactory(organization=org_a)

    response = Client().post(
        _public_url(org_a, web_form),
        {"last_name": "Doe", "email": "d@x.example", "notes": "x" * (21 * 1024)},
    )

    assert response.status_code == 413
    assert "too long" in response.content.decode()
    assert _leads(org_a) == []


def test_too_many_posts_from_one_address_are_refused(org_a, settings):
    settings.WEB_FORM_RATE_LIMIT = 3
    web_form = WebFormFactory(organization=org_a)
    other_form = WebFormFactory(organization=org_a)
    data = {"last_name": "Doe", "email": "d@x.example"}
    client = Client(REMOTE_ADDR="203.0.113.9")

    statuses = [client.post(_public_url(org_a, web_form), data).status_code for _ in range(4)]
    elsewhere = Client(REMOTE_ADDR="198.51.100.7").post(_public_url(org_a, web_form), data)
    other = client.post(_public_url(org_a, other_form), data)

    assert statuses == [200, 200, 200, 429]
    assert elsewhere.status_code == 200 and other.status_code == 200
    assert len(_leads(org_a)) == 5


def test_the_rate_limit_page_explains_itself(org_a, settings):
    settings.WEB_FORM_RATE_LIMIT = 0
    web_form = WebFormFactory(organization=org_a)

    response = Client().post(_public_url(org_a, web_form), {"last_name": "Doe"})

    assert response.status_code == 429
    assert "Too many submissions" in response.content.decode()


def test_other_methods_are_not_allowed(org_a):
    web_form = WebFormFactory(organization=org_a)

    assert Client().put(_public_url(org_a, web_form)).status_code == 405


def test_only_the_public_endpoint_skips_csrf(org_a, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post(
        _admin_url(org_a, "web-form-create"),
        {"name": "X", "fields": ["last_name", "email"], "source": "web_form"},
    )

    assert response.status_code == 403
