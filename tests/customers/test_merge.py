"""Duplicates: detection at scale, dismissal, the merge screen, merging and undoing a merge."""

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers import merge as merging
from customers import services
from customers.matching import normalize_email, normalize_phone
from customers.models import (
    ChangeAction,
    ConsentEvent,
    Contact,
    Customer,
    CustomerMerge,
    CustomerTag,
    DuplicateDismissal,
    FieldChange,
    Interaction,
)
from tenancy.context import tenant_context
from tenancy.permissions import Role
from tests.customers.conftest import HTMX
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    CustomFieldDefinitionFactory,
    InteractionFactory,
    TagFactory,
)

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="trigram similarity is a PostgreSQL feature"
)


def make_customer(org, name: str, *, email: str = "", phone: str = "", **fields) -> Customer:
    """A customer as the services store it (normalized email and phone)."""
    return CustomerFactory(
        organization=org,
        name=name,
        email=normalize_email(email),
        phone=phone,
        phone_normalized=normalize_phone(phone),
        **fields,
    )


def pair_keys(page) -> set[tuple[int, int]]:
    return {pair.key for pair in page.pairs}


def reasons_of(page, a, b) -> set[str]:
    pair = next(p for p in page.pairs if p.key == (min(a.pk, b.pk), max(a.pk, b.pk)))
    return {r.kind.value for r in pair.reasons}


def _merge_url(org, a, b) -> str:
    return reverse("customers:customer-merge", args=[org.slug]) + f"?a={a.pk}&b={b.pk}"


# --- Detection --------------------------------------------------------------------------------


def test_it_finds_customers_sharing_an_email_address(org_a):
    first = make_customer(org_a, "Northwind Trading", email="buyer@northwind.example")
    second = make_customer(org_a, "Contoso Retail", email="Buyer@Northwind.example ")
    make_customer(org_a, "Fabrikam", email="hello@fabrikam.example")

    with tenant_context(org_a):
        page = merging.duplicate_page(reason="email")

    assert pair_keys(page) == {(first.pk, second.pk)}
    assert reasons_of(page, first, second) == {"email"}


def test_it_finds_customers_sharing_a_phone_number_however_it_is_written(org_a):
    first = make_customer(org_a, "Tailspin Toys", phone="+1 (555) 010-2000")
    second = make_customer(org_a, "Wingtip Toys", phone="1 555 010 2000")
    make_customer(org_a, "Litware", phone="+1 555 999 0000")

    with tenant_context(org_a):
        page = merging.duplicate_page(reason="phone")

    assert pair_keys(page) == {(first.pk, second.pk)}
    assert reasons_of(page, first, second) == {"phone"}


def test_it_finds_the_same_name_written_differently(org_a):
    first = make_customer(org_a, "Acme Corporation")
    second = make_customer(org_a, "ACME Corp.")
    make_customer(org_a, "Blue Yonder Airlines")

    with tenant_context(org_a):
        page = merging.duplicate_page(reason="name")

    assert pair_keys(page) == {(first.pk, second.pk)}
    assert reasons_of(page, first, second) == {"name"}


@postgresql_only
def test_it_finds_similar_names_with_their_similarity_on_postgresql(org_a):
    first = make_customer(org_a, "Jonathan Smithers")
    second = make_customer(org_a, "Jonathon Smithers")
    make_customer(org_a, "Margaret Whitfield")

    with tenant_context(org_a):
        page = merging.duplicate_page(reason="name")

    assert pair_keys(page) == {(first.pk, second.pk)}
    score = page.pairs[0].reasons[0].score
    assert merging.NAME_SIMILARITY <= score < 1


def test_the_overview_combines_every_reason_a_pair_matches(org_a):
    first = make_customer(
        org_a, "Globex Inc", email="info@globex.example", phone="+44 20 7946 0000"
    )
    second = make_customer(org_a, "GLOBEX, Inc.", email="info@globex.example", phone="442079460000")

    with tenant_context(org_a):
        page = merging.duplicate_page()

    assert pair_keys(page) == {(first.pk, second.pk)}
    assert reasons_of(page, first, second) == {"email", "phone", "name"}


