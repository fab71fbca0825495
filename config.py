"""Settings classes read from the environment; no secrets live in code."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("PORTAL_INSTANCE_DIR", BASE_DIR / "instance"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _local_secrets() -> dict[str, str]:
    """Secrets for development only, generated once into instance/ (never committed); a secret
    added in a later version is generated into an existing file too. Several processes started
    together (gunicorn workers) take a file lock, so they all read the same secrets."""
    path = INSTANCE_DIR / "dev-secrets.json"
    wanted = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(48),
        "NIK_ENCRYPTION_KEYS": lambda: "1:" + secrets.token_urlsafe(32),
        "NIK_HASH_KEY": lambda: secrets.token_urlsafe(32),
        "CERTIFICATE_SIGNING_KEY": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        "STRIPE_WEBHOOK_SECRET": lambda: "whsec_sandbox_" + secrets.token_hex(16),
    }
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    with open(INSTANCE_DIR / "dev-secrets.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        values = json.loads(path.read_text()) if path.exists() else {}
        missing = {name: make() for name, make in wanted.items() if name not in values}
        if missing:
            values.update(missing)
            path.write_text(json.dumps(values, indent=2))
            path.chmod(0o600)
    return values


class Config:
    """Shared defaults; each environment overrides what differs."""

    ENV_NAME = "base"
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'portal.db'}"
    )
    # pool_pre_ping: a connection the database dropped is replaced before a request uses it;
    # hide_parameters: errors never carry the statement's values (names, birth dates).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True, "hide_parameters": True}

    # Personal data protection: AES-GCM keys as "id:base64key[,id:base64key]"; the first encrypts.
    NIK_ENCRYPTION_KEYS = os.environ.get("NIK_ENCRYPTION_KEYS")
    NIK_HASH_KEY = os.environ.get("NIK_HASH_KEY")
    # Certificates: an Ed25519 private key (base64 of its 32-byte seed); the public key is
    # published at /verify/public-key.
    CERTIFICATE_SIGNING_KEY = os.environ.get("CERTIFICATE_SIGNING_KEY")

    # Sessions and cookies (Flask's defaults are not safe enough).
    SESSION_COOKIE_NAME = "pijar_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_DURATION = 0
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
    SESSION_ABSOLUTE_HOURS = int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12"))
    PERMANENT_SESSION_LIFETIME = 12 * 3600

    # Requests and uploads.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(20 * 1024 * 1024)))
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    # Login protection.
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute; 50 per hour")
    LOGIN_ACCOUNT_RATE_LIMIT = os.environ.get("LOGIN_ACCOUNT_RATE_LIMIT", "5 per minute")
    PASSWORD_MIN_LENGTH = int(os.environ.get("PASSWORD_MIN_LENGTH", "15"))
    PASSWORD_RESET_MAX_AGE = 3600

    # Language and money display.
    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    LANGUAGES = ("id", "en")
    BOOTSTRAP_SERVE_LOCAL = True

    # Mail: SMTP in production, an outbox folder in development.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT", "10"))  # seconds; a worker retries later
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "PIJAR SEMAR <noreply@semarangkota.go.id>"
    )
    MAIL_FILE_PATH = str(INSTANCE_DIR / "outbox")
    MAIL_PRINT = False

    # Payments.
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET")
    # Stripe's IDR maximum is not documented clearly: larger pledges are paid by transfer.
    STRIPE_MAX_AMOUNT = int(os.environ.get("STRIPE_MAX_AMOUNT", "999999999"))
    CITY_BANK_NAME = os.environ.get("CITY_BANK_NAME", "Bank Jateng")
    CITY_BANK_ACCOUNT_NAME = os.environ.get(
        "CITY_BANK_ACCOUNT_NAME", "RKUD Pemerintah Kota Semarang - PIJAR SEMAR"
    )
    CITY_BANK_ACCOUNT_NUMBER = os.environ.get("CITY_BANK_ACCOUNT_NUMBER", "1-000-00000-0")

    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # The job engine's broker (portal/jobs.py reads JOBS_BROKER, REDIS_URL, JOBS_SQLITE_PATH
    # from the environment when it starts): sqlite in development, redis in production.
    UPLOAD_DIR = str(INSTANCE_DIR / "uploads")
    RECENT_LOGIN_MINUTES = 5  # sensitive actions ask for the password again after this
    FORCE_HTTPS = False
    DEMO_DATA_ALLOWED = True
    # A do-nothing POST route that benchmarks compare real routes against (never in production).
    BENCH_ROUTES = _env_bool("BENCH_ROUTES", False)


class DevelopmentConfig(Config):
    """The embedded default: SQLite under instance/, mail to a folder, sandbox payments."""

    ENV_NAME = "development"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "file")
    MAIL_PRINT = _env_bool("MAIL_PRINT", True)

    def __init__(self) -> None:
        local = _local_secrets()
        self.SECRET_KEY = self.SECRET_KEY or local["SECRET_KEY"]
        self.NIK_ENCRYPTION_KEYS = self.NIK_ENCRYPTION_KEYS or local["NIK_ENCRYPTION_KEYS"]
        self.NIK_HASH_KEY = self.NIK_HASH_KEY or local["NIK_HASH_KEY"]
        self.CERTIFICATE_SIGNING_KEY = (
            self.CERTIFICATE_SIGNING_KEY or local["CERTIFICATE_SIGNING_KEY"]
        )
        # Only the sandbox uses it (no STRIPE_SECRET_KEY): every process must verify the same.
        self.STRIPE_WEBHOOK_SECRET = self.STRIPE_WEBHOOK_SECRET or local["STRIPE_WEBHOOK_SECRET"]


class TestingConfig(Config):
    """Used by the test suite: a throwaway database and fixed keys."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
    NIK_ENCRYPTION_KEYS = "1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    NIK_HASH_KEY = "test-hash-key"
    CERTIFICATE_SIGNING_KEY = "dGVzdC1zaWduaW5nLWtleS1ub3QtZm9yLXByb2R1Y3Q="  # noqa: S105
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SESSION_COOKIE_SECURE = False
    MAIL_BACKEND = "locmem"
    RATELIMIT_STORAGE_URI = "memory://"
    SERVER_NAME = None
    UPLOAD_DIR = str(Path(tempfile.gettempdir()) / "pijar-test-uploads")


class ProductionConfig(Config):
    """Real deployment: every secret must come from the environment."""

    ENV_NAME = "production"
    FORCE_HTTPS = True
    DEMO_DATA_ALLOWED = False
    BENCH_ROUTES = False

    REQUIRED = (
        "SECRET_KEY",
        "DATABASE_URL",
        "NIK_ENCRYPTION_KEYS",
        "NIK_HASH_KEY",
        "CERTIFICATE_SIGNING_KEY",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "REDIS_URL",
    )

    def __init__(self) -> None:
        missing = [name for name in self.REQUIRED if not os.environ.get(name)]
        if missing:
            raise RuntimeError("Missing production settings: " + ", ".join(missing))


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None = None) -> Config:
    """Return the settings object for PORTAL_ENV (development when unset)."""
    name = name or os.environ.get("PORTAL_ENV", "development")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise RuntimeError(f"Unknown PORTAL_ENV {name!r}; use one of {sorted(CONFIGS)}") from None
