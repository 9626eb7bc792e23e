from django.contrib.auth import views as auth_views
from django.urls import include, path

from sales.views import lead_web_forms
from sales.views.catalog.public import quote_public
from tenancy import views as tenancy_views
from tenancy.forms import EmailAuthenticationForm

account_patterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", tenancy_views.signup, name="signup"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

# Every URL of an organization lives under /o/<org_slug>/: TenantMiddleware checks membership
# and sets the tenant before any of these views runs.
org_patterns = [
    path("", include("tenancy.urls")),
    path("customers/", include("customers.urls")),
    path("sales/", include("sales.urls")),
    path("analytics/", include("analytics.urls")),
    path("search/", include("crm_site.search_urls")),
]

urlpatterns = [
    path("", tenancy_views.root, name="home"),
    path("healthz", tenancy_views.healthz, name="healthz"),
    path("accounts/", include(account_patterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("orgs/new/", tenancy_views.organization_new, name="organization-new"),
    path(
        "join/<slug:org_slug>/<str:token>/",
        tenancy_views.invitation_accept,
        name="invitation-accept",
    ),
    # A sent quote, for its customer: a signed link, no sign-in (sales.views.catalog.public).
    path("quotes/<str:token>/", quote_public, name="quote-public"),
    path("o/<slug:org_slug>/", include(org_patterns)),
    # Web-to-lead forms post here from the company's website (sales.views.lead_web_forms).
    path("f/<slug:org_slug>/<str:token>/", lead_web_forms.web_form_submit, name="web-form-submit"),
]