def test_it_pairs_each_member_of_a_group_with_the_oldest(org_a):
    members = [
        make_customer(org_a, name, email="shared@example.com")
        for name in ("Alpha Ltd", "Bravo Ltd", "Charlie Ltd")
    ]

    with tenant_context(org_a):
        page = merging.duplicate_page(reason="email")

    oldest = members[0].pk
    assert pair_keys(page) == {(oldest, members[1].pk), (oldest, members[2].pk)}


def test_it_ignores_other_organizations(org_a, org_b):
    mine = make_customer(org_a, "Initech", email="it@initech.example")
    make_customer(org_b, "Initech", email="it@initech.example")
    make_customer(org_b, "Initrode", email="x@initrode.example")
    make_customer(org_b, "Initrode Two", email="x@initrode.example")

    with tenant_context(org_a):
        page = merging.duplicate_page()
        of_mine = merging.duplicates_of(mine)

    assert page.pairs == []
    assert of_mine == []


def test_it_leaves_out_dismissed_merged_and_erased_customers(org_a, alice):
    first = make_customer(org_a, "Soylent", email="a@soylent.example")
    second = make_customer(org_a, "Soylent Green", email="a@soylent.example")
    kept = make_customer(org_a, "Umbrella", email="u@umbrella.example")
    make_customer(org_a, "Umbrella Corp", email="u@umbrella.example", merged_into=kept)
    make_customer(org_a, "Vandelay", email="v@vandelay.example")
    make_customer(org_a, "Vandelay", email="v@vandelay.example", erased_at=timezone.now())

    with tenant_context(org_a):
        assert pair_keys(merging.duplicate_page(reason="email")) == {(first.pk, second.pk)}
        merging.duplicate_dismiss(a=second, b=first, by=alice)
        assert merging.duplicate_page().pairs == []
        assert merging.duplicates_of(first) == []

    with tenant_context(org_a):
        dismissal = DuplicateDismissal.objects.get()
    assert (dismissal.customer_a_id, dismissal.customer_b_id) == (first.pk, second.pk)


def test_a_dismissed_pair_lets_the_other_members_of_the_group_pair_up(org_a, alice):
    one, two, three = (
        make_customer(org_a, name, email="team@example.com") for name in ("One", "Two", "Three")
    )

    with tenant_context(org_a):
        merging.duplicate_dismiss(a=one, b=three, by=alice)
        page = merging.duplicate_page(reason="email")

    assert pair_keys(page) == {(one.pk, two.pk), (two.pk, three.pk)}


@pytest.mark.parametrize("reason", ["email", "phone", "name"])
def test_walking_the_pages_finds_every_pair_once(org_a, reason, monkeypatch):
    monkeypatch.setattr(merging, "NAME_SCAN_ROWS", 4)  # several scan windows on PostgreSQL
    expected = set()
    names = ["Quartz", "Basalt", "Granite", "Marble", "Slate"]
    for n, word in enumerate(names):
        fields = {
            "email": {"email": f"group{n}@example.com"},
            "phone": {"phone": f"+1 555 000 {n:04d}"},
            "name": {},
        }[reason]
        first = make_customer(org_a, f"{word} Holdings", **fields)
        second = make_customer(org_a, f"{word.upper()} Holdings Ltd.", **fields)
        expected.add((first.pk, second.pk))

    found, cursor, pages = [], "", 0
    with tenant_context(org_a):
        while True:
            page = merging.duplicate_page(reason=reason, cursor=cursor, per_page=2)
            found += [pair.key for pair in page.pairs]
            pages += 1
            cursor = page.next_cursors.get(reason, "")
            if not cursor or pages > 20:
                break

    assert sorted(found) == sorted(expected)
    assert pages >= 3


