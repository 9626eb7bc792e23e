"""The signed-in chrome: organization switcher, language, the phone layout, error pages."""

import re

import pytest
from django.conf import settings
from django.utils import translation
from playwright.sync_api import Page, expect

from tenancy.permissions import Role
from tests.e2e.browser import PHONE, Shoot, open_user_menu, path_is, sign_in
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def chinese_catalog_exists() -> bool:
    return any(
        (path / "zh_Hans" / "LC_MESSAGES" / "django.mo").exists() for path in settings.LOCALE_PATHS
    )


def test_a_member_of_two_organizations_switches_from_the_navbar(
    page: Page, live_server, org_a, org_b, admin_a
):
    MembershipFactory(organization=org_b, user=admin_a, role=Role.SALES)
    sign_in(page.context, admin_a, live_server.url)
    page.goto(f"{live_server.url}/o/org-a/")
    sidebar = page.locator("#sidebar")
    expect(sidebar.get_by_role("link", name="Team")).to_be_visible()

    page.get_by_test_id("org-switcher").click()
    page.get_by_role("link", name="Beta Test").click()

    expect(page).to_have_url(path_is(live_server.url, "/o/org-b/"))
    expect(page.get_by_test_id("org-switcher")).to_have_text("Beta Test")
    expect(page.get_by_text("You are working in Beta Test as Sales rep.")).to_be_visible()
    expect(sidebar.get_by_role("link", name="Team")).to_have_count(0)
    open_user_menu(page)
    expect(page.locator(".user-menu .badge")).to_have_text("Sales rep")

    # The root address now remembers the last organization.
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(path_is(live_server.url, "/o/org-b/"))


def test_a_member_switches_the_language_from_the_user_menu(page: Page, live_server, alice):
    sign_in(page.context, alice, live_server.url)
    page.goto(f"{live_server.url}/o/org-a/")
    sidebar = page.locator("#sidebar")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    open_user_menu(page)
    page.locator("#language-select").select_option("zh-hans")

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(path_is(live_server.url, "/o/org-a/"))
    if chinese_catalog_exists():
        with translation.override("zh-hans"):
            home = translation.gettext("Home")
        assert home != "Home"
        expect(sidebar.get_by_role("link", name=home, exact=True)).to_be_visible()

    open_user_menu(page)
    page.locator("#language-select").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(sidebar.get_by_role("link", name="Home", exact=True)).to_be_visible()


def test_on_a_phone_the_sidebar_opens_from_the_menu_button(
    page: Page, live_server, admin_a, shoot: Shoot
):
    page.set_viewport_size(PHONE)
    sign_in(page.context, admin_a, live_server.url)
    page.goto(f"{live_server.url}/o/org-a/")
    sidebar = page.locator("#sidebar")
    expect(sidebar).to_be_hidden()

    page.get_by_role("button", name="Open menu").click()
    expect(sidebar).to_be_visible()
    expect(sidebar.get_by_role("link", name="Team")).to_be_visible()
    expect(sidebar).not_to_have_class(re.compile(r"\bshowing\b"))  # the slide-in is over
    shoot(page, "sidebar-open", sizes=("phone",))

    sidebar.get_by_role("link", name="Team").click()
    expect(page).to_have_url(path_is(live_server.url, "/o/org-a/members/"))
    expect(sidebar).to_be_hidden()


def test_another_organizations_address_is_not_found(page: Page, live_server, alice, mallory):
    sign_in(page.context, alice, live_server.url)
    response = page.goto(f"{live_server.url}/o/org-b/")

    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="We could not find that page")).to_be_visible()
