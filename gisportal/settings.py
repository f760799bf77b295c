"""Settings, all from the environment with local defaults (see README: Configuration)."""
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from gisportal.clientip import parse_networks
from gisportal.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DJANGO_DEBUG", False)
# The key comes from the environment; local runs keep a generated one in var/secret_key (never in git).
_local_key = VAR_DIR / "secret_key"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", _local_key.read_text().strip() if _local_key.exists() else None)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Proxies (the caching front, a load balancer) whose X-Forwarded-For / -Proto / -Host are believed: IPs or CIDRs.
# Anyone else's X-Forwarded-* headers are dropped on arrival (gisportal.clientip), so the client address (fair
# use, login lockout) and absolute URLs cannot be chosen by the client. Checked here, at start-up.
GISPORTAL_TRUSTED_PROXIES = env_list("GISPORTAL_TRUSTED_PROXIES", [])
parse_networks(GISPORTAL_TRUSTED_PROXIES)
USE_X_FORWARDED_HOST = env_bool("DJANGO_USE_X_FORWARDED_HOST", bool(GISPORTAL_TRUSTED_PROXIES))
USE_X_FORWARDED_PORT = env_bool("DJANGO_USE_X_FORWARDED_PORT", bool(GISPORTAL_TRUSTED_PROXIES))
# "1" when a trusted proxy terminates TLS and says so in X-Forwarded-Proto: https.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER") else None
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
# Health checks of the front reach the nodes over plain HTTP: never redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz?/?$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "leaflet",
    "layers",
    "ingest",
    "tiles",
    "opendata",
    "demo",
    "editor",
    "portal",
    "axes",
    "procrastinate.contrib.django",  # the job queue (jobs in PostgreSQL, enqueued in the writer's transaction)
]

MIDDLEWARE = [
    "gisportal.clientip.ProxyHeadersMiddleware",  # first: X-Forwarded-* only from GISPORTAL_TRUSTED_PROXIES
    "gisportal.vary.VaryOnAcceptMiddleware",  # Vary: Accept on every answer chosen by the Accept header
    "gisportal.redirects.AbsoluteRedirectMiddleware",  # first: every redirect below it gets an absolute Location
    "gisportal.redirects.SlashAgnosticMiddleware",  # /ogc and /ogc/ (and every API path) without a redirect
    "gisportal.cors.PublicCorsMiddleware",  # CORS on every answer of the public doors, refusals included
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gisportal.middleware.VietnameseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "gisportal.errors.MethodMiddleware",  # before CSRF: a write to a read-only route is a 405
    "gisportal.inputs.NulCharacterMiddleware",  # no NUL reaches PostgreSQL from any door
    "gisportal.querystring.SingleValueMiddleware",  # a repeated query parameter is a 400, not "the last wins"
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "gisportal.middleware.ContentSecurityPolicyMiddleware",
    "gisportal.errors.DomainErrorMiddleware",
    "gisportal.throttle.FairUseMiddleware",  # search, click-to-see, history and diff: per-caller limits
    "gisportal.middleware.ServiceFaultMiddleware",
    # After ServiceFault (its process_exception runs first): which server reads, read-your-writes, replica faults.
    "gisportal.routing.DatabaseRouteMiddleware",
    "axes.middleware.AxesMiddleware",  # last: login rate limiting
]

# CSRF failures answer from the error table (JSON on API paths, a page in vi/en elsewhere).
CSRF_FAILURE_VIEW = "gisportal.errors.csrf_failure"

# Login: django-axes locks out a client IP after repeated failures whatever the usernames, and a username
# after as many failures from any IPs (a list of single parameters means "either"); 429 with Retry-After
# and how long, in vi/en (gisportal/lockout.py), then a cool-off.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("GISPORTAL_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_LOCKOUT_CALLABLE = "gisportal.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_RESET_ON_SUCCESS = False  # else one valid account could reset its IP's count between guesses at others
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "gisportal.clientip.client_ip"  # the same client address as fair use
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/edit/"
SESSION_COOKIE_AGE = 8 * 3600  # a working day
# Sessions are read from Redis (every node sees a login at once, no query per request) and written through to
# PostgreSQL when they change (login, logout: never on a public GET). Not the plain cache engine: Redis runs
# with volatile-lru, which may evict keys with a time to live, sessions included, and a restart without its
# append-only file would log every editor out mid-edit; cached_db reads such a session back from the table.
SESSION_ENGINE = "gisportal.sessions"  # cached_db, standing Redis being down