def test_a_tampered_cursor_starts_from_the_beginning(org_a):
    first = make_customer(org_a, "Stark", email="s@stark.example")
    second = make_customer(org_a, "Stark Industries", email="s@stark.example")

    with tenant_context(org_a):
        for cursor in ("not-a-cursor", "W10", "WzEsMiwzXQ"):
            for reason in ("email", "name"):
                merging.duplicate_page(reason=reason, cursor=cursor)
        page = merging.duplicate_page(reason="email", cursor="garbage!!")

    assert pair_keys(page) == {(first.pk, second.pk)}


def test_duplicates_of_one_customer_says_why(org_a):
    customer = make_customer(org_a, "Wayne Enterprises", email="bruce@wayne.example")
    by_email = make_customer(org_a, "Bruce W.", email="bruce@wayne.example")
    by_name = make_customer(org_a, "WAYNE Enterprises, Inc.")
    make_customer(org_a, "Oscorp")

    with tenant_context(org_a):
        pairs = merging.duplicates_of(customer)

    assert {pair.b.pk: {r.kind.value for r in pair.reasons} for pair in pairs} == {
        by_email.pk: {"email"},
        by_name.pk: {"name"},
    }


# --- Merging ----------------------------------------------------------------------------------


@pytest.fixture
def two_records(org_a, alice, bob):
    """Jane's record twice: the old one (a) and a newer, fuller one (b), each with things."""
    CustomFieldDefinitionFactory(organization=org_a, key="loyalty", label="Loyalty number")
    vip, newsletter, lead = (
        TagFactory(organization=org_a, name=n) for n in ("VIP", "Newsletter", "Lead")
    )
    a = make_customer(
        org_a,
        "Jane Doe",
        email="jane@doe.example",
        kind="individual",
        city="Lyon",
        owner=alice,
        custom={"loyalty": "L-1"},
        tags=[vip, newsletter],
        created_at=timezone.now() - timedelta(days=400),
    )
    b = make_customer(
        org_a,
        "Jane M. Doe",
        email="jane@doe.example",
        phone="+33 6 12 34 56 78",
        kind="individual",
        city="Paris",
        region="Île-de-France",
        owner=bob,
        custom={"loyalty": "L-2", "shoe_size": "38"},
        tags=[newsletter, lead],
    )
    a_primary = ContactFactory(customer=a, first_name="Jane", is_primary=True)
    b_primary = ContactFactory(customer=b, first_name="Janie", is_primary=True)
    b_other = ContactFactory(customer=b, first_name="Assistant")
    a_call = InteractionFactory(customer=a, subject="First call")
    b_calls = [InteractionFactory(customer=b, subject=f"Call {n}") for n in range(3)]
    with tenant_context(org_a):
        services.customer_set_consent(
            customer=a, channel="email", state="granted", source="web form", by=None
        )
        ConsentEvent.objects.filter(customer=a).update(
            recorded_at=timezone.now() - timedelta(days=30)
        )
        Customer.objects.filter(pk=a.pk).update(
            consent_email_at=timezone.now() - timedelta(days=30)
        )
        services.customer_set_consent(
            customer=b, channel="email", state="withdrawn", source="unsubscribe link", by=None
        )
        a.refresh_from_db()
        b.refresh_from_db()
    return {
        "a": a,
        "b": b,
        "tags": (vip, newsletter, lead),
        "contacts": (a_primary, b_primary, b_other),
        "interactions": (a_call, *b_calls),
    }


def state_of(org, *customers) -> dict:
    """Everything a merge touches, to compare before and after an undo."""
    with tenant_context(org):
        state = {}
        for c in customers:
            c = Customer.objects.get(pk=c.pk)
            fields = {f.attname: getattr(c, f.attname) for f in Customer._meta.concrete_fields}
            fields.pop("updated_at")
            state[c.pk] = {
                "fields": fields,
                "contacts": sorted(
                    Contact.objects.filter(customer=c).values_list("pk", "is_primary")
                ),
                "interactions": sorted(
                    Interaction.objects.filter(customer=c).values_list("pk", flat=True)
                ),
                "tags": sorted(
                    CustomerTag.objects.filter(customer=c).values_list("tag", flat=True)
                ),
                "consent": sorted(
                    ConsentEvent.objects.filter(customer=c).values_list("pk", flat=True)
                ),
            }
        return state


