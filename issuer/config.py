"""Configuration defaults. Every key can be set as BADGES_<KEY> in the environment or in
the instance folder's config.py; tests pass a mapping to create_app."""



class ConfigurationError(ValueError):
    """A configuration value that cannot be used; the message names the key."""


DEFAULTS = {
    # Public origin used in identifiers (credential ids, did:web) and links.
    "BASE_URL": "http://127.0.0.1:5000",
    # None: a SQLite file in the instance folder.
    "DATABASE_URL": None,
    # Bounded waits on the database (issuer/db.py): connecting (PostgreSQL), and each statement
    # (PostgreSQL's statement_timeout; SQLite: waiting for another writer's lock). 0: no statement limit.
    "DATABASE_CONNECT_TIMEOUT_SECONDS": 10,
    "DATABASE_STATEMENT_TIMEOUT_SECONDS": 30,
    # Base64url of 32 bytes; None: read or create <instance>/key-encryption-key (mode 0600).
    "KEY_ENCRYPTION_KEY": None,
    # Or a file holding it (a container secret; not readable by others). Every node of a deployment
    # needs the same key; a node creates the instance folder's file only on a database without keys.
    "KEY_ENCRYPTION_KEY_FILE": None,
    # Signs cookies: the console's session, CSRF tokens, the earner's portfolio session
    # (issuer/websession.py); None: read or create
    # <instance>/secret-key (mode 0600). Every node of a deployment needs the same one.
    "SECRET_KEY": None,
    # Console sign-in (issuer/console): failed attempts allowed per account and per address.
    "THROTTLE_SIGNIN_PER_ACCOUNT": "5 per 15 minutes",
    "THROTTLE_SIGNIN_PER_ADDRESS": "20 per 15 minutes",
    # Strict-Transport-Security max-age sent on answers over https (0: none).
    "HSTS_MAX_AGE_SECONDS": 31536000,
    # Largest request body accepted, in bytes.
    "MAX_CONTENT_LENGTH": 1 * 1024 * 1024,
    # Slug and name of the issuer created on first start.
    "DEFAULT_ISSUER_SLUG": "default",
    "DEFAULT_ISSUER_NAME": "Badges Issuer",
    # Verifier: DIDs of trusted issuers (None: no registry; the trust check is skipped).
    "TRUSTED_ISSUERS": None,
    "VERIFY_MAX_CLOCK_SKEW_SECONDS": 300,
    # Plain HTTP to 127.0.0.1 for did:web, status lists and URLs: development and tests only.
    "VERIFY_ALLOW_HTTP_LOOPBACK": False,
    "VERIFY_ALLOW_PRIVATE_ADDRESSES": False,
    # Status lists: the entries each new credential carries (Open Badges 3.0's JSON Schema allows
    # one entry only, so suspension is opt-in: ["revocation", "suspension"]; VC Data Model 2.0
    # allows several), how long a verifier may cache a list (its ttl), and how long a signed list
    # is valid.
    "STATUS_PURPOSES": ["revocation"],
    "STATUS_LIST_TTL_SECONDS": 300,
    "STATUS_LIST_VALID_SECONDS": 86400,
    # Email to earners (`badges notify`): expiry reminders, in days before expiry (only the
    # nearest due one is sent); award emails for credentials issued this many days back at most.
    "REMINDER_DAYS": [30, 7, 1],
    "REMINDER_AWARD_WINDOW_DAYS": 7,
    # A run's claim on an email lapses after this (the run died); failed sends before giving up.
    "NOTIFY_CLAIM_TIMEOUT_SECONDS": 600,
    "NOTIFY_MAX_ATTEMPTS": 5,
    # The mail server; without SMTP_HOST, emails are written to the "issuer.mail" log instead.
    "SMTP_HOST": None,
    "SMTP_PORT": 25,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_STARTTLS": False,
    "SMTP_TIMEOUT_SECONDS": 30,
    # The sender address (required with SMTP_HOST); the issuer's name is its display name.
    "MAIL_FROM": None,
    # "production" or "development"; None: production under wsgi.py, and under `badges serve`
    # unless it listens on loopback only or runs with --dev. Production requires an https BASE_URL.
    "ENV": None,
    # Serving (gunicorn): worker processes (None: one per CPU core), threads per worker, the
    # longest a request may take from its first byte to the last byte of its answer, and how
    # long an idle kept-alive connection stays open.
    "WORKERS": None,
    "THREADS": 32,
    "REQUEST_TIMEOUT_SECONDS": 30,
    "KEEPALIVE_SECONDS": 5,
    # TLS for deployments without a TLS-terminating proxy: PEM certificate chain and key files.
    "CERTFILE": None,
    "KEYFILE": None,
    # Where the first start writes the first instance admin token (mode 0600); None: `badges
    # serve` prints it, other servers make none (create one with `badges token create`).
    "TOKEN_FILE": None,
    # Database connections each process keeps at most (one per thread by default).
    "DATABASE_POOL_SIZE": 32,
    # Throttling (issuer/throttle.py): limits such as "300 per minute" ("" for none), counted in
    # memory (per process) or in Redis ("redis://host:6379/0", shared by every worker).
    "THROTTLE_ENABLED": True,
    "THROTTLE_STORAGE_URI": "memory://",
    "THROTTLE_KEY_PREFIX": "badges",
    "THROTTLE_PUBLIC": "300 per minute",
    "THROTTLE_API_PER_TOKEN": "1200 per minute",
    "THROTTLE_API_PER_ADDRESS": "2400 per minute",
    "THROTTLE_AUTH_FAILURES": "20 per 10 minutes",
    "THROTTLE_MANAGE_MISSES": "20 per 10 minutes",
    "THROTTLE_VERIFY_URL": "20 per minute",
    # Reverse proxies in front of the service whose X-Forwarded-For/-Proto are trusted (0: none,
    # the client's address is the connection's).
    "TRUSTED_PROXY_COUNT": 0,
    # The earner portfolio (/me, issuer/portfolio): a sign-in link works once within this many
    # minutes; the earner stays signed in this long; credentials expiring within this many days are
    # listed as needing renewal. Sign-in requests are throttled per address and per email asked for.
    "PORTFOLIO_LINK_MINUTES": 15,
    "PORTFOLIO_SESSION_MINUTES": 720,
    "PORTFOLIO_RENEWAL_WINDOW_DAYS": 30,
    "THROTTLE_SIGN_IN": "10 per 10 minutes",
    "THROTTLE_SIGN_IN_PER_EMAIL": "5 per hour",
    # The task queue (issuer/queue.py): None: huey's SQLite storage in the instance folder;
    # "redis://host:6379/0": Redis. QUEUE_NAME keeps several instances apart on one Redis.
    "QUEUE_URL": None,
    "QUEUE_NAME": "badges",
    # Threads of `badges worker` (and of the worker `badges serve` starts).
    "QUEUE_WORKERS": 2,
    # Award emails and reminders run on the queue every this many minutes (and after each issuance).
    "NOTIFY_EVERY_MINUTES": 15,
    # Webhooks (issuer/webhooks): plain http to loopback for endpoint URLs (tests only); the
    # time one delivery may take; retries: the first delay, doubling up to the largest, for the
    # retry period (then the endpoint is disabled); how long a worker's claim on a message lasts.
    "WEBHOOK_ALLOW_LOOPBACK": False,
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "WEBHOOK_RETRY_BASE_SECONDS": 5,
    "WEBHOOK_RETRY_MAX_DELAY_SECONDS": 3600,
    "WEBHOOK_RETRY_PERIOD_SECONDS": 86400,
    "WEBHOOK_CLAIM_SECONDS": 60,
    # credential.expiring is told this many days before validUntil; credential.expired for
    # credentials that expired at most this many days back (a worker that was down catches up).
    "WEBHOOK_EXPIRING_DAYS": 30,
    "WEBHOOK_EXPIRED_LOOKBACK_DAYS": 7,
}
