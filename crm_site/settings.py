"""Clientele settings: one file, driven by environment variables.

Without DATABASE_URL the app uses an embedded SQLite file; without REDIS_URL Celery runs tasks
eagerly in-process. Everything that matters in production is read through the strict helpers in
crm_site.env, which refuse values they cannot parse.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from crm_site.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
_DEV_SECRET = "django-insecure-clientele-development-only-key-do-not-use-in-production"  # noqa: S105 (only with DEBUG on)
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "tenancy",
    "customers",
    "sales",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "tenancy.middleware.TenantMiddleware",
]

ROOT_URLCONF = "crm_site.urls"
WSGI_APPLICATION = "crm_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenancy.context_processors.tenancy",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# PostgreSQL in production and CI (DATABASE_URL); an embedded SQLite file for the demo.
# Connections are kept open: opening one per request costs about 15 ms here.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# Requests are made atomic by tenancy.middleware.TenantMiddleware, which also sets the tenant for
# row-level security inside that transaction; Django's own ATOMIC_REQUESTS would only add a
# savepoint per request.
ATOMIC_REQUESTS = False
# The role the app and workers run as (non-owner, non-superuser) when one connection string serves
# both migrations and the app, as in CI: see docs/architecture.md, "Database roles".
DATABASE_APP_ROLE = env_str("DATABASE_APP_ROLE", "")
# PostgreSQL's max_parallel_workers_per_gather for web requests (set per transaction by
# tenancy.middleware.TenantMiddleware; -1 leaves the server's own). A parallel plan takes two or
# three cores for one page; with many users at once that is time taken from the other pages,
# and a page's queries read too few rows to gain from it (docs/performance.md). Celery tasks,
# which read whole tables, keep the server's setting.
WEB_PARALLEL_WORKERS_PER_GATHER = env_int("WEB_PARALLEL_WORKERS_PER_GATHER", 0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "tenancy.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed logins are throttled per (username, address) pair: an attacker elsewhere cannot lock a
# colleague out, and a lock-out lifts by itself after the cool-off.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Axes reads the username from the credentials passed to authenticate(), under the key the login
# form uses ("username", already lower-cased by EmailAuthenticationForm). Its default is the user
# model's USERNAME_FIELD ("email"), which is absent there: every attempt was then counted under
# no username, and a locked-out address could still sign in with the right password.
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "tenancy.views.locked_out"  # its page states AXES_COOLOFF_TIME
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_VERBOSE = False

# --- Internationalization -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and env_bool("STATIC_MANIFEST", True)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Uploaded files (customer imports are kept under imports/<organization id>/) and prepared
# exports (exports/<organization id>/, deleted after EXPORT_FILE_HOURS).
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))

# --- Imports and exports ---------------------------------------------------------------------
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 200_000)
EXPORT_XLSX_MAX_ROWS = env_int("EXPORT_XLSX_MAX_ROWS", 100_000)
# Larger exports are written by a worker to a file (customers/export_jobs.py): streamed from a
# request they would outlast gunicorn's timeout and be cut off mid-file.
EXPORT_IMMEDIATE_MAX_ROWS = env_int("EXPORT_IMMEDIATE_MAX_ROWS", 10_000)
EXPORT_FILE_HOURS = env_int("EXPORT_FILE_HOURS", 24)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Mail -----------------------------------------------------------------------------------
# The console backend in development (and the demo); real mail (SMTP) when DEBUG is off.
_EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
_SMTP_OPTIONS = {
    "host": env_str("EMAIL_HOST", "localhost"),
    "port": env_int("EMAIL_PORT", 25),
    "username": env_str("EMAIL_HOST_USER", ""),
    "password": env_str("EMAIL_HOST_PASSWORD", ""),
    "use_tls": env_bool("EMAIL_USE_TLS", False),
}
MAILERS = {
    "default": {
        "BACKEND": _EMAIL_BACKEND,
        "OPTIONS": _SMTP_OPTIONS if _EMAIL_BACKEND.endswith("smtp.EmailBackend") else {},
    }
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Clientele <no-reply@clientele.example>")
# The address of the site, for links in mail sent by background jobs (task reminders).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000" if DEBUG else "")

# --- Celery ---------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 60 * 60)
CELERY_BEAT_SCHEDULE = {
    "prune-expired-invitations": {
        "task": "tenancy.tasks.invitations_expire",
        "schedule": crontab(hour=1, minute=0),
    },
    "send-task-reminders": {
        "task": "sales.tasks.tasks_send_reminders",
        "schedule": crontab(minute="*/5"),
    },
    "expire-quotes": {
        "task": "sales.tasks.quotes_expire",
        "schedule": crontab(hour=0, minute=15),
    },
    "expire-customer-exports": {
        "task": "customers.tasks.exports_expire",
        "schedule": crontab(minute=40),
    },
    # One analytics task per organization, scoring yesterday's close.
    "analytics-nightly": {
        "task": "analytics.tasks.analytics_nightly",
        "schedule": crontab(hour=2, minute=0),
    },
}

# --- Cache ----------------------------------------------------------------------------------
# Import progress goes through the cache (the import's own transaction hides it from the page
# that polls), so workers and web processes must share it: Redis when there is one. Without
# Redis, tasks run eagerly in the web process and the per-process memory cache is enough.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Security -------------------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    # Bootstrap and Chart.js set element styles at run time; no inline <script> is allowed.
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

INVITATION_TTL_DAYS = env_int("INVITATION_TTL_DAYS", 14)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
