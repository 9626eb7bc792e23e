"""Web-to-lead forms: the admin pages that build them, and the public endpoint visitors post to.

The public endpoint is outside /o/<slug>/ (crm_site/urls.py) since anyone may use it: it sets
the organization named in its URL itself, then finds the form by its token in that
organization only. It is the one view exempt from CSRF checks, since the posts come from the
company's own website; the honeypot field, the rate limit per address and the size limit stand
in for them.
"""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from sales.forms.lead_capture import PublicLeadForm
from sales.forms.lead_settings import WebFormForm
from sales.selectors import leads as selectors
from sales.services import lead_web_forms as services
from tenancy.context import tenant_context
from tenancy.models import Organization
from tenancy.permissions import Capability, require_capability


def _public_url(request, web_form) -> str:
    path = reverse(
        "web-form-submit", kwargs={"org_slug": request.organization.slug, "token": web_form.token}
    )
    return request.build_absolute_uri(path)


@require_capability(Capability.CONFIGURE_SALES)
def web_form_list(request, org_slug: str):
    forms = selectors.web_form_list(org=request.organization)
    return render(request, "sales/leads/web_forms/list.html", {"web_forms": forms})


@require_capability(Capability.CONFIGURE_SALES)
def web_form_create(request, org_slug: str):
    form = WebFormForm(
        request.POST or None,
        initial={"fields": ["first_name", "last_name", "email", "company", "notes"]},
    )
    if request.method == "POST" and form.is_valid():
        web_form = services.web_form_save(org=request.organization, data=form.cleaned_data)
        messages.success(request, _("Web form created. Copy its code onto your website."))
        return redirect("sales:web-form-edit", org_slug=org_slug, pk=web_form.pk)
    return render(
        request,
        "sales/leads/web_forms/form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@require_capability(Capability.CONFIGURE_SALES)
def web_form_edit(request, org_slug: str, pk: int):
    web_form = selectors.web_form_get(org=request.organization, pk=pk)
    form = WebFormForm(request.POST or None, instance=web_form)
    if request.method == "POST" and form.is_valid():
        services.web_form_save(org=request.organization, data=form.cleaned_data, web_form=web_form)
        messages.success(
            request, _("Web form saved. Copy the updated code if you changed the fields.")
        )
        return redirect("sales:web-form-edit", org_slug=org_slug, pk=web_form.pk)
    web_form.refresh_from_db()  # the snippet shows what is saved, not what failed to validate
    public_url = _public_url(request, web_form)
    context = {
        "form": form,
        "web_form": web_form,
        "public_url": public_url,
        "snippet": services.web_form_snippet(web_form=web_form, action_url=public_url),
    }
    return render(
        request, "sales/leads/web_forms/form.html", context, status=400 if form.errors else 200
    )


@require_POST
@require_capability(Capability.CONFIGURE_SALES)
def web_form_delete(request, org_slug: str, pk: int):
    web_form = selectors.web_form_get(org=request.organization, pk=pk)
    services.web_form_delete(web_form=web_form)
    messages.success(request, _("Web form deleted. Its leads are kept."))
    return redirect("sales:web-form-list", org_slug=org_slug)


# --- The public endpoint --------------------------------------------------------------------


def _page(request, template: str, context: dict, status: int = 200):
    return render(request, f"sales/leads/public/{template}", context, status=status)


def _error(request, title: str, text: str, status: int, **context):
    return _page(request, "error.html", {"title": title, "text": text, **context}, status=status)


def _back_url(request) -> str:
    referer = request.META.get("HTTP_REFERER", "")
    return referer if referer.lower().startswith(("https://", "http://")) else ""


@csrf_exempt
@require_http_methods(["GET", "POST"])
def web_form_submit(request, org_slug: str, token: str):
    """GET: the form on a page of its own. POST: a submission, from that page or the snippet."""
    org = Organization.objects.filter(slug=org_slug).first()
    not_found = (
        _("This form does not exist"),
        _("Check the address of the page, or contact the company another way."),
    )
    if org is None:
        return _error(request, *not_found, status=404)
    with tenant_context(org):
        web_form = selectors.web_form_get_by_token(org=org, token=token)
        if web_form is None:
            return _error(request, *not_found, status=404)
        if not web_form.is_active:
            return _error(
                request,
                _("This form is closed"),
                _("It no longer accepts submissions."),
                status=410,
                org=org,
            )
        if request.method == "GET":
            form = PublicLeadForm(web_form=web_form)
            return _page(request, "form.html", _form_context(request, org, web_form, form))
        return _submission(request, org, web_form)


def _form_context(request, org, web_form, form) -> dict:
    return {
        "org": org,
        "web_form": web_form,
        "form": form,
        "honeypot": services.HONEYPOT_FIELD,
        "back_url": _back_url(request),
    }


def _submission(request, org, web_form):
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = services.MAX_BODY_BYTES + 1
    if size > services.MAX_BODY_BYTES:
        return _error(
            request,
            _("Your message is too long"),
            _("Shorten it and send the form again."),
            status=413,
            org=org,
            back_url=_back_url(request),
        )
    if services.web_form_throttled(web_form=web_form, address=request.META.get("REMOTE_ADDR", "")):
        return _error(
            request,
            _("Too many submissions"),
            _("Please wait a few minutes before sending the form again."),
            status=429,
            org=org,
        )
    if request.POST.get(services.HONEYPOT_FIELD):
        return _thanks(request, org, web_form)  # a bot: it is told it worked, nothing is kept
    form = PublicLeadForm(request.POST, web_form=web_form)
    if not form.is_valid():
        context = _form_context(request, org, web_form, form)
        return _page(request, "invalid.html", context, status=400)
    services.web_form_submit(web_form=web_form, data=form.cleaned_data)
    return _thanks(request, org, web_form)


def _thanks(request, org, web_form):
    if web_form.redirect_url:
        return HttpResponseRedirect(web_form.redirect_url)
    return _page(request, "thanks.html", {"org": org, "web_form": web_form})
