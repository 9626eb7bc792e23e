"""Template helpers of the record-keeping screens: history field names, the undo button."""

from django import template

from customers.history import custom_field_labels, field_label
from customers.merge import latest_undoable_merge
from customers.models import Customer, CustomerMerge, FieldChange

register = template.Library()


@register.simple_tag(takes_context=True)
def history_field_label(context, change: FieldChange) -> str:
    """The human name of a history line's field; custom field labels are read once a render."""
    if not change.field:
        return ""
    labels = context.render_context.get("custom_field_labels")
    if labels is None and change.field.startswith("custom."):
        labels = context.render_context["custom_field_labels"] = custom_field_labels()
    return field_label(change.entity, change.field, labels or {})


@register.simple_tag
def undoable_merge(customer: Customer) -> CustomerMerge | None:
    """The latest merge into `customer` that can still be undone (for the undo button)."""
    return latest_undoable_merge(customer)
