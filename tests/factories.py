import factory
from factory.django import DjangoModelFactory

from tenancy.context import tenant_context
from tenancy.models import ActivityEvent, ActivityVerb, Invitation, Membership, Organization, User
from tenancy.permissions import Role


class TenantFactory(DjangoModelFactory):
    """Creates tenant-owned rows inside their organization's tenant context."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with tenant_context(kwargs["organization"]):
            return super()._create(model_class, *args, **kwargs)


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password("correct horse battery staple")


class MembershipFactory(TenantFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.SALES


class InvitationFactory(TenantFactory):
    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.SALES


class ActivityEventFactory(TenantFactory):
    class Meta:
        model = ActivityEvent

    organization = factory.SubFactory(OrganizationFactory)
    actor = factory.SubFactory(UserFactory)
    verb = ActivityVerb.MEMBER_JOINED
    target = "someone"


# --- customers --------------------------------------------------------------------------------


class TagFactory(TenantFactory):
    class Meta:
        model = "customers.Tag"

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Tag {n}")


class CustomerFactory(TenantFactory):
    class Meta:
        model = "customers.Customer"
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")

    @factory.post_generation
    def tags(self, create: bool, extracted, **kwargs) -> None:
        """`CustomerFactory(tags=[tag, ...])` links the tags (of the customer's organization)."""
        if not create or not extracted:
            return
        from customers.models import CustomerTag

        with tenant_context(self.organization):
            CustomerTag.objects.bulk_create(
                [
                    CustomerTag(organization=self.organization, customer=self, tag=tag)
                    for tag in extracted
                ]
            )

    @factory.post_generation
    def scores(self, create: bool, extracted, **kwargs) -> None:
        """`CustomerFactory(scores={"rfm_segment": ..., "clv": ...})` gives the customer scores
        (analytics.CustomerScore), as the nightly analytics job would."""
        if not create or extracted is None:
            return
        from analytics.models import CustomerScore, churn_sort_key, clv_sort_key
        from analytics.pipeline import churn_band

        values = {"customer_created_at": self.created_at, **extracted}
        if values.get("churn_probability") is not None:  # as the job sets it
            values.setdefault("churn_band", churn_band(values["churn_probability"]))
        values.setdefault("clv_key", clv_sort_key(values.get("clv")))
        values.setdefault("churn_key", churn_sort_key(values.get("churn_probability")))
        with tenant_context(self.organization):
            CustomerScore.objects.create(organization=self.organization, customer=self, **values)


class ContactFactory(TenantFactory):
    class Meta:
        model = "customers.Contact"

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    first_name = factory.Sequence(lambda n: f"Contact{n}")
    last_name = "Person"


class CustomFieldDefinitionFactory(TenantFactory):
    class Meta:
        model = "customers.CustomFieldDefinition"

    organization = factory.SubFactory(OrganizationFactory)
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.Sequence(lambda n: f"Field {n}")
    field_type = "text"


class InteractionFactory(TenantFactory):
    class Meta:
        model = "customers.Interaction"

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    channel = "phone"
    subject = factory.Sequence(lambda n: f"Interaction {n}")


class ImportBatchFactory(TenantFactory):
    """A finished customers import with no rows (what the URL walks need); tests that run
    real imports go through customers.imports instead."""

    class Meta:
        model = "customers.ImportBatch"

    organization = factory.SubFactory(OrganizationFactory)
    kind = "customers"
    file_name = factory.Sequence(lambda n: f"import-{n}.csv")
    status = "done"
    mapping = factory.LazyFunction(
        lambda: {"headers": ["Name"], "fields": {"Name": "name"}, "format": {"kind": "csv"}}
    )
