"""`{% filter_field %}` (tenancy/templatetags/filter_fields.py): the filter panels' fields
rendered in Python, with the values chosen, the errors and the text escaped."""

from django import forms
from django.template import Context, Template


class FilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "---"), ("a", "A & B"), ("b", "<b>")]
    )
    stages = forms.MultipleChoiceField(
        label="Stage",
        required=False,
        choices=[("new", "New"), ("won", "Won")],
        widget=forms.CheckboxSelectMultiple,
    )
    tags = forms.MultipleChoiceField(
        label="Tags", required=False, choices=[("1", "One"), ("2", "Two")]
    )
    mine = forms.BooleanField(label="Only mine", required=False)
    yes_no = forms.NullBooleanField(label="Consented", required=False)
    amount = forms.DecimalField(label="Amount", required=False, help_text="In <EUR>")
    since = forms.DateField(
        label="Since", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    q = forms.CharField(label="Search", required=False)


def render(name: str, data: dict | None = None) -> str:
    form = FilterForm(data)
    if data is not None:
        form.is_valid()
    template = Template("{% load filter_fields %}{% filter_field field %}")
    return template.render(Context({"field": form[name]}))


def test_a_select_marks_the_chosen_option_and_escapes_labels():
    html = render("kind", {"kind": "a"})

    assert html.startswith('<div class="mb-2"><label class="form-label" for="id_kind">Kind</label>')
    assert '<select name="kind" class="form-select" id="id_kind">' in html
    assert '<option value="a" selected>A &amp; B</option>' in html
    assert '<option value="b">&lt;b&gt;</option>' in html


def test_a_multiple_select_and_a_checkbox_list_keep_every_choice():
    select = render("tags", {"tags": ["1", "2"]})
    boxes = render("stages", {"stages": ["won"]})

    assert "multiple" in select
    assert select.count(" selected>") == 2
    assert '<div class="form-label">Stage</div>' in boxes
    assert 'name="stages" value="won" class="form-check-input" id="id_stages_1" checked>' in boxes
    assert 'name="stages" value="new" class="form-check-input" id="id_stages_0">' in boxes


def test_a_checkbox_carries_its_label_beside_it():
    html = render("mine", {"mine": "on"})

    assert 'type="checkbox" name="mine" class="form-check-input" id="id_mine" checked>' in html
    assert '<label class="form-check-label" for="id_mine">Only mine</label></div>' in html
    assert '<label class="form-label"' not in html


def test_a_yes_no_select_shows_the_answer():
    assert '<option value="true" selected>' in render("yes_no", {"yes_no": "true"})


def test_a_bad_value_is_kept_marked_and_explained():
    html = render("amount", {"amount": "12abc"})

    assert 'name="amount" class="form-control is-invalid" value="12abc"' in html
    assert (
        '<div class="invalid-feedback d-block" id="id_amount_error">Enter a number.</div>' in html
    )
    assert 'aria-describedby="id_amount_helptext id_amount_error"' in html
    assert '<div class="form-text" id="id_amount_helptext">In &lt;EUR&gt;</div>' in html


def test_inputs_keep_their_type_and_value_escaped():
    assert 'type="date" name="since" class="form-control" value="2026-03-01"' in render(
        "since", {"since": "2026-03-01"}
    )
    html = render("q", {"q": '"><script>'})
    assert 'value="&quot;&gt;&lt;script&gt;"' in html
    assert "<script>" not in html
    assert 'type="text" name="q" class="form-control" id="id_q"' in render("q")
