"""`{% filter_field field %}`: one field of a list page's filter panel, rendered in Python.

The filter panels of the busiest lists (customers, leads, orders) have ten to twenty fields.
Through crispy-forms each field renders five or six templates (the field, its widget, every
option, its attributes, its help text and errors): 24 ms of the customer list's 60 at a million
customers. This tag gives the same Bootstrap 5 markup (label, control, `is-invalid` and the
error text, help text) from the widget's own context, without a template per part. Widgets it
knows: selects (single, multiple, yes/no), checkbox lists, single checkboxes and inputs (text,
search, number, date, month, email); any other widget falls back to the widget's own render.
"""

from django import forms, template
from django.forms.widgets import Input
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _attrs(attrs: dict) -> SafeString:
    """HTML attributes: True as a bare name, False and None left out."""
    parts = []
    for name, value in attrs.items():
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        elif value is not False and value is not None:
            parts.append(f' {conditional_escape(name)}="{conditional_escape(value)}"')
    return mark_safe("".join(parts))  # noqa: S308 - every part went through conditional_escape


def _options(widget_context: dict) -> SafeString:
    # f-strings rather than format_html: its per-argument checks cost more than the escaping,
    # over the panel's hundred-odd options.
    options = []
    for group_name, group, _index in widget_context["optgroups"]:
        rendered = "".join(
            f"<option{_attrs({'value': option['value'], 'selected': option['selected']})}>"
            f"{conditional_escape(option['label'])}</option>"
            for option in group
        )
        options.append(
            f'<optgroup label="{conditional_escape(group_name)}">{rendered}</optgroup>'
            if group_name
            else rendered
        )
    return mark_safe("".join(options))  # noqa: S308 - every part went through conditional_escape


def _control(field: forms.BoundField, invalid: str) -> SafeString:
    widget = field.field.widget
    attrs = field.build_widget_attrs({"id": field.auto_id, **widget.attrs})
    context = widget.get_context(field.html_name, field.value(), attrs)["widget"]
    html_attrs = dict(context["attrs"])
    if isinstance(widget, forms.CheckboxSelectMultiple):
        boxes = []
        for _group, group, _index in context["optgroups"]:
            for option in group:
                box_id = f"{field.auto_id}_{option['index']}"
                boxes.append(
                    format_html(
                        '<div class="form-check"><input type="checkbox" name="{}" value="{}" '
                        'class="form-check-input{}" id="{}"{}><label class="form-check-label" '
                        'for="{}">{}</label></div>',
                        field.html_name,
                        option["value"],
                        invalid,
                        box_id,
                        _attrs({"checked": option["selected"]}),
                        box_id,
                        option["label"],
                    )
                )
        return mark_safe("".join(boxes))  # noqa: S308 - built with format_html
    if isinstance(widget, forms.Select):  # Select, SelectMultiple, NullBooleanSelect
        html_attrs["multiple"] = bool(widget.allow_multiple_selected)
        html_attrs.pop("class", None)
        return format_html(
            '<select name="{}" class="form-select{}"{}>{}</select>',
            field.html_name,
            invalid,
            _attrs(html_attrs),
            _options(context),
        )
    if isinstance(widget, forms.CheckboxInput):
        html_attrs["checked"] = bool(html_attrs.get("checked"))
        return format_html(
            '<div class="form-check"><input type="checkbox" name="{}" class="form-check-input{}"{}>'
            "</div>",
            field.html_name,
            invalid,
            _attrs(html_attrs),
        )
    if isinstance(widget, Input):
        html_attrs.pop("class", None)
        return format_html(
            '<input type="{}" name="{}" class="form-control{}"{}{}>',
            context["type"],
            field.html_name,
            invalid,
            _attrs({"value": context["value"]} if context["value"] is not None else {}),
            _attrs(html_attrs),
        )
    return field.as_widget()


@register.simple_tag
def filter_field(field: forms.BoundField) -> SafeString:
    """The field's label, control, errors and help text, as crispy's Bootstrap 5 pack has them."""
    invalid = " is-invalid" if field.errors else ""
    is_checkbox = isinstance(field.field.widget, forms.CheckboxInput)
    if not field.label or is_checkbox:
        label = ""
    elif isinstance(field.field.widget, forms.CheckboxSelectMultiple):  # a group: no one control
        label = format_html('<div class="form-label">{}</div>', field.label)
    else:
        label = format_html(
            '<label class="form-label" for="{}">{}</label>', field.auto_id, field.label
        )
    control = _control(field, invalid)
    if is_checkbox:  # the label beside the box, inside the form-check
        control = mark_safe(  # noqa: S308 - both parts are safe strings
            control.replace(
                "</div>",
                format_html(
                    '<label class="form-check-label" for="{}">{}</label></div>',
                    field.auto_id,
                    field.label,
                ),
                1,
            )
        )
    messages = list(field.errors)
    errors = format_html_join(  # the id that Django's aria-describedby points at
        "",
        '<div class="invalid-feedback d-block" id="{}_error">{}</div>',
        ((field.auto_id, error) for error in messages[:1]),
    )
    errors += format_html_join(
        "", '<div class="invalid-feedback d-block">{}</div>', ((e,) for e in messages[1:])
    )
    help_text = (
        format_html(
            '<div class="form-text" id="{}_helptext">{}</div>', field.auto_id, field.help_text
        )
        if field.help_text
        else ""
    )
    return format_html('<div class="mb-2">{}{}{}{}</div>', label, control, errors, help_text)
