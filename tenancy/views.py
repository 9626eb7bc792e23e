from copy import copy

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from crm_site.pagination import SortKey, keyset_page
from tenancy import selectors, services
from tenancy.context import tenant_context
from tenancy.forms import (
    AcceptInvitationForm,
    InvitationForm,
    NewOrganizationForm,
    OrganizationForm,
    RoleForm,
    SignupForm,
)
from tenancy.home import home_panels
from tenancy.models import Organization, User
from tenancy.permissions import Capability, require_capability

AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"


def root(request):
    """Send a signed-in user to their last organization, anyone else to the sign-in page."""
    if not request.user.is_authenticated:
        return redirect("login")
    memberships = selectors.membership_list_for_user(user=request.user)
    if not memberships:
        return render(request, "tenancy/no_organization.html")
    slugs = [m.organization.slug for m in memberships]
    last = request.session.get("last_org")
    return redirect("tenancy:home", org_slug=last if last in slugs else slugs[0])


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user, org = services.user_signup(
            email=data["email"],
            full_name=data["full_name"],
            password=data["password1"],
            organization_name=data["organization_name"],
        )
        login(request, user, backend=AUTH_BACKEND)
        messages.success(request, _("Welcome to Clientele! Invite your colleagues to get started."))
        return redirect("tenancy:members", org_slug=org.slug)
    return render(request, "registration/signup.html", {"form": form})


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout page (AXES_LOCKOUT_CALLABLE), stating the configured cool-off."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    context = {"cooloff_minutes": minutes}
    return render(request, "registration/locked_out.html", context, status=429)


@login_required
def organization_new(request):
    form = NewOrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        org = services.organization_create(
            name=form.cleaned_data["name"],
            currency=form.cleaned_data["currency"],
            creator=request.user,
        )
        messages.success(request, _("%(name)s is ready.") % {"name": org.name})
        return redirect(org)
    return render(request, "tenancy/organization_new.html", {"form": form})


@never_cache
def invitation_accept(request, org_slug: str, token: str):
    """Join an organization from an emailed link: as the signed-in user, or by creating one."""
    org = get_object_or_404(Organization, slug=org_slug)
    with tenant_context(org):
        invitation = selectors.invitation_get_by_token(org=org, token=token)
        if invitation is None:
            return render(request, "tenancy/invitation_invalid.html", status=404)
        user = request.user if request.user.is_authenticated else None
        existing = User.objects.filter(email__iexact=invitation.email).first()
        form = None
        if user is None and existing is None:
            form = AcceptInvitationForm(request.POST or None, email=invitation.email)
        if request.method == "POST":
            if user is not None:
                try:
                    services.invitation_accept(invitation=invitation, user=user)
                except ValidationError as error:
                    messages.error(request, error.messages[0])
                    return redirect(request.path)
                return redirect(org)
            if form is not None and form.is_valid():
                new_user = User.objects.create_user(
                    email=invitation.email,
                    password=form.cleaned_data["password1"],
                    full_name=form.cleaned_data["full_name"],
                )
                services.invitation_accept(invitation=invitation, user=new_user)
                login(request, new_user, backend=AUTH_BACKEND)
                return redirect(org)
        context = {"org": org, "invitation": invitation, "form": form, "existing": existing}
        return render(request, "tenancy/invitation_accept.html", context)


def org_home(request, org_slug: str):
    org, user = request.organization, request.user
    context = {
        "panels": home_panels(request),
        "my_activity": selectors.activity_list_for_actor(org=org, user=user, limit=8),
        "team_activity": selectors.activity_list(org=org, limit=12),
    }
    return render(request, "tenancy/home.html", context)


@require_capability(Capability.MANAGE_MEMBERS)
def member_list(request, org_slug: str):
    org = request.organization
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_create(
                org=org,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                by=request.user,
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as error:
            form.add_error("email", error)
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]}
            )
            return redirect("tenancy:members", org_slug=org.slug)
    context = {
        "members": selectors.membership_list(org=org),
        "invitations": selectors.invitation_pending_list(org=org),
        "form": form,
        "role_choices": RoleForm.base_fields["role"].choices,
    }
    return render(request, "tenancy/member_list.html", context, status=400 if form.errors else 200)