def test_merging_moves_everything_to_the_survivor(org_a, alice, two_records):
    a, b = two_records["a"], two_records["b"]
    vip, newsletter, lead = two_records["tags"]

    with tenant_context(org_a):
        merge = merging.customers_merge(
            survivor=a,
            merged=b,
            choices={"city": b.pk, "custom.loyalty": b.pk, "owner": a.pk},
            by=alice,
        )
        a.refresh_from_db()
        b.refresh_from_db()
        contacts = dict(Contact.objects.filter(customer=a).values_list("first_name", "is_primary"))
        interactions = set(Interaction.objects.filter(customer=a).values_list("pk", flat=True))
        tags = set(CustomerTag.objects.filter(customer=a).values_list("tag_id", flat=True))
        consent = ConsentEvent.objects.filter(customer=a).count()
        leftovers = [
            model.objects.filter(customer=b).count()
            for model in (Contact, Interaction, CustomerTag, ConsentEvent)
        ]

    assert (a.name, a.city, a.region, a.phone, a.owner_id) == (
        "Jane Doe",
        "Paris",
        "Île-de-France",
        "+33 6 12 34 56 78",
        alice.pk,
    )
    assert a.phone_normalized == "33612345678"
    assert a.custom == {"loyalty": "L-2", "shoe_size": "38"}
    assert a.consent_email == "withdrawn"  # b's more recent word wins
    assert a.created_at == min(a.created_at, b.created_at)
    assert contacts == {"Jane": True, "Janie": False, "Assistant": False}
    assert interactions == {i.pk for i in two_records["interactions"]}
    assert tags == {vip.pk, newsletter.pk, lead.pk}
    assert consent == 2
    assert leftovers == [0, 0, 0, 0]
    assert b.merged_into_id == a.pk
    assert (merge.survivor_id, merge.merged_id, merge.merged_by_id) == (a.pk, b.pk, alice.pk)


def test_a_merge_is_recorded_in_the_history_of_both(org_a, alice, two_records):
    a, b = two_records["a"], two_records["b"]

    with tenant_context(org_a):
        merging.customers_merge(survivor=a, merged=b, choices={"city": b.pk}, by=alice)
        survivor = list(
            FieldChange.objects.filter(entity="customer", entity_id=a.pk, action="merge")
        )
        merged = list(FieldChange.objects.filter(entity="customer", entity_id=b.pk, action="merge"))

    notes = [c.new_value for c in survivor if not c.field]
    assert notes == [f"Customer #{b.pk} was merged into this one."]
    assert {c.field: (c.old_value, c.new_value) for c in survivor if c.field}["city"] == (
        "Lyon",
        "Paris",
    )
    assert [(c.field, c.new_value, c.changed_by_id) for c in merged] == [
        ("", f"Merged into customer #{a.pk}.", alice.pk)
    ]


def test_it_refuses_bad_merges(org_a, alice, two_records):
    a, b = two_records["a"], two_records["b"]
    third = make_customer(org_a, "Someone Else")
    erased = make_customer(org_a, "Gone", erased_at=timezone.now())

    with tenant_context(org_a):
        for survivor, merged, choices in [
            (a, a, {}),
            (a, erased, {}),
            (a, b, {"city": third.pk}),
            (a, b, {"organization": b.pk}),
            (a, b, {"custom.nope": b.pk}),
        ]:
            with pytest.raises(merging.MergeError):
                merging.customers_merge(survivor=survivor, merged=merged, choices=choices, by=alice)
        merging.customers_merge(survivor=a, merged=b, choices={}, by=alice)
        with pytest.raises(merging.MergeError, match="already merged"):
            merging.customers_merge(survivor=third, merged=b, choices={}, by=alice)
        assert CustomerMerge.objects.count() == 1


