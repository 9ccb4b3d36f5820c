"""Settings for authserver, driven by the environment and safe by default.

Two run modes share this file:
- embedded (default): SQLite in ``var/``, in-process cache, Celery tasks run eagerly;
- production: ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` (cache, rate limits, Celery broker).

Every variable is documented in the README's configuration table.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from authserver.env import env_bool, env_float, env_int, env_list, env_str, persistent_secret
from core.proxy import parse_networks
from mail.url import DEFAULT_TIMEOUT, SMTP_BACKEND, parse_email_url
from oauth.hooks import device_pre_token

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("AUTHSERVER_VAR_DIR", str(BASE_DIR / "var")))

DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
PRODUCTION = bool(DATABASE_URL)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY is required when DATABASE_URL is set (production)")
    SECRET_KEY = persistent_secret(VAR_DIR / "secret_key")
# Older keys still accepted for signatures and for decrypting data at rest (comma-separated).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

PORT = env_int("PORT", 8000)
ISSUER_URL = env_str("ISSUER_URL", f"http://localhost:{PORT}").rstrip("/")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "oauth",
    "oauth2_provider",
    "roles",
    "mfa",
    "audit",
    "console",
    "setup",
    "selfservice",
    "apikeys",
    "abuse",
    "directory",
    "branding",
    "federation",
    "mail",
    "core",
]

# Browser pages get the full stack; machine endpoints (token, introspection, decisions, JWKS,
# discovery) are served by a second handler with MACHINE_MIDDLEWARE only: see authserver/wsgi.py.
MIDDLEWARE = [
    "authserver.middleware.RequestIdMiddleware",
    "core.metrics.MetricsMiddleware",
    "authserver.middleware.PlainHttpRefusedMiddleware",
    "authserver.middleware.DatabaseUnavailableMiddleware",
    "authserver.middleware.SecurityHeadersMiddleware",
    "authserver.middleware.BodyTooLargeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Django's LocaleMiddleware, plus OIDC ui_locales on /o/authorize/ (kept in the session)
    "branding.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Browser sessions for the account page: made at sign-in, last seen at most once a minute.
    "selfservice.sessions.SessionActivityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
MACHINE_MIDDLEWARE = [
    "authserver.middleware.RequestIdMiddleware",
    "core.metrics.MetricsMiddleware",
    "authserver.middleware.PlainHttpRefusedMiddleware",
    "authserver.middleware.DatabaseUnavailableMiddleware",
    "authserver.middleware.SecurityHeadersMiddleware",
    "authserver.middleware.BodyTooLargeMiddleware",
]
MACHINE_PATH_PREFIXES = (
    "/o/token/",
    "/o/introspect/",
    "/o/revoke_token/",
    "/o/userinfo/",
    "/o/jwks/",
    "/o/device-authorization/",
    "/.well-known/",
    "/access/v1/",
    "/gateway/",
    "/bench/",
    "/health/",
    "/metrics",
    "/api/",  # management API: bearer tokens only, no session or CSRF (mgmt/api)
)

ROOT_URLCONF = "authserver.urls"
WSGI_APPLICATION = "authserver.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "branding.context_processors.brand",
            ],
        },
    },
]


def _sqlite_database(name: str) -> dict:
    """The embedded mode's SQLite: the writer-queueing backend (``authserver/sqlite``), tuned."""
    return {
        "ENGINE": "authserver.sqlite",
        "NAME": name,
        # Keep the connection: opening one per request re-runs the PRAGMAs, and closing
        # the last one checkpoints the WAL to disk (a sync) on every request.
        "CONN_MAX_AGE": 600,
        "OPTIONS": {
            # WAL lets readers run beside the single writer; IMMEDIATE takes the write
            # lock at BEGIN so two writers queue instead of failing with "locked".
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        # sqlite:///path gets the same engine as the default, not Django's stock backend
        # (whose writers fail with "database is locked": intermittent 503s)
        DATABASES["default"] = _sqlite_database(DATABASES["default"]["NAME"])
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": _sqlite_database(env_str("SQLITE_PATH", str(VAR_DIR / "authserver.sqlite3")))
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# DOT's RFC 9700 check flags any "http" redirect scheme; ours is narrowed to loopback IP
# literals by oauth.models.validate_redirect_uri (RFC 8252 §7.3, which RFC 9700 §2.1 allows).
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.E003"]

# Limit blocks (core/limits.py) live in the database in both modes, so a block set
# before, during or after a Redis outage (or a FLUSHALL) holds through it.
_BLOCKS_CACHE = {"BACKEND": "core.cache.DatabaseCache", "LOCATION": "default"}
if REDIS_URL:
    CACHES = {
        "default": {
            # While Redis is down, the database cache stands in (authserver/cache.py).
            "BACKEND": "core.failsoft_cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "authserver",
            "RETRY_SECONDS": env_int("CACHE_RETRY_SECONDS", 5),
        },
        "blocks": _BLOCKS_CACHE,
    }
else:
    # Without Redis the cache lives in the database, so every gunicorn worker shares the
    # throttle and abuse counters (core/cache.py); never a per-process cache (authserver.E001).
    CACHES = {
        "default": {"BACKEND": "core.cache.DatabaseCache", "LOCATION": "default"},
        "blocks": _BLOCKS_CACHE,
    }

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:login"

# Argon2id first (argon2-cffi); the HMAC hasher is for generated client secrets only (see README).
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idHasher",
    "oauth.client_auth.secret.ClientSecretHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Argon2id parameters of new password hashes (accounts/hashers.py): OWASP's m=19 MiB, t=2, p=1.
ARGON2_MEMORY_KIB = env_int("ARGON2_MEMORY_KIB", 19456)
ARGON2_TIME_COST = env_int("ARGON2_TIME_COST", 2)
ARGON2_PARALLELISM = env_int("ARGON2_PARALLELISM", 1)
PASSWORD_MIN_LENGTH = env_int("PASSWORD_MIN_LENGTH", 12)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The languages of the pages (catalogues in locale/; docs/branding.md): Accept-Language, or
# OIDC ui_locales on /o/authorize/, picks one of these.
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve from the apps' static dirs; no collectstatic step
STATICFILES_DIRS = [BASE_DIR / "static"]

# Cookies: HttpOnly, SameSite=Lax, Secure when the issuer is https.
SECURE_COOKIES = ISSUER_URL.startswith("https://")
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_NAME = "__Host-sessionid" if SECURE_COOKIES else "sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken" if SECURE_COOKIES else "csrftoken"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
CSRF_TRUSTED_ORIGINS = [ISSUER_URL]
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "no-referrer"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Production (https issuer) is secure by default; the http://127.0.0.1 embedded mode is not
# redirected. Machine endpoints never redirect (no SecurityMiddleware in their stack).
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SECURE_COOKIES)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE_COOKIES)
# Same answer whichever stack serves a machine path (wsgi.py or the test client's full stack).
SECURE_REDIRECT_EXEMPT = [rf"^{re.escape(p.lstrip('/'))}" for p in MACHINE_PATH_PREFIXES]
# Reverse proxies (CIDRs) whose X-Forwarded-For/-Proto are believed (authserver/proxy.py).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
# Mutual TLS (RFC 8705, core/tls.py): the CAs whose client certificates tls_client_auth accepts
# (gunicorn asks for an optional client certificate when it terminates TLS itself); the request
# header a trusted proxy forwards the client certificate in (nginx $ssl_client_escaped_cert, or
# RFC 9440 Client-Cert; Envoy's X-Forwarded-Client-Cert is read too); the base URL of the
# endpoints reached with a client certificate (discovery's mtls_endpoint_aliases), by default
# the issuer's own.
TLS_CLIENT_CA_FILE = env_str("TLS_CLIENT_CA_FILE")
TLS_CLIENT_CERT_HEADER = env_str("TLS_CLIENT_CERT_HEADER", "X-SSL-Client-Cert")
MTLS_BASE_URL = env_str("MTLS_BASE_URL").rstrip("/")  # "": ISSUER_URL
# Outbound fetches (core/fetch.py: a client's jwks_uri, ...) reach public https hosts only.
# Development and tests only (``check --deploy`` warns): CIDRs exempted from the address rule,
# and http:// targets allowed. OUTBOUND_CA_BUNDLE: a PEM file of the CAs to trust instead of
# certifi's (a private PKI, or the tests' own CA).
OUTBOUND_ALLOWED_NETWORKS = [
    str(n)
    for n in parse_networks(env_list("OUTBOUND_ALLOWED_NETWORKS", []), "OUTBOUND_ALLOWED_NETWORKS")
]
OUTBOUND_ALLOW_HTTP = env_bool("OUTBOUND_ALLOW_HTTP", False)
OUTBOUND_CA_BUNDLE = env_str("OUTBOUND_CA_BUNDLE")
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- Tokens -------------------------------------------------------------------------------
ACCESS_TOKEN_LIFETIME = env_int("ACCESS_TOKEN_LIFETIME", 600)
ID_TOKEN_LIFETIME = env_int("ID_TOKEN_LIFETIME", 600)
AUTHORIZATION_CODE_LIFETIME = env_int("AUTHORIZATION_CODE_LIFETIME", 60)
REFRESH_TOKEN_IDLE_LIFETIME = env_int("REFRESH_TOKEN_IDLE_LIFETIME", 7 * 86400)
REFRESH_TOKEN_ABSOLUTE_LIFETIME = env_int("REFRESH_TOKEN_ABSOLUTE_LIFETIME", 30 * 86400)
REFRESH_TOKEN_GRACE_PERIOD = env_int("REFRESH_TOKEN_GRACE_PERIOD", 0)
# RFC 9126: how long a pushed authorization request's request_uri lives, and whether every
# client must push its authorization requests (each client may also require it of itself).
PAR_LIFETIME = env_int("PAR_LIFETIME", 60)
REQUIRE_PUSHED_AUTHORIZATION_REQUESTS = env_bool("REQUIRE_PUSHED_AUTHORIZATION_REQUESTS")
# RFC 9449 §8: DPoP proofs at the token endpoint must carry the server's nonce.
DPOP_NONCE = env_bool("DPOP_NONCE")
ACCESS_TOKEN_ALGORITHM = env_str("ACCESS_TOKEN_ALGORITHM", "ES256")
if ACCESS_TOKEN_ALGORITHM not in {"ES256", "RS256"}:
    raise ImproperlyConfigured("ACCESS_TOKEN_ALGORITHM must be ES256 or RS256")
