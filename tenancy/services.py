"""Writes about organizations, members and invitations. One transaction each."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.text import slugify
from django.utils.translation import gettext as _

from tenancy.context import tenant_context
from tenancy.models import (
    ActivityEvent,
    ActivityVerb,
    Invitation,
    Membership,
    Notification,
    Organization,
    User,
    _invitation_expiry,
    _invitation_token,
)
from tenancy.permissions import Role

logger = logging.getLogger(__name__)

RESERVED_SLUGS = frozenset({"new", "admin", "api", "static", "join"})


def activity_record(
    *, org: Organization, actor: User | None, verb: ActivityVerb, target: str = "", link: str = ""
) -> ActivityEvent:
    """Append one line to the organization's activity feed (the tenant must be in context)."""
    return ActivityEvent.objects.create(
        organization=org, actor=actor, verb=verb, target=target[:300], link=link
    )


def _unique_slug(name: str) -> str:
    base = (slugify(name) or "org")[:50]
    if base in RESERVED_SLUGS:
        base = f"{base}-org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{get_random_string(4, 'abcdefghijklmnopqrstuvwxyz0123456789')}"
    return slug


def organization_create(
    *, name: str, creator: User, slug: str | None = None, currency: str = "USD"
) -> Organization:
    """Create an organization with `creator` as its first admin."""
    with transaction.atomic():
        org = Organization.objects.create(
            name=name, slug=slug or _unique_slug(name), currency=currency
        )
        with tenant_context(org, user_id=creator.pk):
            Membership.objects.create(organization=org, user=creator, role=Role.ADMIN)
            activity_record(
                org=org, actor=creator, verb=ActivityVerb.ORGANIZATION_CREATED, target=org.name
            )
    return org


def user_signup(
    *, email: str, full_name: str, password: str, organization_name: str
) -> tuple[User, Organization]:
    """A new person signs up: their account and their organization, where they are admin."""
    with transaction.atomic():
        user = User.objects.create_user(email=email, password=password, full_name=full_name)
        org = organization_create(name=organization_name, creator=user)
    return user, org


def organization_update(*, org: Organization, name: str, currency: str, by: User) -> Organization:
    org.name = name
    org.currency = currency
    org.save(update_fields=["name", "currency"])
    activity_record(org=org, actor=by, verb=ActivityVerb.ORGANIZATION_UPDATED, target=name)
    return org


def invitation_create(
    *, org: Organization, email: str, role: str, by: User, base_url: str
) -> Invitation:
    """Invite `email` to `org` with `role` and mail them a link; re-inviting renews the link."""
    email = email.strip().lower()
    if Membership.objects.filter(user__email__iexact=email).exists():
        raise ValidationError(_("%(email)s is already a member.") % {"email": email})
    invitation = Invitation.objects.filter(email=email, accepted_at=None).first()
    if invitation is None:
        invitation = Invitation(organization=org, email=email)
    invitation.role = role
    invitation.invited_by = by
    invitation.token = _invitation_token()
    invitation.expires_at = _invitation_expiry()
    invitation.save()
    accept_url = base_url.rstrip("/") + reverse(
        "invitation-accept", kwargs={"org_slug": org.slug, "token": invitation.token}
    )
    context = {"org": org, "invitation": invitation, "inviter": by, "accept_url": accept_url}
    body = render_to_string("tenancy/email/invitation.txt", context)
    subject = _("%(name)s invited you to %(org)s on Clientele") % {"name": by, "org": org.name}
    transaction.on_commit(lambda: _send_quietly(subject, body, email))
    activity_record(org=org, actor=by, verb=ActivityVerb.MEMBER_INVITED, target=email)
    return invitation


def _send_quietly(subject: str, body: str, to: str) -> None:
    # The invitation is saved and listed as pending either way; an admin can resend it.
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except Exception:
        logger.exception("Could not send the invitation email to %s", to)


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """`user` joins the invitation's organization with its role."""
    if user.email.lower() != invitation.email.lower():
        raise ValidationError(_("This invitation was sent to another email address."))
    if not invitation.is_pending:
        raise ValidationError(_("This invitation has expired or was already used."))
    membership, _created = Membership.objects.get_or_create(
        user=user, defaults={"role": invitation.role, "organization_id": invitation.organization_id}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    activity_record(
        org=invitation.organization,
        actor=user,
        verb=ActivityVerb.MEMBER_JOINED,
        target=invitation.organization.name,
    )
    return membership


def invitation_revoke(*, invitation: Invitation, by: User) -> None:
    activity_record(
        org=invitation.organization,
        actor=by,
        verb=ActivityVerb.INVITATION_REVOKED,
        target=invitation.email,
    )
    invitation.delete()


def _ensure_an_admin_remains(membership: Membership) -> None:
    if (
        membership.role == Role.ADMIN
        and Membership.objects.filter(role=Role.ADMIN).exclude(pk=membership.pk).count() == 0
    ):
        raise ValidationError(_("An organization needs at least one admin."))


def membership_change_role(*, membership: Membership, role: str, by: User) -> Membership:
    if role != Role.ADMIN:
        _ensure_an_admin_remains(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    activity_record(
        org=membership.organization,
        actor=by,
        verb=ActivityVerb.MEMBER_ROLE_CHANGED,
        target=f"{membership.user} → {membership.get_role_display()}",
    )
    return membership


def membership_remove(*, membership: Membership, by: User) -> None:
    _ensure_an_admin_remains(membership)
    activity_record(
        org=membership.organization,
        actor=by,
        verb=ActivityVerb.MEMBER_REMOVED,
        target=str(membership.user),
    )
    membership.delete()


def invitations_expire() -> int:
    """Delete invitations that expired more than a week ago, in every organization."""
    deleted = 0
    cutoff = timezone.now() - timedelta(days=7)
    for org in Organization.objects.all().iterator():
        with tenant_context(org):
            deleted += Invitation.objects.filter(accepted_at=None, expires_at__lt=cutoff).delete()[
                0
            ]
    return deleted


# --- Notifications ----------------------------------------------------------------------------


def notification_create(
    *, org: Organization, user: User, title: str, body: str = "", link: str = ""
) -> Notification:
    """An unread in-app notification for `user` in `org` (the tenant must be in context).
    Texts are cut to the columns' lengths; `link` is a path inside Clientele."""
    return Notification.objects.create(
        organization=org, user=user, title=title[:200], body=body[:500], link=link[:300]
    )


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, org: Organization, user: User) -> int:
    """Mark every unread notification of `user` in `org` read; returns how many there were."""
    return Notification.objects.filter(user=user, read_at=None).update(read_at=timezone.now())
