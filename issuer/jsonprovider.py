"""The app's JSON answers: always strict JSON, whatever a handler hands over."""

from __future__ import annotations

from flask.json.provider import DefaultJSONProvider


class StrictJSONProvider(DefaultJSONProvider):
    """Keys in the order built (documents read as written), and never NaN or Infinity: they are
    not JSON, so a value that slipped past the input checks fails loudly (a 500) instead of being
    answered as something no client can parse."""

    sort_keys = False

    def dumps(self, obj, **kwargs) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)
