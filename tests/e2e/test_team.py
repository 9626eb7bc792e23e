"""An admin runs the team: invitations sent by email, accepted in another browser, revoked."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from tenancy.permissions import Role
from tests.e2e.browser import Shoot, field, path_is, sign_in
from tests.factories import InvitationFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LINK = re.compile(r"https?://\S+/join/\S+/")


def wait_for_mail(page: Page, count: int) -> None:
    # The invitation is mailed when the request's transaction commits, in the server thread.
    for _ in range(50):
        if len(mail.outbox) >= count:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"expected {count} email(s), got {len(mail.outbox)}")


def test_an_admin_invites_a_colleague_who_joins_from_the_emailed_link(
    page: Page, live_server, new_context, admin_a, mailoutbox, shoot: Shoot
):
    sign_in(page.context, admin_a, live_server.url)
    page.goto(f"{live_server.url}/o/org-a/members/")
    form = page.get_by_test_id("invite-form")
    form.get_by_label("Email address").fill("dana@a.example")
    form.get_by_label("Role").select_option(Role.MANAGER)
    form.get_by_role("button", name="Send invitation").click()

    expect(page.get_by_role("alert")).to_contain_text("Invitation sent to dana@a.example.")
    pending = page.get_by_role("region", name="Pending invitations")
    expect(pending).to_contain_text("dana@a.example")
    expect(pending).to_contain_text("Manager")

    wait_for_mail(page, 1)
    assert mailoutbox[0].to == ["dana@a.example"]
    link = LINK.search(mailoutbox[0].body)[0]
    assert link.startswith(live_server.url)

    invitee = new_context().new_page()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="Join Acme Test")).to_be_visible()
    expect(invitee.get_by_text("Ada Admin invited you as Manager.")).to_be_visible()
    shoot(invitee, "invitation-accept-journey")
    invitee.get_by_label("Your name").fill("Dana Newcomer")
    field(invitee, "Password").fill("a long and unusual passphrase")
    invitee.get_by_label("Password again").fill("a long and unusual passphrase")
    invitee.get_by_role("button", name="Create account and join").click()

    expect(invitee).to_have_url(path_is(live_server.url, "/o/org-a/"))
    expect(invitee.get_by_text("You are working in Acme Test as Manager.")).to_be_visible()
    # A manager does not administer the team.
    expect(invitee.get_by_role("link", name="Team")).to_have_count(0)

    page.reload()
    expect(page.get_by_test_id("member-dana@a.example")).to_contain_text("Dana Newcomer")
    expect(page.get_by_role("region", name="Pending invitations")).to_contain_text(
        "No pending invitations"
    )


def test_revoking_an_invitation_asks_in_a_dialog_first(
    page: Page, live_server, org_a, admin_a, shoot: Shoot
):
    InvitationFactory(organization=org_a, email="erin@a.example", invited_by=admin_a)
    sign_in(page.context, admin_a, live_server.url)
    page.goto(f"{live_server.url}/o/org-a/members/")
    pending = page.get_by_role("region", name="Pending invitations")
    dialog = page.get_by_role("dialog", name="Please confirm")

    pending.get_by_role("button", name="Revoke").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Revoke the invitation to erin@a.example?")
    shoot(page, "confirm-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(pending).to_contain_text("erin@a.example")

    pending.get_by_role("button", name="Revoke").click()
    dialog.get_by_role("button", name="Revoke invitation").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "The invitation to erin@a.example was revoked."
    )
    expect(pending).not_to_contain_text("erin@a.example")


def test_a_sales_rep_is_refused_the_team_page(page: Page, live_server, bob):
    sign_in(page.context, bob, live_server.url)
    response = page.goto(f"{live_server.url}/o/org-a/members/")

    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Your role does not allow this")).to_be_visible()
