"""Gunicorn settings from the service's configuration (BADGES_* and `<instance>/config.py`), the
same that `badges serve` uses:

    gunicorn -c python:issuer.serving.gunicorn_conf -b 127.0.0.1:8000 wsgi:app

Gunicorn's own command-line options still win. A setting that would do harm (an http BASE_URL in
production), an old schema, or a node that is not its deployment's (another origin or key-encryption
key) stops the start here, in one line, before any worker starts.
"""

import sys

from issuer.config import ConfigurationError
from issuer.serving.settings import check, gunicorn_settings, read_config
from issuer.serving.start import check_deployment

try:
    _config = read_config()
    check(_config)
    # The deployment's origin and key-encryption key, checked once here rather than in each worker.
    check_deployment()
    # Gunicorn reads this module's names that are its settings: workers, threads, timeout, ...
    globals().update(gunicorn_settings(_config))
except ConfigurationError as error:
    sys.exit(f"badges: {error}")
