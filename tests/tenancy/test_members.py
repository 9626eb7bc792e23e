"""The team: invitations end to end, roles, removal, settings, and several organizations."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenancy.context import tenant_context
from tenancy.models import (
    ActivityEvent,
    ActivityVerb,
    Invitation,
    Membership,
    Organization,
    User,
)
from tenancy.permissions import Role
from tests.factories import InvitationFactory, MembershipFactory, UserFactory

NEW_PASSWORD = "Sturdy-Passphrase-2024"
JOIN_LINK = re.compile(r"http://testserver(/join/[-\w]+/[-\w]+/)")


def _members_url(org: Organization) -> str:
    return reverse("tenancy:members", args=[org.slug])


def _role_of(org: Organization, user: User) -> str | None:
    with tenant_context(org):
        return Membership.objects.filter(user=user).values_list("role", flat=True).first()


def _verbs(org: Organization) -> list[str]:
    with tenant_context(org):
        return list(
            ActivityEvent.objects.order_by("created_at", "pk").values_list("verb", flat=True)
        )


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def invite(org_a, admin_a, client_for, django_capture_on_commit_callbacks):
    """Invite an email address as admin_a through the members page; returns the link path."""
    client = client_for(admin_a)

    def send(email: str, role: str = Role.SALES) -> str:
        sent_before = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(_members_url(org_a), {"email": email, "role": role})
        assert response.status_code == 302, response.content.decode()[:500]
        assert len(mail.outbox) == sent_before + 1
        return JOIN_LINK.search(mail.outbox[-1].body)[1]

    return send


# --- Inviting ---------------------------------------------------------------------------------


def test_the_members_page_lists_members_and_pending_invitations(
    org_a, admin_a, alice, bob, client_for
):
    InvitationFactory(organization=org_a, email="pending@a.example")
    InvitationFactory(
        organization=org_a,
        email="expired@a.example",
        expires_at=timezone.now() - timedelta(days=1),
    )

    response = client_for(admin_a).get(_members_url(org_a))

    html = response.content.decode()
    assert response.status_code == 200
    for email in ("ada@a.example", "alice@a.example", "bob@a.example", "pending@a.example"):
        assert email in html
    assert "expired@a.example" not in html
    assert [m.user for m in response.context["members"]] == [admin_a, alice, bob]


def test_an_admin_invites_a_colleague_by_email_after_the_commit(
    org_a, admin_a, client_for, django_capture_on_commit_callbacks
):
    client = client_for(admin_a)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            _members_url(org_a), {"email": " Newbie@Example.COM ", "role": Role.MARKETING}
        )
        assert mail.outbox == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()

    assert response.status_code == 302
    assert response["Location"] == _members_url(org_a)
    with tenant_context(org_a):
        invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role) == ("newbie@example.com", Role.MARKETING)
    assert invitation.invited_by == admin_a
    assert invitation.is_pending
    [message] = mail.outbox
    assert message.to == ["newbie@example.com"]
    assert "Acme Test" in message.subject
    assert f"/join/{org_a.slug}/{invitation.token}/" in message.body
    assert _verbs(org_a) == [ActivityVerb.MEMBER_INVITED]


def test_the_invitation_shows_as_pending_with_a_confirmation(org_a, admin_a, client_for):
    client = client_for(admin_a)

    response = client.post(
        _members_url(org_a), {"email": "newbie@example.com", "role": Role.SALES}, follow=True
    )

    assert "Invitation sent to newbie@example.com." in _messages(response)
    assert "newbie@example.com" in response.content.decode()


def test_a_new_person_accepts_and_joins_with_the_role(org_a, invite):
    path = invite("newbie@example.com", Role.MARKETING)
    client = Client()

    page = client.get(path)
    assert page.status_code == 200
    assert "newbie@example.com" in page.content.decode()

    response = client.post(
        path,
        {"full_name": "Nora Newbie", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    user = User.objects.get(email="newbie@example.com")
    assert user.full_name == "Nora Newbie"
    assert user.check_password(NEW_PASSWORD)
    assert _role_of(org_a, user) == Role.MARKETING
    assert response.status_code == 302
    assert response["Location"] == org_a.get_absolute_url()
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.get(response["Location"]).status_code == 200
    with tenant_context(org_a):
        assert Invitation.objects.get().accepted_at is not None
    assert _verbs(org_a) == [ActivityVerb.MEMBER_INVITED, ActivityVerb.MEMBER_JOINED]


def test_a_new_person_must_choose_a_sound_password(org_a, invite):
    path = invite("newbie@example.com")

    response = Client().post(
        path, {"full_name": "Nora Newbie", "password1": "newbie", "password2": "newbie"}
    )

    assert response.status_code == 200
    assert "password1" in response.context["form"].errors
    assert not User.objects.filter(email="newbie@example.com").exists()


def test_an_existing_user_signed_in_with_the_email_joins_with_a_post(
    org_a, org_b, mallory, invite, client_for
):
    path = invite("mallory@b.example", Role.SUPPORT)
    client = client_for(mallory)

    page = client.get(path)
    assert page.status_code == 200
    assert "Accept and join" in page.content.decode()

    response = client.post(path)

    assert response.status_code == 302
    assert response["Location"] == org_a.get_absolute_url()
    assert _role_of(org_a, mallory) == Role.SUPPORT
    assert _role_of(org_b, mallory) == Role.ADMIN


def test_an_existing_user_who_is_signed_out_is_asked_to_sign_in(org_a, mallory, invite):
    path = invite("mallory@b.example")

    page = Client().get(path)

    html = page.content.decode()
    assert page.status_code == 200
    assert "Sign in to accept" in html
    assert f"{reverse('login')}?next=" in html
    # A POST cannot create a second account for that address.
    Client().post(path, {"full_name": "X", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert User.objects.filter(email="mallory@b.example").count() == 1
    assert _role_of(org_a, mallory) is None


def test_someone_signed_in_with_another_email_is_refused_clearly(
    org_a, admin_a, bob, invite, client_for
):
    path = invite("newbie@example.com")
    client = client_for(UserFactory(email="someone.else@example.com"))

    page = client.get(path)
    assert "This invitation is for newbie@example.com" in page.content.decode()

    response = client.post(path, follow=True)

    assert "This invitation was sent to another email address." in _messages(response)
    with tenant_context(org_a):
        assert Invitation.objects.get().accepted_at is None
        assert {m.user for m in Membership.objects.all()} == {admin_a, bob}


@pytest.mark.parametrize("how", ["expired", "revoked", "used", "unknown", "other-org"])
def test_an_invitation_link_that_is_no_longer_valid_shows_the_not_valid_page(
    how, org_a, org_b, admin_a, invite, client_for
):
    path = invite("newbie@example.com")
    with tenant_context(org_a):
        invitation = Invitation.objects.get()
    if how == "expired":
        invitation.expires_at = timezone.now() - timedelta(minutes=1)
        with tenant_context(org_a):
            invitation.save(update_fields=["expires_at"])
    elif how == "revoked":
        client_for(admin_a).post(
            reverse("tenancy:invitation-revoke", args=[org_a.slug, invitation.pk])
        )
    elif how == "used":
        Client().post(
            path, {"full_name": "Nora", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
        )
    elif how == "unknown":
        path = reverse("invitation-accept", args=[org_a.slug, "not-a-token"])
    else:
        path = reverse("invitation-accept", args=[org_b.slug, invitation.token])

    for client in (Client(), client_for(admin_a)):
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            assert response.status_code == 404
            assert "This invitation is not valid" in response.content.decode()


def test_an_invitation_link_for_an_unknown_organization_is_404(client, db):
    assert client.get(reverse("invitation-accept", args=["nowhere", "x"])).status_code == 404


def test_reinviting_renews_the_link_and_retires_the_old_one(org_a, invite):
    first = invite("newbie@example.com", Role.SALES)
    second = invite("NEWBIE@example.com", Role.SUPPORT)

    with tenant_context(org_a):
        invitation = Invitation.objects.get()
    assert first != second
    assert second.endswith(f"/{invitation.token}/")
    assert invitation.role == Role.SUPPORT
    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200


def test_reinviting_pushes_the_expiry_back(org_a, admin_a, invite):
    invite("newbie@example.com")
    with tenant_context(org_a):
        Invitation.objects.update(expires_at=timezone.now() + timedelta(hours=1))

    invite("newbie@example.com")

    with tenant_context(org_a):
        assert Invitation.objects.get().expires_at > timezone.now() + timedelta(days=13)


@pytest.mark.parametrize("email", ["bob@a.example", "BOB@A.example"])
def test_inviting_an_existing_member_is_a_form_error(email, org_a, admin_a, bob, client_for):
    response = client_for(admin_a).post(_members_url(org_a), {"email": email, "role": Role.SALES})

    assert response.status_code == 400
    assert "bob@a.example is already a member." in response.context["form"].errors["email"]
    with tenant_context(org_a):
        assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_a_member_of_another_organization_can_be_invited(org_a, admin_a, mallory, invite):
    invite("mallory@b.example")
    with tenant_context(org_a):
        assert Invitation.objects.filter(email="mallory@b.example").exists()


@pytest.mark.parametrize(
    "data", [{"email": "not-an-email", "role": Role.SALES}, {"email": "x@y.example", "role": "x"}]
)
def test_an_invalid_invitation_is_a_form_error(data, org_a, admin_a, client_for):
    response = client_for(admin_a).post(_members_url(org_a), data)

    assert response.status_code == 400
    with tenant_context(org_a):
        assert not Invitation.objects.exists()


def test_an_admin_revokes_an_invitation(org_a, admin_a, client_for):
    invitation = InvitationFactory(organization=org_a, email="gone@example.com")

    response = client_for(admin_a).post(
        reverse("tenancy:invitation-revoke", args=[org_a.slug, invitation.pk]), follow=True
    )

    assert "The invitation to gone@example.com was revoked." in _messages(response)
    with tenant_context(org_a):
        assert not Invitation.objects.exists()
    assert _verbs(org_a) == [ActivityVerb.INVITATION_REVOKED]


# --- Roles and removal ------------------------------------------------------------------------


def test_an_admin_changes_a_members_role(org_a, admin_a, bob, client_for):
    with tenant_context(org_a):
        membership = Membership.objects.get(user=bob)

    response = client_for(admin_a).post(
        reverse("tenancy:member-role", args=[org_a.slug, membership.pk]),
        {"role": Role.MANAGER},
        follow=True,
    )

    assert _role_of(org_a, bob) == Role.MANAGER
    assert "Bob Sales's role was changed." in _messages(response)
    assert _verbs(org_a) == [ActivityVerb.MEMBER_ROLE_CHANGED]
    with tenant_context(org_a):
        assert ActivityEvent.objects.get().target == "Bob Sales → Manager"


def test_an_unknown_role_changes_nothing(org_a, admin_a, bob, client_for):
    with tenant_context(org_a):
        membership = Membership.objects.get(user=bob)

    response = client_for(admin_a).post(
        reverse("tenancy:member-role", args=[org_a.slug, membership.pk]),
        {"role": "owner"},
        follow=True,
    )

    assert _role_of(org_a, bob) == Role.SALES
    assert "Choose one of the listed roles." in _messages(response)


def test_a_changed_role_takes_effect_at_once(org_a, admin_a, bob, client_for):
    with tenant_context(org_a):
        membership = Membership.objects.get(user=bob)
    bobs_client = client_for(bob)
    assert bobs_client.get(_members_url(org_a)).status_code == 403

    client_for(admin_a).post(
        reverse("tenancy:member-role", args=[org_a.slug, membership.pk]), {"role": Role.ADMIN}
    )

    assert bobs_client.get(_members_url(org_a)).status_code == 200


def test_the_remove_page_asks_first(org_a, admin_a, bob, client_for):
    with tenant_context(org_a):
        membership = Membership.objects.get(user=bob)

    response = client_for(admin_a).get(
        reverse("tenancy:member-remove", args=[org_a.slug, membership.pk])
    )

    assert response.status_code == 200
    assert "Remove Bob Sales?" in response.content.decode()
    assert _role_of(org_a, bob) == Role.SALES


def test_an_admin_removes_a_member(org_a, admin_a, bob, client_for):
    with tenant_context(org_a):
        membership = Membership.objects.get(user=bob)

    response = client_for(admin_a).post(
        reverse("tenancy:member-remove", args=[org_a.slug, membership.pk]), follow=True
    )

    assert "Bob Sales was removed." in _messages(response)
    assert _role_of(org_a, bob) is None
    assert User.objects.filter(pk=bob.pk).exists()  # the account stays
    assert _verbs(org_a) == [ActivityVerb.MEMBER_REMOVED]
    assert client_for(bob).get(reverse("tenancy:home", args=[org_a.slug])).status_code == 404


def test_the_last_admin_cannot_be_demoted(org_a, admin_a, bob, client_for):
    with tenant_context(org_a):
        membership = Membership.objects.get(user=admin_a)

    response = client_for(admin_a).post(
        reverse("tenancy:member-role", args=[org_a.slug, membership.pk]),
        {"role": Role.MANAGER},
        follow=True,
    )

    assert "An organization needs at least one admin." in _messages(response)
    assert _role_of(org_a, admin_a) == Role.ADMIN
    assert _verbs(org_a) == []


def test_the_last_admin_cannot_be_removed(org_a, admin_a, client_for):
    with tenant_context(org_a):
        membership = Membership.objects.get(user=admin_a)

    response = client_for(admin_a).post(
        reverse("tenancy:member-remove", args=[org_a.slug, membership.pk]), follow=True
    )

    assert "An organization needs at least one admin." in _messages(response)
    assert _role_of(org_a, admin_a) == Role.ADMIN


def test_an_admin_can_step_down_when_another_admin_remains(org_a, admin_a, member_of, client_for):
    member_of(org_a, Role.ADMIN)
    with tenant_context(org_a):
        membership = Membership.objects.get(user=admin_a)

    client_for(admin_a).post(
        reverse("tenancy:member-role", args=[org_a.slug, membership.pk]), {"role": Role.SALES}
    )

    assert _role_of(org_a, admin_a) == Role.SALES


def test_an_admin_who_leaves_goes_to_the_root(org_a, admin_a, member_of, client_for):
    member_of(org_a, Role.ADMIN)
    with tenant_context(org_a):
        membership = Membership.objects.get(user=admin_a)

    response = client_for(admin_a).post(
        reverse("tenancy:member-remove", args=[org_a.slug, membership.pk])
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert _role_of(org_a, admin_a) is None


def test_the_admin_rule_counts_only_this_organizations_admins(org_a, org_b, admin_a, client_for):
    MembershipFactory(organization=org_b, user=admin_a, role=Role.ADMIN)
    with tenant_context(org_a):
        membership = Membership.objects.get(user=admin_a)

    client_for(admin_a).post(
        reverse("tenancy:member-role", args=[org_a.slug, membership.pk]), {"role": Role.SALES}
    )

    assert _role_of(org_a, admin_a) == Role.ADMIN


# --- Settings ---------------------------------------------------------------------------------


def test_an_admin_updates_the_organization_settings(org_a, admin_a, client_for):
    url = reverse("tenancy:settings", args=[org_a.slug])

    response = client_for(admin_a).post(url, {"name": "Acme Renamed", "currency": "EUR"})

    org_a.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == url
    assert (org_a.name, org_a.currency, org_a.slug) == ("Acme Renamed", "EUR", "org-a")
    assert _verbs(org_a) == [ActivityVerb.ORGANIZATION_UPDATED]


def test_invalid_settings_are_not_saved(org_a, admin_a, client_for):
    response = client_for(admin_a).post(
        reverse("tenancy:settings", args=[org_a.slug]), {"name": "", "currency": "XXX"}
    )

    org_a.refresh_from_db()
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name", "currency"}
    assert (org_a.name, org_a.currency) == ("Acme Test", "USD")
    assert _verbs(org_a) == []


def test_the_settings_form_shows_the_current_values(org_a, admin_a, client_for):
    response = client_for(admin_a).get(reverse("tenancy:settings", args=[org_a.slug]))

    assert response.context["form"].initial == {"name": "Acme Test", "currency": "USD"}


# --- Several organizations --------------------------------------------------------------------


def test_a_member_creates_a_second_organization_and_is_its_admin(org_a, alice, client_for):
    client = client_for(alice)

    response = client.post(
        reverse("organization-new"), {"name": "Second Venture", "currency": "EUR"}
    )

    second = Organization.objects.get(slug="second-venture")
    assert second.currency == "EUR"
    assert response.status_code == 302
    assert response["Location"] == second.get_absolute_url()
    assert _role_of(second, alice) == Role.ADMIN
    assert _role_of(org_a, alice) == Role.MANAGER
    assert _verbs(second) == [ActivityVerb.ORGANIZATION_CREATED]


def test_the_new_organization_page_needs_a_signed_in_user(client, db):
    response = client.get(reverse("organization-new"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_switcher_lists_every_organization_of_the_member(
    org_a, org_b, alice, member_of, client_for
):
    MembershipFactory(organization=org_b, user=alice, role=Role.SUPPORT)
    member_of(org_b, Role.ADMIN, email="stranger@b.example")
    third = Organization.objects.create(name="Gamma Not Mine", slug="gamma")

    response = client_for(alice).get(reverse("tenancy:home", args=[org_a.slug]))

    html = response.content.decode()
    assert f'href="{reverse("tenancy:home", args=[org_a.slug])}"' in html
    assert f'href="{reverse("tenancy:home", args=[org_b.slug])}"' in html
    assert "Beta Test" in html
    assert f'href="{reverse("tenancy:home", args=[third.slug])}"' not in html
    assert [m.organization for m in response.context["my_memberships"]] == [org_a, org_b]


def test_the_root_goes_to_the_last_organization_used(org_a, org_b, alice, client_for):
    MembershipFactory(organization=org_b, user=alice, role=Role.SUPPORT)
    client = client_for(alice)

    client.get(reverse("tenancy:home", args=[org_b.slug]))
    assert client.get("/")["Location"] == reverse("tenancy:home", args=[org_b.slug])

    client.get(reverse("tenancy:home", args=[org_a.slug]))
    assert client.get("/")["Location"] == reverse("tenancy:home", args=[org_a.slug])


def test_the_root_forgets_an_organization_one_has_left(org_a, org_b, alice, client_for):
    membership_b = MembershipFactory(organization=org_b, user=alice, role=Role.SUPPORT)
    client = client_for(alice)
    client.get(reverse("tenancy:home", args=[org_b.slug]))
    with tenant_context(org_b):
        membership_b.delete()

    assert client.get("/")["Location"] == reverse("tenancy:home", args=[org_a.slug])


def test_the_root_offers_to_create_an_organization_to_someone_in_none(outsider, client_for):
    response = client_for(outsider).get("/")

    assert response.status_code == 200
    assert f'href="{reverse("organization-new")}"' in response.content.decode()


def test_an_invalid_settings_post_keeps_showing_the_saved_name(org_a, admin_a, client_for):
    response = client_for(admin_a).post(
        reverse("tenancy:settings", args=[org_a.slug]), {"name": "Not Saved", "currency": "XXX"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Settings · Acme Test · Clientele</title>" in html
    assert 'value="Not Saved"' in html  # the form keeps what was typed
    assert html.count("Not Saved") == 1