ROOT_URLCONF = "gisportal.urls"
WSGI_APPLICATION = "gisportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL (postgis://user:pass@host:port/name) or the project-private cluster,
# reached over its unix socket in var/ (see scripts/bootstrap.sh).
_database_url = env_str("DATABASE_URL", "")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, engine="django.contrib.gis.db.backends.postgis")}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.contrib.gis.db.backends.postgis",
            "NAME": env_str("GISPORTAL_DB_NAME", "gisportal"),
            "USER": "postgres",
            "HOST": str(VAR_DIR / "pgsock"),
            "PORT": str(env_int("GISPORTAL_PG_PORT", 54329)),
        }
    }
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)
# A kept connection is checked before a request reuses it: after a database restart the first request
# reconnects instead of failing on the dead socket.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# PostgreSQL's JIT compiles big spatial queries for longer than they run (a z12 tile: 4.3 s with, 0.2 s without).
# No parallel workers for one request's query: the server answers many requests at once on few cores, and a
# tile's workers cost more to start than they save (a z16 parcel tile: 19 ms with, 3 ms without).
# These are startup parameters, which PgBouncer in transaction mode does not pass on: there set
# GISPORTAL_DB_SESSION_OPTIONS="" and put them on the role instead (README: ALTER ROLE … SET jit = off, …).
_session_options = env_str("GISPORTAL_DB_SESSION_OPTIONS", "-c jit=off -c max_parallel_workers_per_gather=0")
if _session_options:
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = _session_options
DATABASES["default"]["TEST"] = {"NAME": env_str("GISPORTAL_TEST_DB", "test_gisportal")}

