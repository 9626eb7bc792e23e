"""What the browser tests share: screen sizes, signing in, finding fields, opening menus."""

import re
from collections.abc import Callable

from django.conf import settings
from django.test import Client
from playwright.sync_api import BrowserContext, Locator, Page, expect

LAPTOP = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse battery staple"  # UserFactory's password

# shoot(page, name, *, sizes=("laptop", "phone")): see the `shoot` fixture in conftest.py.
Shoot = Callable[..., None]


def sign_in(context: BrowserContext, user, base_url: str) -> None:
    """Give the browser a signed-in session for `user` without walking the login form."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}])


def use_language(context: BrowserContext, code: str, base_url: str) -> None:
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": code, "url": base_url}])


def open_user_menu(page: Page) -> None:
    page.wait_for_load_state("load")  # Bootstrap's dropdowns work once its script has run
    page.get_by_test_id("user-menu").click()
    expect(page.locator(".user-menu")).to_be_visible()


def path_is(base_url: str, path: str) -> re.Pattern:
    return re.compile("^" + re.escape(base_url + path) + r"(\?.*)?$")


def field(scope: Page | Locator, label: str) -> Locator:
    """The input labelled exactly `label` (crispy appends an asterisk to required fields)."""
    return scope.get_by_label(re.compile(rf"^\s*{re.escape(label)}\W*$"))
