"""Phone numbers moved to locales.numbers; this re-export lasts until dialogs/ imports them from
there (it is the one import of dialogs/ that points up into bot/)."""

from __future__ import annotations

from locales.numbers import PhoneError, mask, wa_id
from locales.numbers import normalize_phone as normalize

__all__ = ["PhoneError", "mask", "normalize", "wa_id"]
