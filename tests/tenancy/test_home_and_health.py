"""The home page of each role, /healthz, and what every page sends the browser (CSRF for htmx,
the content security policy, no third-party assets)."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.middleware.csp import ContentSecurityPolicyMiddleware
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenancy.models import ActivityVerb
from tenancy.permissions import Role
from tests.factories import ActivityEventFactory, InvitationFactory

TEMPLATE_DIRS = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]


def _csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture
def busy_org(org_a, admin_a, member_of):
    """Five members, one per role, each with some activity of their own."""
    users = {Role.ADMIN: admin_a}
    for role in Role:
        if role != Role.ADMIN:
            users[role] = member_of(org_a, role, full_name=f"Someone {role.label}")
    for role, user in users.items():
        ActivityEventFactory(
            organization=org_a, actor=user, verb=ActivityVerb.MEMBER_JOINED, target=f"By {role}"
        )
    return users


# --- Home ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_each_roles_home_page_shows_its_own_and_the_teams_activity(role, busy_org, client_for):
    response = client_for(busy_org[role]).get(reverse("tenancy:home", args=["org-a"]))

    html = response.content.decode()
    assert response.status_code == 200
    assert f"as {role.label}" in html
    assert [e.target for e in response.context["my_activity"]] == [f"By {role}"]
    assert {e.target for e in response.context["team_activity"]} == {f"By {r}" for r in Role}
    for other in Role:
        assert f"By {other}" in html


def test_the_home_page_shows_the_most_recent_activity_first_and_at_most_twelve(
    org_a, admin_a, client_for
):
    for n in range(15):
        ActivityEventFactory(organization=org_a, actor=admin_a, target=f"Event {n:02}")

    response = client_for(admin_a).get(reverse("tenancy:home", args=[org_a.slug]))

    targets = [e.target for e in response.context["team_activity"]]
    assert targets == [f"Event {n:02}" for n in range(14, 2, -1)]
    assert len(response.context["my_activity"]) == 8


def test_an_empty_organization_home_says_so(org_a, admin_a, client_for):
    response = client_for(admin_a).get(reverse("tenancy:home", args=[org_a.slug]))

    assert response.status_code == 200
    assert "No activity in this organization yet." in response.content.decode()


# --- Health -----------------------------------------------------------------------------------


def test_healthz_reports_the_database_and_an_eager_broker(client, db, settings):
    settings.REDIS_URL = ""

    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": connection.vendor}
    assert body["broker"] == {"ok": True, "mode": "eager"}


def test_healthz_answers_503_when_the_broker_is_unreachable(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "error"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is False
    assert body["broker"]["mode"] == "redis"
    assert body["broker"]["error"]


def test_healthz_is_never_cached_and_reads_only(client, db):
    response = client.get(reverse("healthz"))

    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert client.post(reverse("healthz")).status_code == 405


def test_healthz_needs_no_sign_in_and_no_tenant(client, db):
    assert client.get(reverse("healthz")).status_code == 200


# --- What every page sends --------------------------------------------------------------------


@pytest.fixture
def pages(org_a, admin_a, client_for):
    """A signed-in page, an organization page and a signed-out page."""
    return {
        "org home": (client_for(admin_a), reverse("tenancy:home", args=[org_a.slug])),
        "members": (client_for(admin_a), reverse("tenancy:members", args=[org_a.slug])),
        "new organization": (client_for(admin_a), reverse("organization-new")),
        "login": (Client(), reverse("login")),
        "signup": (Client(), reverse("signup")),
    }


def test_pages_give_htmx_the_csrf_token_on_the_body(pages):
    for name, (client, url) in pages.items():
        response = client.get(url)
        html = response.content.decode()
        match = re.search(r"<body[^>]*\shx-headers='(\{[^']*\})'", html)
        assert match, name
        token = json.loads(match[1])["X-CSRFToken"]
        assert len(token) >= 32, name
        # The token is the page's own: the form field carries a masked form of the same secret.
        assert response.cookies["csrftoken"].value, name


def test_an_htmx_post_with_the_header_token_passes_the_csrf_check(org_a, admin_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_a)
    page = client.get(reverse("tenancy:settings", args=[org_a.slug])).content.decode()
    token = json.loads(re.search(r"hx-headers='(\{[^']*\})'", page)[1])["X-CSRFToken"]
    url = reverse("tenancy:settings", args=[org_a.slug])

    refused = client.post(url, {"name": "Renamed", "currency": "USD"})
    accepted = client.post(
        url,
        {"name": "Renamed", "currency": "USD"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )

    assert refused.status_code == 403
    assert accepted.status_code == 302


def test_pages_send_a_content_security_policy_without_inline_scripts(pages):
    for name, (client, url) in pages.items():
        response = client.get(url)
        csp = _csp(response)
        assert csp["script-src"][0] == "'self'", name
        assert "'unsafe-inline'" not in csp["script-src"], name
        assert "'unsafe-eval'" not in csp["script-src"], name
        assert csp["default-src"] == ["'self'"], name
        assert csp["object-src"] == ["'none'"], name
        assert csp["frame-ancestors"] == ["'none'"], name
        # Every script the page loads is a file of our own, or carries the request's nonce.
        nonces = {v[len("'nonce-") : -1] for v in csp["script-src"] if v.startswith("'nonce-")}
        for tag in re.findall(r"<script\b[^>]*>", response.content.decode()):
            src = re.search(r'\ssrc="([^"]+)"', tag)
            nonce = re.search(r'\snonce="([^"]+)"', tag)
            assert (src and src[1].startswith(settings.STATIC_URL)) or (
                nonce and nonce[1] in nonces
            ), f"{name}: {tag}"


def test_the_policy_allows_scripts_that_carry_the_request_nonce(rf):
    def view(request):
        return HttpResponse(f'<script nonce="{request._csp_nonce}">1</script>')

    request = rf.get("/")
    middleware = ContentSecurityPolicyMiddleware(view)

    response = middleware(request)

    nonce = re.search(r'nonce="([^"]+)"', response.content.decode())[1]
    assert f"'nonce-{nonce}'" in _csp(response)["script-src"]
    assert _csp(response)["script-src"][0] == "'self'"


def test_pages_refuse_to_be_framed_and_sniffed(pages):
    for name, (client, url) in pages.items():
        response = client.get(url)
        assert response["X-Frame-Options"] == "DENY", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] == "same-origin", name


def _template_files() -> list[Path]:
    files = []
    for directory in TEMPLATE_DIRS:
        files += [p for p in directory.rglob("*") if p.suffix in {".html", ".txt"}]
    return files


def test_there_are_templates_to_check():
    assert len(_template_files()) > 20


def test_no_template_loads_scripts_or_styles_from_another_site():
    remote = re.compile(
        r"<(?:script|link|img|iframe)\b[^>]*\s(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I
    )
    offenders = []
    for path in _template_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if remote.search(line) or re.search(r"@import\s+url\(\s*[\"']?(?:https?:)?//", line):
                offenders.append(f"{path}:{number}")
    assert offenders == []


def _metrics(html: str) -> dict[str, str]:
    pairs = re.findall(
        r'<div class="metric-label">([^<]+)</div><div class="metric-value">([^<]+)</div>', html
    )
    return dict(pairs)


def test_the_admin_home_counts_every_member_and_pending_invitation(busy_org, org_a, client_for):
    for n in range(7):
        InvitationFactory(organization=org_a, email=f"pending{n}@a.example")
    InvitationFactory(
        organization=org_a, email="old@a.example", expires_at=timezone.now() - timedelta(days=1)
    )

    response = client_for(busy_org[Role.ADMIN]).get(reverse("tenancy:home", args=[org_a.slug]))

    metrics = _metrics(response.content.decode())
    assert metrics["Members"] == "5"
    assert metrics["Pending invitations"] == "7"


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_only_admins_see_the_team_overview(role, busy_org, org_a, client_for):
    response = client_for(busy_org[role]).get(reverse("tenancy:home", args=[org_a.slug]))

    assert "Pending invitations" not in _metrics(response.content.decode())


def test_healthz_answers_over_plain_http_when_https_is_enforced(db, settings):
    # A load balancer probes /healthz over HTTP; everything else is redirected to HTTPS.
    settings.SECURE_SSL_REDIRECT = True
    client = Client()

    assert client.get(reverse("healthz")).status_code == 200
    redirect = client.get(reverse("login"))
    assert redirect.status_code == 301
    assert redirect["Location"].startswith("https://")