def test_other_apps_register_their_rows_and_get_them_back_on_undo(
    org_a, alice, two_records, monkeypatch
):
    monkeypatch.setattr(merging, "MERGE_MOVERS", list(merging.MERGE_MOVERS))
    calls = []

    def undo(*, survivor, merged, moved):
        calls.append(("undo", survivor.pk, merged.pk, moved))

    @merging.merge_mover("orders", undo=undo)
    def move(*, survivor, merged):
        calls.append(("move", survivor.pk, merged.pk))
        return [101, 102]

    a, b = two_records["a"], two_records["b"]
    with tenant_context(org_a):
        merge = merging.customers_merge(survivor=a, merged=b, choices={}, by=alice)
        merging.merge_undo(merge=merge, by=alice)

    assert merge.moved["orders"] == [101, 102]
    assert calls == [("move", a.pk, b.pk), ("undo", a.pk, b.pk, [101, 102])]


# --- Undoing ----------------------------------------------------------------------------------


def test_undo_restores_both_records_exactly(org_a, alice, two_records):
    a, b = two_records["a"], two_records["b"]
    before = state_of(org_a, a, b)

    with tenant_context(org_a):
        merge = merging.customers_merge(
            survivor=a,
            merged=b,
            choices={"name": b.pk, "city": b.pk, "owner": b.pk, "custom.loyalty": b.pk},
            by=alice,
        )
        kept = merging.merge_undo(merge=merge, by=alice)
        merge.refresh_from_db()
        undo_events = FieldChange.objects.filter(action=ChangeAction.UNDO, field="").count()

    assert kept == []
    assert state_of(org_a, a, b) == before
    assert merge.undone_at is not None
    assert undo_events == 2


def test_undo_keeps_what_was_changed_after_the_merge(org_a, alice, two_records):
    a, b = two_records["a"], two_records["b"]

    with tenant_context(org_a):
        merge = merging.customers_merge(
            survivor=a, merged=b, choices={"city": b.pk, "region": b.pk}, by=alice
        )
        a.refresh_from_db()
        services.customer_update(customer=a, by=alice, data={"city": "Marseille"})
        call_after_merge = InteractionFactory(customer=a, subject="After the merge")
        kept = merging.merge_undo(merge=merge, by=alice)
        a.refresh_from_db()

    assert kept == ["city"]
    assert (a.city, a.region) == ("Marseille", "")
    with tenant_context(org_a):
        assert Interaction.objects.get(pk=call_after_merge.pk).customer_id == a.pk


def test_undo_is_refused_when_it_is_no_longer_safe(org_a, alice, two_records):
    a, b = two_records["a"], two_records["b"]
    later = make_customer(org_a, "Jane D.")
    other = make_customer(org_a, "Jane Doe (old CRM)")

    with tenant_context(org_a):
        merge = merging.customers_merge(survivor=a, merged=b, choices={}, by=alice)
        second = merging.customers_merge(survivor=a, merged=later, choices={}, by=alice)
        with pytest.raises(merging.MergeError, match="undo that merge first"):
            merging.merge_undo(merge=merge, by=alice)
        merging.merge_undo(merge=second, by=alice)
        with pytest.raises(merging.MergeError, match="already undone"):
            merging.merge_undo(merge=second, by=alice)

        third = merging.customers_merge(survivor=other, merged=a, choices={}, by=alice)
        with pytest.raises(merging.MergeError, match="itself merged"):
            merging.merge_undo(merge=merge, by=alice)
        merging.merge_undo(merge=third, by=alice)
        merging.merge_undo(merge=merge, by=alice)  # in reverse order, every undo works

        assert Customer.objects.filter(merged_into__isnull=False).count() == 0


def test_the_latest_undoable_merge_is_offered(org_a, alice, two_records):
    a, b = two_records["a"], two_records["b"]

    with tenant_context(org_a):
        assert merging.latest_undoable_merge(a) is None
        merge = merging.customers_merge(survivor=a, merged=b, choices={}, by=alice)
        assert merging.latest_undoable_merge(a) == merge
        merges = merging.merges_of(b)
        merging.merge_undo(merge=merge, by=alice)
        assert merging.latest_undoable_merge(a) is None

    assert [(m.pk, m.undo_problem) for m in merges] == [(merge.pk, "")]