# Requests per minute per API key where keys are presented directly (0: no limit).
API_KEY_RATE_LIMIT = env_int("API_KEY_RATE_LIMIT", 600)
# Keyed hash (HMAC-SHA256) pepper for generated secrets; defaults to one derived from SECRET_KEY.
SECRET_PEPPER = env_str("SECRET_PEPPER")

OIDC_SCOPES = {
    # Shown on the consent page (translated: locale/).
    "openid": _("Sign you in"),
    "profile": _("Your name and username"),
    "email": _("Your email address"),
    "offline_access": _("Stay signed in (refresh tokens)"),
    "roles": _("Your roles"),
    # oauth.apis.MANAGEMENT_SCOPE: with resource=<ISSUER_URL>/api/v1/, a management-API token
    "management": _("Manage this server through its management API"),
}

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth.Client"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauth2_provider.DeviceGrant"
OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "oauth.validators.Validator",
    "OAUTH2_SERVER_CLASS": "oauth.server.Server",
    "OAUTH2_BACKEND_CLASS": "oauth.server.OAuthLibCore",
    "OIDC_SERVER_CLASS": "oauth.server.Server",
    "SCOPES_BACKEND_CLASS": "oauth.scopes.ClientScopes",
    "SCOPES": OIDC_SCOPES,
    "DEFAULT_SCOPES": [],
    "ACCESS_TOKEN_GENERATOR": "oauth.tokens.generate_access_token",
    "REFRESH_TOKEN_GENERATOR": "oauth.tokens.generate_refresh_token",
    "CLIENT_SECRET_HASHER": "hmac_sha256",
    "ACCESS_TOKEN_EXPIRE_SECONDS": ACCESS_TOKEN_LIFETIME,
    "ID_TOKEN_EXPIRE_SECONDS": ID_TOKEN_LIFETIME,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": AUTHORIZATION_CODE_LIFETIME,
    "REFRESH_TOKEN_EXPIRE_SECONDS": REFRESH_TOKEN_IDLE_LIFETIME,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": REFRESH_TOKEN_GRACE_PERIOD,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "PKCE_REQUIRED": True,
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": ISSUER_URL,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": True,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": [
        "authorization_code",
        "client_credentials",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    ],
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],  # http is narrowed to loopback by Client
    "ALLOW_URI_WILDCARDS": False,
    "ALLOW_LOCALHOST_LOOPBACK": True,
    "REQUEST_APPROVAL_PROMPT": "auto",
    "OAUTH_DEVICE_VERIFICATION_URI": f"{ISSUER_URL}/device",
    "DEVICE_FLOW_INTERVAL": 5,
    "OAUTH_PRE_TOKEN_VALIDATION": [device_pre_token],
    # RFC 9700 gates of django-oauth-toolkit 3.4: all on.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# --- Branding (branding/conf.py, docs/branding.md); ``apply``'s branding: section wins ----
