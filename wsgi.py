"""WSGI entry point for any WSGI server. With gunicorn, take the service's settings too:

    gunicorn -c python:issuer.serving.gunicorn_conf -b 127.0.0.1:8000 wsgi:app

Production unless BADGES_ENV=development: BADGES_BASE_URL must be the public https origin. Run
`badges db upgrade` first; the first start creates the default issuer (see issuer.serving.start).
"""

from issuer.serving.start import start_app

app = start_app()