# --- Views ------------------------------------------------------------------------------------


def _groups(org, count: int, *, start: int = 0) -> None:
    """`count` pairs of duplicates, each matching by email, phone and name."""
    for n in range(start, start + count):
        word = "".join(chr(97 + b % 26) for b in hashlib.sha256(str(n).encode()).digest()[:9])
        for name in (word.capitalize(), f"{word.upper()} Ltd"):
            make_customer(org, name, email=f"p{n}@example.com", phone=f"+1 555 1{n:06d}")


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMIN, 200),
        (Role.MANAGER, 200),
        (Role.SALES, 403),
        (Role.SUPPORT, 403),
        (Role.MARKETING, 403),
    ],
)
def test_the_duplicates_page_is_for_admins_and_managers(role, status, org_a, member_of, client_for):
    _groups(org_a, 2)
    user = member_of(org_a, role)

    response = client_for(user).get(reverse("customers:duplicate-list", args=[org_a.slug]))

    assert response.status_code == status
    if status == 200:
        assert response.content.decode().count('data-testid="duplicate-pair"') == 2


def test_the_sidebar_links_to_duplicates_for_those_who_may_merge(org_a, alice, bob, client_for):
    link = reverse("customers:duplicate-list", args=[org_a.slug])
    home = reverse("tenancy:home", args=[org_a.slug])

    assert f'href="{link}"' in client_for(alice).get(home).content.decode()
    assert f'href="{link}"' not in client_for(bob).get(home).content.decode()


def test_the_duplicates_page_says_why_and_links_to_the_merge_screen(org_a, alice, client_for):
    first = make_customer(org_a, "Hooli", email="gavin@hooli.example")
    second = make_customer(org_a, "Hooli XYZ", email="gavin@hooli.example")

    response = client_for(alice).get(reverse("customers:duplicate-list", args=[org_a.slug]))

    html = response.content.decode()
    assert "Same email" in html
    assert f"?a={first.pk}&amp;b={second.pk}" in html


def test_the_duplicates_page_shows_more_a_page_at_a_time(org_a, alice, client_for, monkeypatch):
    from customers import views_records

    monkeypatch.setattr(views_records, "DUPLICATES_PER_PAGE", 3)
    _groups(org_a, 5)
    client = client_for(alice)
    url = reverse("customers:duplicate-list", args=[org_a.slug])

    first = client.get(url, {"reason": "email"}).content.decode()
    more = first.split('id="duplicates-more"')[1].split('href="')[1].split('"')[0]
    second = client.get(more.replace("&amp;", "&"), headers=HTMX).content.decode()

    assert first.count('data-testid="duplicate-pair"') == 3
    assert second.count('data-testid="duplicate-pair"') == 2
    assert "<html" not in second


def test_the_duplicates_page_for_one_customer(org_a, alice, client_for):
    customer = make_customer(org_a, "Pied Piper", email="richard@piedpiper.example")
    make_customer(org_a, "Pied Piper Inc.", phone="+1 555 0100")
    make_customer(org_a, "Aviato", email="richard@piedpiper.example")

    response = client_for(alice).get(
        reverse("customers:duplicate-list", args=[org_a.slug]), {"customer": customer.pk}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="duplicate-pair"') == 2
    assert "Possible duplicates of Pied Piper" in html


def test_the_duplicates_page_for_another_organizations_customer_is_404(
    org_a, org_b, alice, client_for
):
    theirs = make_customer(org_b, "Their customer")

    response = client_for(alice).get(
        reverse("customers:duplicate-list", args=[org_a.slug]), {"customer": theirs.pk}
    )

    assert response.status_code == 404


@pytest.mark.parametrize("reason", ["", "email"])
def test_the_duplicates_page_costs_the_same_for_5_or_50_groups(
    reason, org_a, org_b, alice, client_for
):
    client = client_for(alice)
    url = reverse("customers:duplicate-list", args=[org_a.slug])
    _groups(org_a, 5)
    client.get(url)  # the first visit also saves the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(url, {"reason": reason}).status_code == 200
    _groups(org_a, 45, start=5)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url, {"reason": reason})

    assert response.content.decode().count('data-testid="duplicate-pair"') >= 20
    assert len(many) == len(few)
    assert len(many) <= 17  # on PostgreSQL: + setting and resetting the tenant, + the bell


