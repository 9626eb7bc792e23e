"""The custom fields an admin adds to every customer: create, edit, delete."""

import pytest
from django.urls import reverse

from customers.models import Customer, CustomFieldDefinition
from tenancy.context import tenant_context
from tests.factories import CustomerFactory, CustomFieldDefinitionFactory


def _list_url(org) -> str:
    return reverse("customers:custom-field-list", args=[org.slug])


def _edit_url(definition) -> str:
    return reverse(
        "customers:custom-field-edit", args=[definition.organization.slug, definition.pk]
    )


def _delete_url(definition) -> str:
    return reverse(
        "customers:custom-field-delete", args=[definition.organization.slug, definition.pk]
    )


def _definitions(org) -> list[CustomFieldDefinition]:
    with tenant_context(org):
        return list(CustomFieldDefinition.objects.order_by("pk"))


def _field(label: str, field_type: str, **extra) -> dict:
    return {"label": label, "field_type": field_type, "position": 0, **extra}


@pytest.fixture
def admin(client_for, admin_a):
    return client_for(admin_a)


@pytest.mark.parametrize(
    ("posted", "key", "choices"),
    [
        (_field("Loyalty number", "text"), "loyalty_number", []),
        (_field("Seats", "number"), "seats", []),
        (_field("Contract end date", "date"), "contract_end_date", []),
        (
            _field("Contract tier", "choice", choices_text=" Bronze, Silver ,,Gold "),
            "contract_tier",
            ["Bronze", "Silver", "Gold"],
        ),
        (_field("Partner?", "boolean"), "partner", []),
        (_field("Größe & Ort", "text"), "groe_ort", []),
    ],
    ids=["text", "number", "date", "choice", "boolean", "non-ascii"],
)
def test_an_admin_adds_a_field_of_each_type(org_a, admin, posted, key, choices):
    response = admin.post(_list_url(org_a), {**posted, "required": "on", "help_text": "Help"})

    assert response.status_code == 302
    [definition] = _definitions(org_a)
    assert (definition.key, definition.label, definition.field_type) == (
        key,
        posted["label"],
        posted["field_type"],
    )
    assert definition.choices == choices
    assert (definition.required, definition.help_text) == (True, "Help")


def test_the_key_is_cut_to_forty_characters(org_a, admin):
    label = "Date of the last contract renewal with the account manager"  # 58 characters

    admin.post(_list_url(org_a), _field(label, "text"))

    [definition] = _definitions(org_a)
    assert definition.key == "date_of_the_last_contract_renewal_with_t"


@pytest.mark.parametrize("label", ["Loyalty number", "LOYALTY NUMBER", "Loyalty-number!"])
def test_a_duplicate_label_is_refused(org_a, admin, label):
    CustomFieldDefinitionFactory(organization=org_a, key="loyalty_number", label="Loyalty number")

    response = admin.post(_list_url(org_a), _field(label, "text"))

    assert response.status_code == 400
    assert "A custom field with this name already exists." in response.content.decode()
    assert len(_definitions(org_a)) == 1


def test_the_same_label_is_fine_in_another_organization(org_a, org_b, admin):
    CustomFieldDefinitionFactory(organization=org_b, key="loyalty_number", label="Loyalty number")

    response = admin.post(_list_url(org_a), _field("Loyalty number", "text"))

    assert response.status_code == 302
    assert [d.key for d in _definitions(org_a)] == ["loyalty_number"]


def test_a_label_without_letters_or_digits_is_refused(org_a, admin):
    response = admin.post(_list_url(org_a), _field("!!!", "text"))

    assert response.status_code == 400
    assert "Use at least one letter or digit in the label." in response.content.decode()
    assert _definitions(org_a) == []


def test_a_choice_field_needs_options(org_a, admin):
    response = admin.post(_list_url(org_a), _field("Tier", "choice", choices_text=" , ,"))

    assert response.status_code == 400
    assert "A choice field needs at least one option." in response.content.decode()
    assert _definitions(org_a) == []


def test_the_list_shows_the_fields(org_a, admin):
    CustomFieldDefinitionFactory(
        organization=org_a, label="Contract tier", field_type="choice", choices=["A", "B"]
    )

    html = admin.get(_list_url(org_a)).content.decode()

    assert "Contract tier" in html
    assert "A, B" in html


def test_editing_keeps_the_type_and_key_locked(org_a, admin):
    definition = CustomFieldDefinitionFactory(
        organization=org_a, key="seats", label="Seats", field_type="number"
    )

    page = admin.get(_edit_url(definition))
    response = admin.post(
        _edit_url(definition),
        _field("Licensed seats", "text", required="on", help_text="How many"),
    )

    assert page.context["form"].fields["field_type"].disabled
    assert response.status_code == 302
    [definition] = _definitions(org_a)
    assert (definition.key, definition.label, definition.field_type) == (
        "seats",
        "Licensed seats",
        "number",
    )
    assert (definition.required, definition.help_text) == (True, "How many")


def test_editing_a_choice_field_changes_its_options(org_a, admin):
    definition = CustomFieldDefinitionFactory(
        organization=org_a, key="tier", label="Tier", field_type="choice", choices=["A", "B"]
    )

    assert admin.get(_edit_url(definition)).context["form"]["choices_text"].value() == "A, B"
    admin.post(_edit_url(definition), _field("Tier", "choice", choices_text="A, B, C"))
    refused = admin.post(_edit_url(definition), _field("Tier", "choice", choices_text=""))

    assert refused.status_code == 400
    assert _definitions(org_a)[0].choices == ["A", "B", "C"]


def test_deleting_a_field_hides_its_values_but_keeps_them(org_a, admin, alice, client_for):
    definition = CustomFieldDefinitionFactory(
        organization=org_a, key="loyalty", label="Loyalty number"
    )
    customer = CustomerFactory(organization=org_a, custom={"loyalty": "L-100"})
    before = client_for(alice).get(customer.get_absolute_url()).content.decode()

    response = admin.post(_delete_url(definition))

    after = client_for(alice).get(customer.get_absolute_url()).content.decode()
    form = client_for(alice).get(reverse("customers:customer-edit", args=[org_a.slug, customer.pk]))
    assert response.status_code == 302
    assert _definitions(org_a) == []
    assert "Loyalty number" in before and "L-100" in before
    assert "Loyalty number" not in after and "L-100" not in after
    assert "cf_loyalty" not in form.context["form"].fields
    with tenant_context(org_a):
        assert Customer.objects.get().custom == {"loyalty": "L-100"}


def test_deleting_needs_a_post(org_a, admin):
    definition = CustomFieldDefinitionFactory(organization=org_a)

    assert admin.get(_delete_url(definition)).status_code == 405
    assert len(_definitions(org_a)) == 1


def test_only_admins_manage_custom_fields(org_a, alice, client_for):
    definition = CustomFieldDefinitionFactory(organization=org_a)
    manager = client_for(alice)

    assert manager.get(_list_url(org_a)).status_code == 403
    assert manager.post(_list_url(org_a), _field("Sneaky", "text")).status_code == 403
    assert manager.post(_delete_url(definition)).status_code == 403
    assert len(_definitions(org_a)) == 1