@require_POST
@require_capability(Capability.MANAGE_MEMBERS)
def member_role(request, org_slug: str, pk: int):
    membership = selectors.membership_get(org=request.organization, pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the listed roles."))
        return redirect("tenancy:members", org_slug=org_slug)
    try:
        services.membership_change_role(
            membership=membership, role=form.cleaned_data["role"], by=request.user
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("%(name)s's role was changed.") % {"name": membership.user})
    return redirect("tenancy:members", org_slug=org_slug)


@require_capability(Capability.MANAGE_MEMBERS)
def member_remove(request, org_slug: str, pk: int):
    membership = selectors.membership_get(org=request.organization, pk=pk)
    if request.method == "POST":
        try:
            services.membership_remove(membership=membership, by=request.user)
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            messages.success(request, _("%(name)s was removed.") % {"name": membership.user})
        if membership.user_id == request.user.pk and membership.pk is None:
            return redirect("home")
        return redirect("tenancy:members", org_slug=org_slug)
    return render(request, "tenancy/member_remove.html", {"member": membership})


@require_POST
@require_capability(Capability.MANAGE_MEMBERS)
def invitation_revoke(request, org_slug: str, pk: int):
    invitation = selectors.invitation_get(org=request.organization, pk=pk)
    services.invitation_revoke(invitation=invitation, by=request.user)
    messages.success(
        request, _("The invitation to %(email)s was revoked.") % {"email": invitation.email}
    )
    return redirect("tenancy:members", org_slug=org_slug)


@require_capability(Capability.MANAGE_SETTINGS)
def org_settings(request, org_slug: str):
    org = request.organization
    # A copy: validating a form writes the posted values into its instance, and the page's
    # title and organization switcher must keep showing the saved name after an invalid post.
    form = OrganizationForm(request.POST or None, instance=copy(org))
    if request.method == "POST" and form.is_valid():
        services.organization_update(
            org=org,
            name=form.cleaned_data["name"],
            currency=form.cleaned_data["currency"],
            by=request.user,
        )
        messages.success(request, _("Settings saved."))
        return redirect("tenancy:settings", org_slug=org.slug)
    return render(request, "tenancy/settings.html", {"form": form})


@require_GET
@never_cache
def healthz(request):
    """Database and broker status as JSON; 503 when either is down."""
    from crm_site.health import broker_status

    checks = {"database": _database_status(), "broker": broker_status()}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503
    )


def _database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as error:  # any driver error means "down"; report it, don't raise
        return {"ok": False, "vendor": connection.vendor, "error": str(error)[:200]}


# --- Notifications: every member has them; each sees only their own -------------------------


def notification_list(request, org_slug: str):
    """The notifications page; with htmx, the bell's menu (the newest few and the unread count)."""
    org, user = request.organization, request.user
    if request.htmx and request.htmx.target == "notification-menu":
        context = {
            "notifications": selectors.notification_latest(org=org, user=user),
            "unread_count": selectors.notification_unread_count(org=org, user=user),
        }
        return render(request, "tenancy/partials/notification_menu.html", context)
    page = keyset_page(
        selectors.notification_list(org=org, user=user),
        key=SortKey("created_at"),
        params=request.GET,
        base_url=reverse("tenancy:notification-list", kwargs={"org_slug": org.slug}),
        per_page=30,
        count=False,
    )
    return render(request, "tenancy/notification_list.html", {"page": page})


@require_POST
def notification_read(request, org_slug: str, pk: int):
    """Mark one notification read and follow its link (a path inside Clientele)."""
    notification = selectors.notification_get(org=request.organization, user=request.user, pk=pk)
    services.notification_mark_read(notification=notification)
    link = notification.link
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts=None):
        return redirect(link)
    return redirect("tenancy:notification-list", org_slug=org_slug)


@require_POST
def notification_read_all(request, org_slug: str):
    org = request.organization
    services.notifications_mark_all_read(org=org, user=request.user)
    if request.htmx:
        context = {
            "notifications": selectors.notification_latest(org=org, user=request.user),
            "unread_count": 0,
        }
        return render(request, "tenancy/partials/notification_menu.html", context)
    messages.success(request, _("All notifications are marked as read."))
    return redirect("tenancy:notification-list", org_slug=org_slug)