def test_dismissing_a_pair_hides_it(org_a, alice, client_for):
    first = make_customer(org_a, "Dunder Mifflin", email="sales@dm.example")
    second = make_customer(org_a, "Dunder-Mifflin Paper", email="sales@dm.example")
    client = client_for(alice)
    url = reverse("customers:duplicate-dismiss", args=[org_a.slug])

    response = client.post(url, {"a": second.pk, "b": first.pk}, headers=HTMX)

    assert response.status_code == 200
    assert response.content == b""
    listing = client.get(reverse("customers:duplicate-list", args=[org_a.slug]))
    assert 'data-testid="duplicate-pair"' not in listing.content.decode()


@pytest.mark.parametrize("data", [{}, {"a": "x", "b": "1"}, {"a": "5", "b": "5"}])
def test_dismissing_with_bad_input_explains(data, org_a, alice, client_for):
    response = client_for(alice).post(
        reverse("customers:duplicate-dismiss", args=[org_a.slug]), data, follow=True
    )

    assert response.status_code == 200
    assert "Pick two different customers." in response.content.decode()


def test_dismissing_another_organizations_pair_is_404(org_a, org_b, alice, client_for):
    first, second = make_customer(org_b, "B one"), make_customer(org_b, "B two")

    response = client_for(alice).post(
        reverse("customers:duplicate-dismiss", args=[org_a.slug]), {"a": first.pk, "b": second.pk}
    )

    assert response.status_code == 404
    with tenant_context(org_b):
        assert DuplicateDismissal.objects.count() == 0


def test_the_merge_screen_compares_side_by_side(org_a, alice, client_for, two_records):
    a, b = two_records["a"], two_records["b"]

    response = client_for(alice).get(_merge_url(org_a, a, b))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="merge-row-city"' in html  # differs: a choice, highlighted
    assert 'data-testid="merge-row-email"' not in html  # the same in both
    assert "Loyalty number" in html
    assert "L-1" in html and "L-2" in html
    assert 'name="keep__city" id="keep-' in html
    assert "2 contacts" in html and "3 interactions" in html


def test_merging_through_the_screen(org_a, alice, client_for, two_records):
    a, b = two_records["a"], two_records["b"]
    client = client_for(alice)

    response = client.post(
        _merge_url(org_a, a, b),
        {"a": a.pk, "b": b.pk, "survivor": b.pk, "keep__name": a.pk, "keep__city": b.pk},
    )

    assert response.status_code == 302
    with tenant_context(org_a):
        a.refresh_from_db()
        b.refresh_from_db()
    assert a.merged_into_id == b.pk
    assert (b.name, b.city) == ("Jane Doe", "Paris")
    assert response["Location"] == reverse("customers:customer-detail", args=[org_a.slug, b.pk])
    detail = client.get(response["Location"]).content.decode()
    assert 'data-testid="undo-merge"' in detail
    assert "Merged customer #" in detail


@pytest.mark.parametrize(
    "tamper",
    [
        {"survivor": "999999"},
        {"keep__city": "999999"},
        {"keep__city": "paris"},
        {"survivor": ""},
    ],
)
def test_a_tampered_merge_form_is_refused_with_a_message(
    tamper, org_a, alice, client_for, two_records
):
    a, b = two_records["a"], two_records["b"]
    data = {"a": a.pk, "b": b.pk, "survivor": a.pk, "keep__city": b.pk, **tamper}

    response = client_for(alice).post(_merge_url(org_a, a, b), data)

    assert response.status_code == 400
    assert "The merge form was changed or is out of date" in response.content.decode()
    with tenant_context(org_a):
        assert CustomerMerge.objects.count() == 0