# A streaming replica for public reads (layers/db.py routes them): DATABASE_REPLICA_URL, or on the local
# cluster GISPORTAL_REPLICA_PORT (the same socket folder and database name). Same settings as the primary; a
# short connect time-out, since an unreachable replica only sends reads back to the primary. Under tests it
# mirrors the test database, which the replica streams from the primary (Django neither creates nor flushes it).
_replica_url = env_str("DATABASE_REPLICA_URL", "")
_replica_port = env_str("GISPORTAL_REPLICA_PORT", "")
if _replica_url or _replica_port:
    _replica = (dj_database_url.parse(_replica_url, engine="django.contrib.gis.db.backends.postgis") if _replica_url
                else {**DATABASES["default"], "PORT": _replica_port})
    for _setting in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS"):
        _replica[_setting] = DATABASES["default"][_setting]
    _replica["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}), "connect_timeout": 2, **_replica.get("OPTIONS", {})}
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = ["layers.db.Router"]
# Reads fall back to the primary when the replica is further behind than this (seconds).
GISPORTAL_REPLICA_MAX_LAG = env_float("GISPORTAL_REPLICA_MAX_LAG", 10.0)
# Each process checks the replica's health and lag at most this often (seconds), not once per request.
GISPORTAL_REPLICA_CHECK_SECONDS = env_float("GISPORTAL_REPLICA_CHECK_SECONDS", 1.0)
# A tile drawn for the shared cache waits this long (seconds) for the replica to replay the latest commits, then
# is drawn on the primary instead: a kept tile never predates a change whose invalidation it followed.
GISPORTAL_REPLICA_FRESH_WAIT = env_float("GISPORTAL_REPLICA_FRESH_WAIT", 0.05)
# After a user's write, that user's reads go to the primary for this long (seconds): read-your-writes.
GISPORTAL_READ_YOUR_WRITES_SECONDS = env_int("GISPORTAL_READ_YOUR_WRITES_SECONDS", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Vietnamese first; English by the switch.
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Tiếng Việt")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["gisportal.formats"]  # digit grouping in both languages
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("GISPORTAL_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# GISPORTAL_STATIC_MANIFEST=1 (the cluster, production; `collectstatic` is then a release step): fingerprinted
# names (map.3f2a….js), compressed copies, served with a year's immutable Cache-Control, so the front and
# browsers keep them and a release changes the names. Otherwise plain names from static/, no collectstatic.
GISPORTAL_STATIC_MANIFEST = env_bool("GISPORTAL_STATIC_MANIFEST", False)
# Compressed copies (.gz, .br) beside them, unless GISPORTAL_STATIC_COMPRESS=0 (a front that compresses itself).
_fingerprinted = ("gisportal.storage.FingerprintedStaticStorage" if env_bool("GISPORTAL_STATIC_COMPRESS", True)
                  else "gisportal.storage.FingerprintedUncompressedStorage")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": _fingerprinted if GISPORTAL_STATIC_MANIFEST
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = not GISPORTAL_STATIC_MANIFEST  # local runs serve static/ without a collectstatic step
MEDIA_ROOT = Path(env_str("GISPORTAL_MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
GISPORTAL_TILE_CACHE_DIR = env_str("GISPORTAL_TILE_CACHE_DIR", str(VAR_DIR / "tiles"))  # tiles/conf.py has the rest

# Rows per ingest chunk (memory per chunk vs. round trips); the fault tests use small chunks to stop a load mid-way.
INGEST_CHUNK_ROWS = env_int("GISPORTAL_INGEST_CHUNK_ROWS", 50_000)
# Files of at least this many features load as a new partition swapped in at the end (ingest/bulk.py); smaller
# ones row by row. The swap locks the feature table for a moment: it waits at most the lock timeout for readers
# to finish, lets them through, and tries again for up to the patience (seconds) before giving up.
INGEST_BULK_MIN_ROWS = env_int("GISPORTAL_INGEST_BULK_MIN_ROWS", 20_000)
INGEST_SWAP_LOCK_TIMEOUT = env_str("GISPORTAL_INGEST_SWAP_LOCK_TIMEOUT", "500ms")
INGEST_SWAP_PATIENCE = env_int("GISPORTAL_INGEST_SWAP_PATIENCE", 120)
INGEST_INDEX_MEMORY = env_str("GISPORTAL_INGEST_INDEX_MEMORY", "256MB")
# The directory every node and the job worker share (uploads waiting for their job, built export files): on
# one machine var/shared, in a cluster a shared volume (GISPORTAL_SHARED_DIR). Never served as media.
GISPORTAL_SHARED_DIR = Path(env_str("GISPORTAL_SHARED_DIR", str(VAR_DIR / "shared")))
INGEST_JOBS_DIR = Path(env_str("GISPORTAL_INGEST_JOBS_DIR", str(GISPORTAL_SHARED_DIR / "ingest")))
OPENDATA_CACHE_DIR = Path(env_str("OPENDATA_CACHE_DIR", str(GISPORTAL_SHARED_DIR / "exports")))
# The job queue (procrastinate, jobs in PostgreSQL; `manage.py procrastinate worker`, see layers/jobs.py).
# Heartbeats every 10 s; a worker silent for 30 s is stalled (its jobs are retried or failed, never run twice).
# LISTEN wakes a worker at once; behind PgBouncer's transaction pooling set GISPORTAL_WORKER_LISTEN=0 (it polls).
PROCRASTINATE_IMPORT_PATHS = env_list("GISPORTAL_JOB_MODULES", [])  # extra task modules (tests add probes)
PROCRASTINATE_WORKER_DEFAULTS = {
    "concurrency": max(1, env_int("GISPORTAL_WORKER_CONCURRENCY", 2)),
    "listen_notify": env_bool("GISPORTAL_WORKER_LISTEN", True),
    "fetch_job_polling_interval": 1.0,
    "update_heartbeat_interval": 10.0,
    "stalled_worker_timeout": 30.0,
}
# Uploads are streamed to disk above this size; the ingest issue sets its own file limit.
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Residents' reports (portal/report_limits.py, report_photos.py): attempts per client address and per device in
# a window, and the photo's limits (bytes sent, pixels decoded, longest side kept).
GISPORTAL_REPORTS_PER_IP = env_int("GISPORTAL_REPORTS_PER_IP", 30)
GISPORTAL_REPORTS_PER_DEVICE = env_int("GISPORTAL_REPORTS_PER_DEVICE", 10)
GISPORTAL_REPORTS_WINDOW = env_int("GISPORTAL_REPORTS_WINDOW", 3600)
GISPORTAL_REPORTS_PHOTO_MAX_BYTES = env_int("GISPORTAL_REPORTS_PHOTO_MAX_BYTES", 5 * 1024 * 1024)
GISPORTAL_REPORTS_PHOTO_MAX_PIXELS = env_int("GISPORTAL_REPORTS_PHOTO_MAX_PIXELS", 40_000_000)
GISPORTAL_REPORTS_PHOTO_MAX_SIDE = env_int("GISPORTAL_REPORTS_PHOTO_MAX_SIDE", 1600)

# Redis (scripts/bootstrap.sh starts a private one on a unix socket): the cache, sessions, rate counters and the
# shared tile cache. Keys carry a prefix per database, so test runs and the portal never share counters or tiles.
REDIS_URL = env_str("GISPORTAL_REDIS_URL", f"unix://{VAR_DIR / 'redis' / 'redis.sock'}")
# Under pytest (which sets PYTEST_VERSION) the prefix is the test database's name.
CACHE_KEY_PREFIX = env_str("GISPORTAL_CACHE_PREFIX", DATABASES["default"]["TEST"]["NAME"] if env_str("PYTEST_VERSION", "")
                           else DATABASES["default"]["NAME"])
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "TIMEOUT": 300,
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Map defaults for django-leaflet: the city, and no outside basemap unless one is configured.
GISPORTAL_BASEMAP_URL = env_str("GISPORTAL_BASEMAP_URL", "")
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (10.82, 106.79),
    "DEFAULT_ZOOM": 12,
    "MIN_ZOOM": 10,
    "MAX_ZOOM": 20,
    "TILES": [],
    "ATTRIBUTION_PREFIX": "gisportal",
    "RESET_VIEW": False,
    # Leaflet finds its marker images from leaflet.css's URL, which fingerprinting renames (GISPORTAL_STATIC_MANIFEST):
    # the folder is given instead (collectstatic keeps the plain names beside the hashed ones).
    "FORCE_IMAGE_PATH": STATIC_URL + "leaflet/images/",
}

# GeoDjango's guard against GDAL opening files or URLs named in spatial input (CVE-2026-15307) needs
# GDAL 3.9+, and Debian 12 ships 3.6. The platform never hands request text to GDAL or to spatial
# lookups: geometry input is parsed and validated first (layers/ and the views), so the check's
# warning is silenced here, deliberately, and network file systems are switched off for GDAL.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
for _gdal_option, _value in {"CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".none-allowed", "GDAL_HTTP_MAX_RETRY": "0",
                             "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}.items():
    __import__("os").environ.setdefault(_gdal_option, _value)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # procrastinate announces its task registry at every start of every process: only its warnings from there.
    "loggers": {"django.db.backends": {"level": "INFO"}, "procrastinate.periodic": {"level": "WARNING"},
                "procrastinate.blueprints": {"level": "WARNING"}},
}

# WMS 1.3.0 / WFS 2.0 at /ows through MapServer (opendata/ows). The mapfile is generated into OWS_DIR;
# MapServer reads PostGIS as OWS_DB_USER, a role that sees only public layers' non-personal data
# (migration opendata 0003; over TCP give it a password with ALTER ROLE and set OWS_DB_PASSWORD).
OWS_DIR = Path(env_str("OWS_DIR", str(VAR_DIR / "ows")))
OWS_MAPSERV = env_str("OWS_MAPSERV", "/usr/bin/mapserv")
OWS_DB_USER = env_str("OWS_DB_USER", "gisportal_ows")
OWS_DB_PASSWORD = env_str("OWS_DB_PASSWORD", "")
OWS_MAX_SIZE = env_int("OWS_MAX_SIZE", 4096)  # pixels on a side of a GetMap image
OWS_MAX_PIXELS = env_int("OWS_MAX_PIXELS", 4096 * 4096)  # width × height of a GetMap image
OWS_MAX_FEATURES = env_int("OWS_MAX_FEATURES", 10_000)  # a WFS page at most
OWS_TIMEOUT = env_int("OWS_TIMEOUT", 30)  # seconds a MapServer run may take
OWS_SLOTS = env_int("OWS_SLOTS", 4)  # MapServer runs at once across workers
OWS_WAIT = env_int("OWS_WAIT", 10)  # seconds a request waits for a slot before 503

# Outbound requests (opendata/outbound.py): harvest sources only on hosts listed here (host or host:port,
# comma-separated; none by default; a listed host may be private or loopback), webhooks to https on public
# addresses (GISPORTAL_WEBHOOK_HOSTS narrows them when set; GISPORTAL_WEBHOOK_ALLOW_INSECURE=1 admits http and
# loopback receivers, for local testing only).
GISPORTAL_HARVEST_HOSTS = env_list("GISPORTAL_HARVEST_HOSTS", [])
GISPORTAL_HARVEST_CONNECT_TIMEOUT = env_float("GISPORTAL_HARVEST_CONNECT_TIMEOUT", 5.0)
GISPORTAL_HARVEST_READ_TIMEOUT = env_float("GISPORTAL_HARVEST_READ_TIMEOUT", 30.0)
GISPORTAL_HARVEST_TOTAL_TIMEOUT = env_float("GISPORTAL_HARVEST_TOTAL_TIMEOUT", 120.0)
GISPORTAL_HARVEST_MAX_BYTES = env_int("GISPORTAL_HARVEST_MAX_BYTES", 64 * 1024 * 1024)  # one answer (page) at most
GISPORTAL_HARVEST_MAX_FEATURES = env_int("GISPORTAL_HARVEST_MAX_FEATURES", 500_000)  # one harvest at most
GISPORTAL_HARVEST_PAGE_SIZE = env_int("GISPORTAL_HARVEST_PAGE_SIZE", 1000)  # features asked per request
# The portal's public address, for links in what jobs send without a request at hand (webhook events).
GISPORTAL_PUBLIC_URL = env_str("GISPORTAL_PUBLIC_URL", "http://localhost:8000")
GISPORTAL_WEBHOOK_HOSTS = env_list("GISPORTAL_WEBHOOK_HOSTS", [])
GISPORTAL_WEBHOOK_ALLOW_INSECURE = env_bool("GISPORTAL_WEBHOOK_ALLOW_INSECURE", False)
