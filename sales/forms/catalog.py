"""Forms of the catalog area: products, price books, quotes and their lines, orders, imports."""

from datetime import datetime, time
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Contact, Customer, RfmSegment, Tag
from sales.models import (
    Order,
    OrderChannel,
    OrderStatus,
    PriceBook,
    Product,
    Quote,
    QuoteStatus,
)
from sales.services.catalog.order_import import UnknownCustomers

ZERO = Decimal("0")
PERCENT = {"max_digits": 5, "decimal_places": 2, "min_value": ZERO, "max_value": Decimal("100")}
MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": ZERO}
QUANTITY = {"max_digits": 12, "decimal_places": 3, "min_value": Decimal("0.001")}


def _percent_field(label, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(label=label, **PERCENT, **kwargs)


# --- Products and price books -------------------------------------------------------------------


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["sku", "name", "category", "list_price", "unit_cost", "is_active", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"unit_cost": _("What one unit costs you, for margins. Optional.")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("list_price", "unit_cost"):
            self.fields[name].validators.append(MinValueValidator(ZERO))
            self.fields[name].widget.attrs.update(min="0", step="0.01")

    def clean_sku(self) -> str:
        sku = self.cleaned_data["sku"].strip()
        taken = Product.objects.filter(sku__iexact=sku)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("Another product has this SKU."))
        return sku


class ProductFilterForm(forms.Form):
    STATUS_CHOICES = [("active", _("Active")), ("inactive", _("Inactive")), ("all", _("All"))]

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.CharField(label=_("Category"), required=False, max_length=80)
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)


class PriceBookForm(forms.ModelForm):
    tag = forms.ModelChoiceField(
        label=_("For customers tagged"),
        queryset=Tag.unscoped.none(),
        required=False,
        help_text=_("Applies to customers with this tag."),
    )
    rfm_segment = forms.ChoiceField(
        label=_("For RFM segment"),
        choices=[("", _("No segment")), *RfmSegment.choices],
        required=False,
    )

    class Meta:
        model = PriceBook
        fields = ["name", "description", "is_default", "tag", "rfm_segment", "is_active"]
        help_texts = {"is_default": _("Prices every customer no other price book applies to.")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = Tag.objects.order_by("name")
        self.fields["tag"].empty_label = _("No tag")


class PriceGridForm(forms.Form):
    """The prices of one page of products: a `price_<id>` field each, blank for list price."""

    def __init__(self, *args, products: list[Product], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.products = products
        for product in products:
            self.fields[f"price_{product.pk}"] = forms.DecimalField(
                label=product.name, required=False, **MONEY
            )

    def prices(self) -> dict[int, Decimal | None]:
        return {p.pk: self.cleaned_data.get(f"price_{p.pk}") for p in self.products}

    def rows(self) -> list[dict]:
        """What the grid shows per product: its input's name, value and whether it is wrong."""
        rows = []
        for product in self.products:
            field = self[f"price_{product.pk}"]
            value = field.value()
            rows.append(
                {
                    "product": product,
                    "name": field.html_name,
                    "value": "" if value is None else value,
                    "invalid": bool(field.errors),
                }
            )
        return rows


class CustomerPriceBookForm(forms.Form):
    price_book = forms.ModelChoiceField(
        label=_("Price book"),
        queryset=PriceBook.unscoped.none(),
        required=False,
        empty_label=_("Automatic (by tag, segment or default)"),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["price_book"].queryset = PriceBook.objects.filter(is_active=True).order_by(
            "name"
        )


# --- Quotes -------------------------------------------------------------------------------------


class QuoteForm(forms.ModelForm):
    """The header of a quote: who it is for, how it is priced, until when, discount and tax."""

    contact = forms.ModelChoiceField(
        label=_("Contact"), queryset=Contact.unscoped.none(), required=False
    )
    price_book = forms.ModelChoiceField(
        label=_("Price book"), queryset=PriceBook.unscoped.none(), required=False
    )

    discount_percent = _percent_field(_("Overall discount (%)"), initial=ZERO)
    tax_percent = _percent_field(_("Tax (%)"), initial=ZERO)

    class Meta:
        model = Quote
        fields = [
            "contact",
            "price_book",
            "valid_until",
            "discount_percent",
            "tax_percent",
            "notes",
        ]
        widgets = {
            "valid_until": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"notes": _("Printed on the quote: terms, delivery, payment.")}

    def __init__(self, *args, customer: Customer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = Contact.objects.filter(customer=customer).order_by(
            "-is_primary", "last_name", "first_name"
        )
        self.fields["contact"].empty_label = _("No contact (send to the customer's email)")
        self.fields["price_book"].queryset = PriceBook.objects.filter(is_active=True).order_by(
            "name"
        )
        self.fields["price_book"].empty_label = _("List prices")
        self.fields["price_book"].help_text = _("Prices lines added from now on.")

    def clean_valid_until(self):
        valid_until = self.cleaned_data["valid_until"]
        if valid_until and valid_until < timezone.localdate():
            raise forms.ValidationError(_("The validity date cannot be in the past."))
        return valid_until


class QuoteLineAddForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.unscoped.none(), required=False
    )
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), initial=Decimal("1"), **QUANTITY)
    unit_price = forms.DecimalField(label=_("Unit price"), required=False, **MONEY)
    discount_percent = _percent_field(_("Discount (%)"), initial=ZERO, required=False)

    def __init__(self, *args, products=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = (
            products if products is not None else Product.objects.filter(is_active=True)
        )
        self.fields["product"].empty_label = _("Free text line")
        self.fields["description"].widget.attrs["placeholder"] = _("The product name, or free text")
        self.fields["unit_price"].widget.attrs["placeholder"] = _("Automatic")
        self.fields["quantity"].widget.attrs.update(step="any", inputmode="decimal")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data.get("product") is None:
            if not (data.get("description") or "").strip():
                self.add_error("description", _("Describe the line, or choose a product."))
            if data.get("unit_price") is None:
                self.add_error("unit_price", _("A free text line needs a price."))
        data["discount_percent"] = data.get("discount_percent") or ZERO
        return data


class QuoteLineForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=300)
    quantity = forms.DecimalField(label=_("Quantity"), **QUANTITY)
    unit_price = forms.DecimalField(label=_("Unit price"), **MONEY)
    discount_percent = _percent_field(_("Discount (%)"))


class QuoteSendForm(forms.Form):
    to = forms.EmailField(label=_("To"))
    message = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Shown above the quote in the email."),
    )