@pytest.mark.parametrize("query", ["", "?a=1", "?a=x&b=y", "SAME"])
def test_the_merge_screen_explains_missing_or_equal_customers(
    query, org_a, alice, client_for, two_records
):
    a = two_records["a"]
    url = reverse("customers:customer-merge", args=[org_a.slug])
    url += f"?a={a.pk}&b={a.pk}" if query == "SAME" else query

    response = client_for(alice).get(url, follow=True)

    assert response.status_code == 200
    assert "Pick two different customers to compare." in response.content.decode()


def test_the_merge_screen_explains_an_already_merged_customer(
    org_a, alice, client_for, two_records
):
    a, b = two_records["a"], two_records["b"]
    third = make_customer(org_a, "Third")
    with tenant_context(org_a):
        merging.customers_merge(survivor=a, merged=b, choices={}, by=alice)

    response = client_for(alice).get(_merge_url(org_a, third, b), follow=True)

    assert "was already merged into another customer" in response.content.decode()


def test_the_merge_screen_answers_404_for_unknown_or_foreign_customers(
    org_a, org_b, alice, client_for
):
    mine = make_customer(org_a, "Mine")
    theirs = make_customer(org_b, "Theirs")
    client = client_for(alice)

    url = reverse("customers:customer-merge", args=[org_a.slug])
    for other in (theirs.pk, 99999999):
        assert client.get(url, {"a": mine.pk, "b": other}).status_code == 404
        response = client.post(url, {"a": mine.pk, "b": other, "survivor": mine.pk})
        assert response.status_code == 404
    with tenant_context(org_b):
        assert Customer.objects.get(pk=theirs.pk).merged_into_id is None


@pytest.mark.parametrize("role", [Role.SALES, Role.SUPPORT, Role.MARKETING])
def test_roles_without_merge_rights_cannot_merge_or_undo(
    role, org_a, member_of, client_for, two_records, alice
):
    a, b = two_records["a"], two_records["b"]
    client = client_for(member_of(org_a, role))

    assert client.get(_merge_url(org_a, a, b)).status_code == 403
    assert client.post(_merge_url(org_a, a, b), {"survivor": a.pk}).status_code == 403
    with tenant_context(org_a):
        merge = merging.customers_merge(survivor=a, merged=b, choices={}, by=alice)
    undo = reverse("customers:merge-undo", args=[org_a.slug, merge.pk])
    assert client.post(undo).status_code == 403
    with tenant_context(org_a):
        assert CustomerMerge.objects.get().undone_at is None


def test_undoing_through_the_page(org_a, alice, client_for, two_records):
    a, b = two_records["a"], two_records["b"]
    with tenant_context(org_a):
        merge = merging.customers_merge(survivor=a, merged=b, choices={}, by=alice)
    client = client_for(alice)
    undo = reverse("customers:merge-undo", args=[org_a.slug, merge.pk])

    assert client.get(undo).status_code == 405
    response = client.post(undo, follow=True)

    assert "The merge was undone" in response.content.decode()
    again = client.post(undo, follow=True)
    assert "This merge was already undone." in again.content.decode()
    with tenant_context(org_a):
        assert Customer.objects.get(pk=b.pk).merged_into_id is None


def test_undoing_another_organizations_merge_is_404(org_a, org_b, alice, mallory, client_for):
    kept, gone = make_customer(org_b, "B kept"), make_customer(org_b, "B gone")
    with tenant_context(org_b):
        merge = merging.customers_merge(survivor=kept, merged=gone, choices={}, by=mallory)

    response = client_for(alice).post(reverse("customers:merge-undo", args=[org_a.slug, merge.pk]))

    assert response.status_code == 404
    with tenant_context(org_b):
        assert CustomerMerge.objects.get().undone_at is None
