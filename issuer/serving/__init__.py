"""Serving the app: gunicorn in production (`badges serve`, `gunicorn -c python:issuer.serving.gunicorn_conf
wsgi:app`), werkzeug's development server with `badges serve --dev`; the start-up checks and the
first start that every server runs; logs that never carry a secret."""