class QuoteAcceptForm(forms.Form):
    mark_opportunity_won = forms.BooleanField(
        label=_("Mark the opportunity won"), required=False, initial=True
    )


class QuoteFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *QuoteStatus.choices], required=False
    )
    mine = forms.BooleanField(label=_("Mine only"), required=False)
    versions = forms.BooleanField(label=_("Show older versions"), required=False)


# --- Orders ---------------------------------------------------------------------------------------


class OrderForm(forms.ModelForm):
    number = forms.CharField(
        label=_("Order number"),
        max_length=40,
        required=False,
        help_text=_("Leave blank for the next number."),
    )
    ordered_on = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    subtotal = forms.DecimalField(label=_("Amount before discount"), **MONEY)
    discount = forms.DecimalField(label=_("Discount"), initial=ZERO, required=False, **MONEY)
    cost_total = forms.DecimalField(
        label=_("Cost"),
        required=False,
        help_text=_("What the order cost you, for margins. Optional."),
        **MONEY,
    )

    class Meta:
        model = Order
        fields = ["number", "channel", "is_gift", "subtotal", "discount", "cost_total"]

    def clean_number(self) -> str:
        number = self.cleaned_data["number"].strip()
        if number and Order.objects.filter(number=number).exists():
            raise forms.ValidationError(_("An order with this number exists already."))
        return number

    def clean(self):
        data = super().clean()
        subtotal, discount = data.get("subtotal"), data.get("discount") or ZERO
        if subtotal is not None and discount > subtotal:
            self.add_error("discount", _("The discount cannot be more than the amount."))
        return data

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "ordered_on"}
        day = self.cleaned_data["ordered_on"]
        now = timezone.localtime()
        moment = now.time() if day == now.date() else time(12, 0)
        data["ordered_at"] = timezone.make_aware(datetime.combine(day, moment))
        return data


class OrderStatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(OrderStatus.CANCELLED, _("Cancelled")), (OrderStatus.RETURNED, _("Returned"))],
    )


class OrderFilterForm(forms.Form):
    q = forms.CharField(label=_("Order number"), required=False, max_length=40)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *OrderStatus.choices], required=False
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", _("Any channel")), *OrderChannel.choices], required=False
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    customer = forms.IntegerField(
        required=False,
        widget=forms.HiddenInput,
        validators=[MinValueValidator(1), MaxValueValidator(2**62)],
    )


class OrderImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV or Excel (.xlsx), with a header row."),
    )
    unknown_customers = forms.ChoiceField(
        label=_("Rows whose customer is not found"),
        choices=[
            (UnknownCustomers.REJECT, _("Reject the row")),
            (UnknownCustomers.CREATE, _("Create the customer")),
        ],
        initial=UnknownCustomers.REJECT,
        widget=forms.RadioSelect,
    )
    mode = forms.ChoiceField(
        label=_("When some rows are wrong"),
        choices=[
            ("skip", _("Import the good rows, report the others")),
            ("all_or_nothing", _("Import nothing (all or nothing)")),
        ],
        initial="skip",
        widget=forms.RadioSelect,
    )
    day_first = forms.TypedChoiceField(
        label=_("Dates like 03/04/2024 mean"),
        choices=[("0", _("March 4 (month first)")), ("1", _("3 April (day first)"))],
        coerce=lambda value: value == "1",
        initial="0",
    )
    default_channel = forms.ChoiceField(
        label=_("Channel when the file has none"),
        choices=OrderChannel.choices,
        initial=OrderChannel.WEB,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s MB.")
                % {"size": settings.IMPORT_MAX_BYTES // (1024 * 1024)}
            )
        from sales.services.catalog.order_import import check_file_name

        check_file_name(upload.name)
        return upload
