"""Every page of the foundation, in English and Chinese, at laptop and phone sizes.

The screenshots are for people to look at; the assertions only check that each page is the
right one, in the right language and fully styled.
"""

import pytest
from playwright.sync_api import Page, expect

from tenancy.models import ActivityVerb
from tenancy.permissions import Role
from tests.e2e.browser import LAPTOP, PHONE, Shoot, open_user_menu, sign_in, use_language
from tests.factories import (
    ActivityEventFactory,
    InvitationFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def visit(page: Page, url: str, lang: str, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None and response.status == status, (url, response)
    expect(page.locator("html")).to_have_attribute("lang", lang)


def a_busy_organization():
    org = OrganizationFactory(name="Northwind Traders & Logistics International", slug="northwind")
    people = {}
    for role, email, name in [
        (Role.ADMIN, "margaret.oconnell-henderson@northwind-traders.example", "Margaret O'Connell"),
        (Role.MANAGER, "li.wei@northwind-traders.example", "李伟"),
        (Role.SALES, "sam.rivera@northwind-traders.example", "Sam Rivera"),
        (Role.SUPPORT, "priya@northwind-traders.example", "Priya Natarajan-Subramanian"),
    ]:
        people[role] = UserFactory(email=email, full_name=name)
        MembershipFactory(organization=org, user=people[role], role=role)
    admin = people[Role.ADMIN]
    for email, role in [
        ("new.colleague.with.a.long.address@northwind-traders.example", Role.MARKETING),
        ("zhang.min@northwind-traders.example", Role.SALES),
    ]:
        InvitationFactory(organization=org, email=email, role=role, invited_by=admin)
    events = [
        (admin, ActivityVerb.ORGANIZATION_CREATED, org.name),
        (admin, ActivityVerb.MEMBER_INVITED, "li.wei@northwind-traders.example"),
        (people[Role.MANAGER], ActivityVerb.MEMBER_JOINED, "李伟"),
        (admin, ActivityVerb.MEMBER_ROLE_CHANGED, "Sam Rivera"),
        (admin, ActivityVerb.ORGANIZATION_UPDATED, org.name),
    ]
    for actor, verb, target in events:
        ActivityEventFactory(organization=org, actor=actor, verb=verb, target=target)
    return org, people


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_every_page_renders_at_laptop_and_phone_size(
    lang: str, page: Page, new_context, live_server, shoot: Shoot
):
    org, people = a_busy_organization()
    invitation = InvitationFactory(
        organization=org, email="joining@northwind-traders.example", invited_by=people[Role.ADMIN]
    )
    url = live_server.url
    use_language(page.context, lang, url)

    visit(page, f"{url}/accounts/login/", lang)
    shoot(page, "login")
    page.locator("#id_username").fill("nobody@northwind-traders.example")
    page.locator("#id_password").fill("wrong")
    page.locator("form[method=post] button[type=submit]").click()
    expect(page.locator(".alert-danger")).to_be_visible()
    shoot(page, "login-error")
    visit(page, f"{url}/accounts/signup/", lang)
    shoot(page, "signup")
    page.locator("form[method=post] button[type=submit]").click()
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    shoot(page, "signup-errors")
    visit(page, f"{url}/join/{org.slug}/{invitation.token}/", lang)
    shoot(page, "invitation-accept")
    visit(page, f"{url}/join/{org.slug}/not-a-token/", lang, status=404)
    shoot(page, "invitation-invalid")

    MembershipFactory(organization=OrganizationFactory(name="Contoso"), user=people[Role.ADMIN])
    sign_in(page.context, people[Role.ADMIN], url)
    visit(page, f"{url}/o/{org.slug}/", lang)
    shoot(page, "home")
    # Menus are opened at each size: Popper places them for the viewport they open in.
    for size, viewport in [("phone", PHONE), ("laptop", LAPTOP)]:
        page.set_viewport_size(viewport)
        page.get_by_test_id("org-switcher").click()
        shoot(page, "org-switcher-open", sizes=(size,))
        page.keyboard.press("Escape")
        open_user_menu(page)
        shoot(page, "user-menu-open", sizes=(size,))
        page.keyboard.press("Escape")
    visit(page, f"{url}/o/{org.slug}/members/", lang)
    shoot(page, "team")
    visit(page, f"{url}/o/{org.slug}/settings/", lang)
    shoot(page, "settings")
    visit(page, f"{url}/accounts/password/change/", lang)
    shoot(page, "password-change")
    visit(page, f"{url}/o/{org.slug}/no-such-page/", lang, status=404)
    shoot(page, "404")

    sales = new_context().new_page()
    use_language(sales.context, lang, url)
    sign_in(sales.context, people[Role.SALES], url)
    visit(sales, f"{url}/o/{org.slug}/members/", lang, status=403)
    shoot(sales, "403")