BRAND_NAME = env_str("BRAND_NAME", "authserver")
BRAND_LOGO_URL = env_str("BRAND_LOGO_URL")  # a path on this server, e.g. /static/brand/logo.svg
BRAND_PRIMARY_COLOR = env_str("BRAND_PRIMARY_COLOR", "#2450c8")  # #rgb or #rrggbb
SUPPORT_URL = env_str("SUPPORT_URL")  # https:// or mailto:

# --- MFA and brute-force limits (documented in docs/mfa.md) ------------------------------
MFA_REQUIRED = env_bool("MFA_REQUIRED", False)  # every user needs a second factor
MFA_MAX_ATTEMPTS = env_int("MFA_MAX_ATTEMPTS", 5)  # wrong codes before the factor locks
MFA_LOCKOUT_SECONDS = env_int("MFA_LOCKOUT_SECONDS", 30)  # first lock; doubles per lock
MFA_LOCKOUT_MAX_SECONDS = env_int("MFA_LOCKOUT_MAX_SECONDS", 3600)
MFA_PENDING_SECONDS = env_int("MFA_PENDING_SECONDS", 300)  # password done, factor pending
MFA_REAUTH_SECONDS = env_int("MFA_REAUTH_SECONDS", 600)  # fresh sign-in for factor changes
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "authserver")
# Sensitive console actions need a second factor proved this recently (ASVS 7.5.1/7.5.3).
CONSOLE_REAUTH_SECONDS = env_int("CONSOLE_REAUTH_SECONDS", 300)
WEBAUTHN_RP_ID = env_str("WEBAUTHN_RP_ID")  # default: the host of ISSUER_URL
WEBAUTHN_RP_NAME = env_str("WEBAUTHN_RP_NAME", "authserver")
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_IP = env_int("LOGIN_FAILURES_PER_IP", 100)
LOGIN_THROTTLE_WINDOW = env_int("LOGIN_THROTTLE_WINDOW", 900)
LOGIN_BACKOFF_SECONDS = env_int("LOGIN_BACKOFF_SECONDS", 30)
TOKEN_AUTH_FAILURES_PER_CLIENT = env_int("TOKEN_AUTH_FAILURES_PER_CLIENT", 10)
TOKEN_AUTH_FAILURES_PER_IP = env_int("TOKEN_AUTH_FAILURES_PER_IP", 100)
TOKEN_AUTH_THROTTLE_WINDOW = env_int("TOKEN_AUTH_THROTTLE_WINDOW", 900)
TOKEN_AUTH_BACKOFF_SECONDS = env_int("TOKEN_AUTH_BACKOFF_SECONDS", 10)
# Automated abuse response (abuse/): this many failures on this many distinct accounts (or
# clients) from one IP within the window block that IP for ABUSE_IP_BLOCK_SECONDS.
ABUSE_IP_FAILURES = env_int("ABUSE_IP_FAILURES", 20)
ABUSE_IP_MIN_ACCOUNTS = env_int("ABUSE_IP_MIN_ACCOUNTS", 3)
ABUSE_IP_WINDOW = env_int("ABUSE_IP_WINDOW", 600)
ABUSE_IP_BLOCK_SECONDS = env_int("ABUSE_IP_BLOCK_SECONDS", 900)
# While an IP over the thresholds goes on failing without a block, its block task is queued
# again this often (the first one may have been lost with a killed worker).
ABUSE_IP_REQUEUE_SECONDS = env_int("ABUSE_IP_REQUEUE_SECONDS", 30)
ABUSE_IP_ALLOWLIST = env_list("ABUSE_IP_ALLOWLIST", [])  # CIDRs never counted nor blocked
ABUSE_IP_HISTORY_DAYS = env_int("ABUSE_IP_HISTORY_DAYS", 7)  # ended blocks kept (console)

