"""Accounts: sign-up, sign-in by email, sign-out, passwords, and throttled failed sign-ins."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenancy.context import tenant_context
from tenancy.models import ActivityEvent, ActivityVerb, Membership, Organization, User
from tenancy.permissions import Role
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
NEW_PASSWORD = "a-brand-New-passphrase-77"
LOGIN = "/accounts/login/"


def _signup_data(**overrides) -> dict:
    return {
        "full_name": "Nina Newcomer",
        "email": "nina@newco.example",
        "organization_name": "Newco Industries",
        "password1": "Sturdy-Passphrase-2024",
        "password2": "Sturdy-Passphrase-2024",
        **overrides,
    }


def _signed_in_user_id(client: Client) -> str | None:
    return client.session.get(SESSION_KEY)


def _login(client: Client, email: str, password: str, address: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)


def _nothing_written() -> bool:
    return not User.objects.exists() and not Organization.objects.exists()


# --- Sign-up ----------------------------------------------------------------------------------


def test_the_signup_page_renders(client, db):
    response = client.get(reverse("signup"))
    assert response.status_code == 200
    assert 'name="organization_name"' in response.content.decode()


def test_signup_creates_the_user_the_organization_and_an_admin_membership(client, db):
    response = client.post(reverse("signup"), _signup_data())

    user = User.objects.get()
    org = Organization.objects.get()
    assert (user.email, user.full_name) == ("nina@newco.example", "Nina Newcomer")
    assert user.check_password("Sturdy-Passphrase-2024")
    assert (org.name, org.slug) == ("Newco Industries", "newco-industries")
    with tenant_context(org):
        membership = Membership.objects.get()
        events = list(ActivityEvent.objects.values_list("verb", "actor_id"))
    assert (membership.user, membership.role) == (user, Role.ADMIN)
    assert events == [(ActivityVerb.ORGANIZATION_CREATED, user.pk)]
    assert response.status_code == 302
    assert response["Location"] == reverse("tenancy:members", args=[org.slug])
    assert _signed_in_user_id(client) == str(user.pk)


def test_signup_lands_on_the_members_page_with_a_welcome(client, db):
    response = client.post(reverse("signup"), _signup_data(), follow=True)

    assert response.status_code == 200
    assert response.resolver_match.view_name == "tenancy:members"
    assert "Welcome to Clientele!" in response.content.decode()


def test_signup_stores_the_email_in_lower_case(client, db):
    client.post(reverse("signup"), _signup_data(email="Nina@NewCo.Example"))
    assert User.objects.get().email == "nina@newco.example"


def test_signup_gives_a_reserved_name_another_address(client, db):
    client.post(reverse("signup"), _signup_data(organization_name="Admin"))
    assert Organization.objects.get().slug == "admin-org"


def test_signup_gives_a_taken_name_another_address(client, db, org_a):
    client.post(reverse("signup"), _signup_data(organization_name="Org A"))
    new = Organization.objects.exclude(pk=org_a.pk).get()
    assert new.slug.startswith("org-a-")
    assert new.slug != org_a.slug


@pytest.mark.parametrize("email", ["taken@old.example", "TAKEN@Old.Example"])
def test_signup_with_a_taken_email_shows_a_form_error_and_writes_nothing(client, db, email):
    UserFactory(email="taken@old.example")

    response = client.post(reverse("signup"), _signup_data(email=email))

    assert response.status_code == 200
    assert "An account with this email already exists." in response.content.decode()
    assert User.objects.count() == 1
    assert not Organization.objects.exists()
    assert _signed_in_user_id(client) is None


@pytest.mark.parametrize(
    ("password1", "password2", "field", "message"),
    [
        ("short1", "short1", "password1", "too short"),
        ("password123", "password123", "password1", "too common"),
        ("83726152947", "83726152947", "password1", "entirely numeric"),
        ("nina-newcomer", "nina-newcomer", "password1", "too similar"),
        ("Sturdy-Passphrase-2024", "Sturdy-Passphrase-2025", "password2", "differ"),
    ],
    ids=["short", "common", "numeric", "like-the-name", "mismatched"],
)
def test_signup_rejects_weak_or_mismatched_passwords(
    client, db, password1, password2, field, message
):
    data = _signup_data(password1=password1, password2=password2, full_name="Nina Newcomer")

    response = client.post(reverse("signup"), data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert _nothing_written()


def test_signup_requires_every_field(client, db):
    response = client.post(reverse("signup"), dict.fromkeys(_signup_data(), ""))

    assert set(response.context["form"].errors) == {
        "full_name",
        "email",
        "organization_name",
        "password1",
        "password2",
    }
    assert _nothing_written()


def test_a_signed_in_user_is_sent_home_from_signup(alice, client_for):
    response = client_for(alice).get(reverse("signup"))
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


# --- Sign-in and sign-out ---------------------------------------------------------------------


def test_the_login_page_renders(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert 'type="email"' in response.content.decode()


def test_it_signs_in_with_the_email_address(client, alice):
    response = _login(client, "alice@a.example", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert _signed_in_user_id(client) == str(alice.pk)


def test_the_email_address_is_case_insensitive(client, alice):
    response = _login(client, "  ALICE@A.Example ", PASSWORD)

    assert response.status_code == 302
    assert _signed_in_user_id(client) == str(alice.pk)


def test_a_wrong_password_is_refused_with_a_message(client, alice):
    response = _login(client, "alice@a.example", "not the password")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert _signed_in_user_id(client) is None


def test_sign_in_follows_next_to_an_organization_page(client, alice, org_a):
    home = reverse("tenancy:home", args=[org_a.slug])
    response = client.post(
        LOGIN,
        {"username": "alice@a.example", "password": PASSWORD, "next": home},
        REMOTE_ADDR="10.0.0.1",
    )
    assert response["Location"] == home


def test_sign_in_does_not_follow_next_to_another_site(client, alice):
    response = client.post(
        LOGIN,
        {"username": "alice@a.example", "password": PASSWORD, "next": "https://evil.example/"},
        REMOTE_ADDR="10.0.0.1",
    )
    assert response["Location"] == reverse("home")


def test_an_inactive_user_cannot_sign_in(client, alice):
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    _login(client, "alice@a.example", PASSWORD)

    assert _signed_in_user_id(client) is None


def test_logout_needs_a_post(alice, client_for):
    client = client_for(alice)

    assert client.get(reverse("logout")).status_code == 405
    assert _signed_in_user_id(client) == str(alice.pk)


def test_logout_signs_out_and_goes_to_the_login_page(alice, client_for):
    client = client_for(alice)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert _signed_in_user_id(client) is None


def test_the_root_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login")


# --- Passwords --------------------------------------------------------------------------------


def test_it_changes_the_password(alice, client_for):
    client = client_for(alice)

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    # The session survives the change.
    assert _signed_in_user_id(client) == str(alice.pk)


def test_a_password_change_needs_the_old_password(alice, client_for):
    response = client_for(alice).post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_the_password_change_page_needs_a_signed_in_user(client, db):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_password_reset_sends_a_link_that_sets_a_new_password(client, alice):
    response = client.post(reverse("password_reset"), {"email": "ALICE@a.example"})

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@a.example"]
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/\S+/)", message.body)
    assert link, message.body

    # The link swaps the token into the session and shows the form at a token-free address.
    form_page = client.get(link[1], follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")

    fresh = Client()
    assert _login(fresh, "alice@a.example", PASSWORD).status_code == 200  # old one is gone
    assert _login(fresh, "alice@a.example", NEW_PASSWORD).status_code == 302
    assert _signed_in_user_id(fresh) == str(alice.pk)


def test_a_password_reset_link_works_once(client, alice):
    client.post(reverse("password_reset"), {"email": "alice@a.example"})
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/\S+/)", mail.outbox[0].body)
    set_url = client.get(link[1], follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = Client().get(link[1], follow=True)

    assert again.context["validlink"] is False


def test_password_reset_for_an_unknown_email_sends_nothing_and_says_the_same(client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.example"})

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


# --- Throttling (django-axes) -----------------------------------------------------------------


def _fail(client: Client, email: str, address: str, times: int) -> list[int]:
    return [_login(client, email, "wrong password", address).status_code for _ in range(times)]


def test_it_locks_out_a_username_and_address_after_too_many_failures(client, alice):
    limit = settings.AXES_FAILURE_LIMIT

    statuses = _fail(client, "alice@a.example", "10.0.0.1", limit)
    locked = _login(client, "alice@a.example", PASSWORD, "10.0.0.1")

    assert statuses[:-1] == [200] * (limit - 1)  # the form again, with its error
    assert statuses[-1] == 429  # the failure that reaches the limit is already refused
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert _signed_in_user_id(client) is None


def test_the_lockout_counts_case_variants_of_the_email_as_one_username(client, alice):
    limit = settings.AXES_FAILURE_LIMIT
    variants = ["alice@a.example", "ALICE@A.EXAMPLE", "Alice@A.example", "alice@A.EXAMPLE"]
    for attempt in range(limit):
        _login(client, variants[attempt % len(variants)], "wrong", "10.0.0.1")

    assert _login(client, "Alice@a.Example", PASSWORD, "10.0.0.1").status_code == 429


def test_a_lockout_does_not_stop_the_same_user_from_another_address(client, alice):
    _fail(client, "alice@a.example", "10.0.0.1", settings.AXES_FAILURE_LIMIT)

    elsewhere = Client()
    response = _login(elsewhere, "alice@a.example", PASSWORD, "10.9.9.9")

    assert response.status_code == 302
    assert _signed_in_user_id(elsewhere) == str(alice.pk)
    # Signing in elsewhere does not lift the lock on the attacking address.
    assert _login(Client(), "alice@a.example", PASSWORD, "10.0.0.1").status_code == 429


def test_a_lockout_does_not_stop_other_users_at_the_same_address(client, alice, bob):
    _fail(client, "alice@a.example", "10.0.0.1", settings.AXES_FAILURE_LIMIT)

    other = Client()
    assert _login(other, "bob@a.example", PASSWORD, "10.0.0.1").status_code == 302
    assert _signed_in_user_id(other) == str(bob.pk)


def test_the_lock_lifts_after_the_cool_off(client, alice):
    _fail(client, "alice@a.example", "10.0.0.1", settings.AXES_FAILURE_LIMIT)
    assert _login(client, "alice@a.example", PASSWORD, "10.0.0.1").status_code == 429

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    response = _login(client, "alice@a.example", PASSWORD, "10.0.0.1")

    assert response.status_code == 302
    assert _signed_in_user_id(client) == str(alice.pk)


def test_the_lock_holds_until_the_cool_off_ends(client, alice):
    _fail(client, "alice@a.example", "10.0.0.1", settings.AXES_FAILURE_LIMIT)

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME + timedelta(minutes=1)
    )

    assert _login(client, "alice@a.example", PASSWORD, "10.0.0.1").status_code == 429


def test_a_successful_sign_in_resets_the_failure_count(client, alice):
    limit = settings.AXES_FAILURE_LIMIT
    _fail(client, "alice@a.example", "10.0.0.1", limit - 1)
    assert _login(client, "alice@a.example", PASSWORD, "10.0.0.1").status_code == 302
    client.post(reverse("logout"))

    statuses = _fail(client, "alice@a.example", "10.0.0.1", limit - 1)

    assert statuses == [200] * (limit - 1)
    assert _login(client, "alice@a.example", PASSWORD, "10.0.0.1").status_code == 302


def test_the_lockout_page_states_the_configured_cool_off(client, alice, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=45)

    _fail(client, "alice@a.example", "10.0.0.1", settings.AXES_FAILURE_LIMIT)
    response = _login(client, "alice@a.example", PASSWORD, "10.0.0.1")

    assert response.status_code == 429
    assert "about 45 minutes" in response.content.decode()


def test_the_lockout_page_states_the_default_cool_off(client, alice):
    _fail(client, "alice@a.example", "10.0.0.1", settings.AXES_FAILURE_LIMIT)

    response = _login(client, "alice@a.example", PASSWORD, "10.0.0.1")

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"about {minutes} minutes" in response.content.decode()
