"""Gunicorn run from `badges serve`, with the settings it was given instead of gunicorn's command line."""

from __future__ import annotations

from collections.abc import Callable

from gunicorn.app.base import BaseApplication


class GunicornServer(BaseApplication):
    """`settings` are gunicorn's (see settings.gunicorn_settings, plus `bind`); `load` builds the
    app in each worker process, so no database connection is shared across a fork."""

    def __init__(self, settings: dict, load: Callable):
        self._settings = settings
        self._load = load
        super().__init__()

    def load_config(self):
        for key, value in self._settings.items():
            self.cfg.set(key, value)

    def load(self):
        return self._load()
