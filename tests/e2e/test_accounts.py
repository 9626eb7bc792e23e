"""Signing up, signing in and out, in Chromium."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import PASSWORD, field, open_user_menu, path_is

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def fill_signup(page: Page, *, email: str) -> None:
    page.get_by_label("Your name").fill("Sam Founder")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Company name").fill("Northwind Traders")
    field(page, "Password").fill("a long and unusual passphrase")
    page.get_by_label("Password again").fill("a long and unusual passphrase")
    page.get_by_role("button", name="Create organization").click()


def test_a_visitor_signs_up_and_lands_on_the_team_page(page: Page, live_server, new_context):
    page.goto(f"{live_server.url}/accounts/signup/")
    fill_signup(page, email="sam@northwind.example")

    expect(page).to_have_url(path_is(live_server.url, "/o/northwind-traders/members/"))
    expect(page.get_by_role("heading", name="Team", exact=True)).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Welcome to Clientele!")
    expect(page.get_by_test_id("member-sam@northwind.example")).to_contain_text("Sam Founder")
    expect(page.get_by_test_id("org-switcher")).to_have_text("Northwind Traders")

    second = new_context().new_page()
    second.goto(f"{live_server.url}/accounts/signup/")
    fill_signup(second, email="SAM@northwind.example")
    expect(second).to_have_url(path_is(live_server.url, "/accounts/signup/"))
    expect(second.locator(".invalid-feedback")).to_contain_text(
        "An account with this email already exists."
    )


def test_a_member_signs_in_with_email_and_password_and_signs_out(page: Page, live_server, alice):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email address").fill("Alice@A.example")
    field(page, "Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(path_is(live_server.url, "/o/org-a/"))
    expect(page.get_by_role("heading", name="Hello, Alice")).to_be_visible()

    open_user_menu(page)
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(path_is(live_server.url, "/accounts/login/"))
    page.goto(f"{live_server.url}/o/org-a/")
    expect(page).to_have_url(path_is(live_server.url, "/accounts/login/"))


def test_a_wrong_password_is_refused(page: Page, live_server, alice):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email address").fill("alice@a.example")
    field(page, "Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(
        page.get_by_text("That email address and password do not match an account.")
    ).to_be_visible()
    expect(page).to_have_url(path_is(live_server.url, "/accounts/login/"))