# --- LDAP / Active Directory (directory/) ------------------------------------------------------
# Password sign-in against directories: ModelBackend first (local accounts), then the directory.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "directory.backends.DirectoryBackend",
]
DIRECTORY_TIMEOUT_SECONDS = env_float("DIRECTORY_TIMEOUT_SECONDS", 5.0)  # connect, each answer
DIRECTORY_SYNC_SECONDS = env_int("DIRECTORY_SYNC_SECONDS", 3600)  # the beat's sync interval
# --- Mail (mail/, docs/mail.md) --------------------------------------------------------------
# EMAIL_URL (smtp://, smtp+tls://, smtps://) or Django's EMAIL_HOST/EMAIL_PORT/... name the
# SMTP server, in both run modes; with neither, each message is a .eml file in MAIL_DIR.
EMAIL_URL = env_str("EMAIL_URL")
MAIL_DIR = Path(env_str("MAIL_DIR", str(VAR_DIR / "mail")))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "authserver <noreply@localhost>")
if EMAIL_URL:
    globals().update(parse_email_url(EMAIL_URL))
elif env_str("EMAIL_HOST"):
    EMAIL_BACKEND = SMTP_BACKEND
    EMAIL_HOST = env_str("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 25)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", DEFAULT_TIMEOUT)
