import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.context import require_org
from tenancy.managers import TenantManager, UnscopedManager
from tenancy.permissions import Role


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address. Belongs to organizations via Membership."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def initials(self) -> str:
        parts = [p for p in self.full_name.split() if p]
        return ("".join(p[0] for p in parts[:2]) or self.email[:1]).upper()


class Organization(models.Model):
    """A tenant: one company using Clientele."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("address"), max_length=60, unique=True)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("tenancy:home", kwargs={"org_slug": self.slug})


class TenantModel(models.Model):
    """Base class of every tenant-owned table.

    The organization column is NOT NULL and leads every index and unique constraint of the
    subclasses (a future Citus distribution column). `objects` is scoped to the current
    organization and raises without one; `unscoped` is the explicit escape hatch.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", verbose_name=_("organization")
    )

    objects = TenantManager()
    unscoped = UnscopedManager()

    class Meta:
        abstract = True
        base_manager_name = "unscoped"
        default_manager_name = "objects"

    def save(self, *args, **kwargs) -> None:
        org = require_org()
        if self.organization_id is None:
            self.organization = org
        elif self.organization_id != org.pk:
            raise ValueError(
                f"Refusing to save a {type(self).__name__} of organization {self.organization_id} "
                f"while working in organization {org.pk}."
            )
        super().save(*args, **kwargs)


class Membership(TenantModel):
    """A user's role in one organization."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        db_index=False,
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="membership_org_user_uniq"
            )
        ]
        indexes = [models.Index(fields=["organization", "role"], name="membership_org_role_idx")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


def _invitation_expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)


class Invitation(TenantModel):
    """An invitation, sent by email, to join an organization with a role."""

    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    token = models.CharField(max_length=64, default=_invitation_token)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "token"], name="invitation_org_token_uniq"
            ),
        ]
        indexes = [models.Index(fields=["organization", "email"], name="invitation_org_email_idx")]

    def __str__(self) -> str:
        return self.email

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


class ActivityVerb(models.TextChoices):
    ORGANIZATION_CREATED = "organization.created", _("created the organization")
    ORGANIZATION_UPDATED = "organization.updated", _("updated the organization settings")
    MEMBER_INVITED = "member.invited", _("invited")
    MEMBER_JOINED = "member.joined", _("joined")
    MEMBER_ROLE_CHANGED = "member.role_changed", _("changed the role of")
    MEMBER_REMOVED = "member.removed", _("removed")
    INVITATION_REVOKED = "invitation.revoked", _("revoked the invitation of")


class ActivityEvent(TenantModel):
    """One line of an organization's activity feed: who did what, when."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    verb = models.CharField(max_length=40, choices=ActivityVerb.choices)
    target = models.CharField(max_length=300, blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("activity")
        verbose_name_plural = _("activity")
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="activity_org_created_idx"),
            models.Index(
                fields=["organization", "actor", "-created_at"], name="activity_org_actor_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_verb_display()}: {self.target}"


class Notification(TenantModel):
    """An in-app notification for one member (a task reminder, an assignment...)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    title = models.CharField(max_length=200)
    body = models.CharField(max_length=500, blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(
                fields=["organization", "user", "read_at", "-created_at"],
                name="notification_org_user_idx",
            )
        ]

    def __str__(self) -> str:
        return self.title
