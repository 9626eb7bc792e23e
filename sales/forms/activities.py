"""The task form, with related-record pickers that search instead of listing every record."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from customers.selectors import customer_base
from sales.models import Lead, Opportunity, Task
from sales.selectors.activities import TaskStatus, member_get, sales_members
from tenancy.models import Organization, User

DATETIME_INPUT = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_INPUT)


class RelatedSearchInput(forms.Widget):
    """A hidden input holding the record's id, and a search box that asks the server for
    matches as one types (static/js/activities.js fills the hidden input on a pick). Only the
    chosen record is ever rendered, so an organization with a million customers costs nothing."""

    def __init__(self, kind: str, placeholder: str, attrs=None) -> None:
        super().__init__(attrs)
        self.kind = kind
        self.placeholder = placeholder
        self.search_url = ""
        self.label_for: Callable[[object], str] = lambda value: ""

    def format_value(self, value) -> str:
        if value in (None, ""):
            return ""
        return str(getattr(value, "pk", value))

    def render(self, name, value, attrs=None, renderer=None):
        value = self.format_value(value)
        attrs = self.build_attrs(self.attrs, attrs)
        input_id = attrs.get("id", f"id_{name}")
        return format_html(
            '<div class="related-search" data-related-search>'
            '<input type="hidden" name="{name}" value="{value}" data-related-value>'
            '<input type="search" id="{id}" class="form-control{invalid}" value="{label}" '
            'placeholder="{placeholder}" autocomplete="off" spellcheck="false" maxlength="100" '
            'name="q" role="combobox" aria-autocomplete="list" aria-expanded="false" '
            'aria-controls="{id}_results" data-related-input '
            'hx-get="{url}?kind={kind}" hx-trigger="input changed delay:250ms" '
            'hx-target="#{id}_results" hx-sync="this:replace">'
            '<div class="list-group related-search-results shadow-sm" id="{id}_results"></div>'
            "</div>",
            name=name,
            value=value,
            id=input_id,
            invalid=" is-invalid" if "is-invalid" in attrs.get("class", "") else "",
            label=self.label_for(value) if value else "",
            placeholder=self.placeholder,
            url=self.search_url,
            kind=self.kind,
        )


class TaskForm(forms.ModelForm):
    """Title, due time, priority, assignee (a member of the organization), the records it is
    about and an optional reminder time."""

    # Declared, not generated: generating them would query the tenant-scoped managers when this
    # module is imported. __init__ gives each its organization's queryset.
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Assigned to"))
    customer = forms.ModelChoiceField(
        queryset=Customer.unscoped.none(), required=False, label=_("Customer")
    )
    opportunity = forms.ModelChoiceField(
        queryset=Opportunity.unscoped.none(), required=False, label=_("Opportunity")
    )
    lead = forms.ModelChoiceField(queryset=Lead.unscoped.none(), required=False, label=_("Lead"))

    class Meta:
        model = Task
        fields = [
            "title",
            "due_at",
            "priority",
            "assignee",
            "customer",
            "opportunity",
            "lead",
            "remind_at",
            "description",
        ]
        widgets = {
            "due_at": DateTimeLocalInput(),
            "remind_at": DateTimeLocalInput(),
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "remind_at": _("You get a notification and an email at this time."),
        }

    def __init__(self, *args, org: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.org = org
        for name in ("due_at", "remind_at"):
            self.fields[name].input_formats = [
                DATETIME_INPUT,
                "%Y-%m-%d %H:%M",
                "%Y-%m-%d %H:%M:%S",
            ]
        assignee = self.fields["assignee"]
        assignee.queryset = sales_members(org=org)
        assignee.empty_label = None
        search_url = reverse("sales:task-related-search", kwargs={"org_slug": org.slug})
        pickers = {
            "customer": (customer_base(org=org), _("Search customers by name, email or phone…")),
            "opportunity": (Opportunity.objects.all(), _("Search open opportunities by name…")),
            "lead": (Lead.objects.all(), _("Search leads by name or company…")),
        }
        for name, (queryset, placeholder) in pickers.items():
            field = self.fields[name]
            field.queryset = queryset
            field.widget = RelatedSearchInput(name, placeholder)
            field.widget.search_url = search_url
            field.widget.label_for = self._label_for(name)

    def _label_for(self, name: str) -> Callable[[object], str]:
        def label(value) -> str:
            # After validation the record is at hand; before it (an initial ?customer=), one
            # lookup, scoped to the organization like the field's queryset.
            record = self.cleaned_data.get(name) if hasattr(self, "cleaned_data") else None
            if record is None or str(record.pk) != str(value):
                try:
                    record = self.fields[name].queryset.filter(pk=int(value)).first()
                except (TypeError, ValueError):
                    record = None
            return _record_label(record) if record is not None else ""

        return label

    def clean(self) -> dict:
        data = super().clean()
        opportunity = data.get("opportunity")
        if (
            opportunity is not None
            and data.get("customer") is None
            and not self.has_error("customer")
        ):
            # A task about a deal is about its customer too (it shows on the customer's page).
            data["customer"] = opportunity.customer
        return data

    def service_data(self) -> dict:
        return dict(self.cleaned_data)


def _record_label(record) -> str:
    if isinstance(record, Lead):
        return record.full_name + (f" ({record.company})" if record.company else "")
    return str(record)


class TaskFilters:
    """The task list's filters from the query string; anything unexpected means the default.

    `status`: "open" (default) or "done". `who`: "me" (default), or for those who may look at
    others' work (`can_pick_member`) "all" or a member's id.
    """

    def __init__(self, params, *, org: Organization, user: User, can_pick_member: bool) -> None:
        self.status = (
            TaskStatus.DONE if params.get("status") == TaskStatus.DONE else TaskStatus.OPEN
        )
        who = params.get("who", "")
        self.member: User | None = user
        self.who = "me"
        if can_pick_member and who == "all":
            self.member, self.who = None, "all"
        elif can_pick_member and who not in ("", "me"):
            member = member_get(org=org, pk=who)
            if member is not None and member.pk != user.pk:
                self.member, self.who = member, str(member.pk)