else:
    EMAIL_BACKEND = "mail.backends.EmlFileBackend"
# Password reset, e-mail verification, invitations, registration (selfservice/).
PASSWORD_RESET_SECONDS = env_int("PASSWORD_RESET_SECONDS", 1800)
PASSWORD_RESET_PER_ADDRESS = env_int("PASSWORD_RESET_PER_ADDRESS", 5)  # per hour
PASSWORD_RESET_PER_IP = env_int("PASSWORD_RESET_PER_IP", 30)  # per hour
EMAIL_VERIFY_SECONDS = env_int("EMAIL_VERIFY_SECONDS", 3 * 86400)
INVITATION_DAYS = env_int("INVITATION_DAYS", 7)
REGISTRATION_OPEN = env_bool("REGISTRATION_OPEN", False)
REGISTRATION_DOMAINS = [d.lower() for d in env_list("REGISTRATION_DOMAINS", [])]

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
if REDIS_URL.startswith("rediss://"):
    # kombu connects to a rediss:// broker without checking its certificate unless told to;
    # ssl_* query parameters in REDIS_URL (ssl_ca_certs=...) take precedence over this.
    CELERY_BROKER_USE_SSL = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The longest task (a day's audit export) is killed after CELERY_TASK_TIME_LIMIT seconds, and a
# retry waits at most TASK_RETRY_BACKOFF_MAX. A task stays unacknowledged in Redis from its
# delivery (a retry's countdown included) to its end, so the broker hands a task whose worker
# died (main process killed, node lost) to another worker after both plus a margin, checked
# every 5 s: 12.5 minutes by default, not kombu's hour. The margin (CELERY_VISIBILITY_MARGIN)
# covers a reserved task's wait for a free pool process.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600)
TASK_RETRY_BACKOFF_MAX = env_int("TASK_RETRY_BACKOFF_MAX", 120)
CELERY_VISIBILITY_MARGIN = env_int("CELERY_VISIBILITY_MARGIN", 30)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT
    + TASK_RETRY_BACKOFF_MAX
    + CELERY_VISIBILITY_MARGIN,
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep the JSON log configuration in workers
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "seal-audit-log": {"task": "audit.tasks.seal_audit_log_task", "schedule": 10.0},
    "clear-expired-tokens": {
        "task": "oauth.tasks.clear_expired_tokens_task",
        "schedule": crontab(minute=7),
    },
    "export-audit-log": {
        "task": "audit.tasks.export_audit_log_task",
        "schedule": crontab(hour=0, minute=15),
    },
    "purge-audit-log": {
        "task": "audit.tasks.purge_audit_log_task",
        "schedule": crontab(hour=1, minute=15),
    },
    "purge-ip-blocks": {
        "task": "abuse.tasks.purge_ip_blocks_task",
        "schedule": crontab(minute=37),
    },
    "sync-directories": {
        "task": "directory.tasks.sync_directories_task",
        "schedule": float(DIRECTORY_SYNC_SECONDS),
    },
    "flush-outbox": {"task": "mail.tasks.flush_outbox_task", "schedule": 300.0},
}
# Audit events older than this are exported (JSON lines) and then deleted.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 400)
# How processes learn that cached data changed (oauth/generations.py): "auto" (PostgreSQL
# LISTEN/NOTIFY, or a shared change counter next to the SQLite file) or "poll" (read the
# counters on every request).
GENERATIONS_SIGNAL = env_str("GENERATIONS_SIGNAL", "auto")
# Hot-path events (tokens, introspection and decision denials) are stored in batches of this
# many rows, or when the oldest is this old; 1 stores each at once (audit/batch.py).
AUDIT_BATCH_EVENTS = env_int("AUDIT_BATCH_EVENTS", 100)
AUDIT_BATCH_SECONDS = env_float("AUDIT_BATCH_SECONDS", 1.0)
# Each batched event is appended here (a file per process) before the response, so a killed
# worker loses none: a local directory (flock), ingested by the next process and the seal task.
AUDIT_SPOOL_DIR = Path(env_str("AUDIT_SPOOL_DIR", str(VAR_DIR / "audit-spool")))
AUDIT_SPOOL_SCAN_SECONDS = env_float("AUDIT_SPOOL_SCAN_SECONDS", 10.0)
AUDIT_EXPORT_DIR = Path(env_str("AUDIT_EXPORT_DIR", str(VAR_DIR / "audit")))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "mgmt.api.schema.ProblemAutoSchema",
}

# OpenAPI for the management API (/api/v1/schema/), docs assets served locally (sidecar).
SPECTACULAR_SETTINGS = {
    "TITLE": "authserver management API",
    "DESCRIPTION": "Users, roles, role assignments, clients, tokens and the audit log. "
    "Callers present an access token of ours (`Authorization: Bearer`); every operation "
    "needs a named permission held through the caller's roles. Errors are RFC 9457 "
    "problem details.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Requests per minute one client (or user, or API key) may make through the gateway endpoint.
GATEWAY_RATE_LIMIT = env_int("GATEWAY_RATE_LIMIT", 600)
# Requests to /setup/<token> per client address and minute (setup.views).
SETUP_RATE_LIMIT = env_int("SETUP_RATE_LIMIT", 20)

# /metrics: bearer token for the scraper; unset -> loopback callers only.
METRICS_TOKEN = env_str("METRICS_TOKEN")

# Bench mode adds the trivial "ceiling" view used by `make bench`; never on otherwise.
BENCH_MODE = env_bool("AUTHSERVER_BENCH", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # One JSON object per line, each with the request id (authserver/logs.py).
    "filters": {"request_id": {"()": "core.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "core.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # DOT logs client ids and URIs at debug; keep it at warning so nothing sensitive leaks.
        "oauth2_provider": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
    },
}
