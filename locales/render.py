"""Renders chat messages from the jinja2 templates of each locale, with gettext for code strings."""

from __future__ import annotations

import gettext
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import jinja2

from locales import LANGUAGES, Language, formats

LOCALES_DIR = Path(__file__).parent
DOMAIN = "messages"


# Plural forms of unit words live in the catalogs under this context ("10 packets"); the plain
# entries name one unit ("Rs 25/packet"), so `_(unit)` keeps working in every template.
COUNT_CONTEXT = "count"


def translations(lang: Language) -> gettext.NullTranslations:
    """The compiled catalog of `lang`; English msgids stand in when it is not compiled."""
    return gettext.translation(
        DOMAIN, localedir=str(LOCALES_DIR), languages=[lang], fallback=True
    )


class Messages:
    """One jinja2 environment per language, built once; templates in `locales/<lang>/messages`."""

    def __init__(self) -> None:
        self._envs: dict[Language, jinja2.Environment] = {}
        self._translations: dict[Language, gettext.NullTranslations] = {}
        for lang in LANGUAGES:
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(LOCALES_DIR / lang / "messages"),
                extensions=["jinja2.ext.i18n"],
                undefined=jinja2.StrictUndefined,
                autoescape=False,  # WhatsApp text, not HTML
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=False,
                # Templates ship with the build: looking at each file's time on every render
                # was a sixth of a reply's rendering. An edited template is read on restart.
                auto_reload=False,
            )
            catalog = translations(lang)
            env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
            env.filters.update(
                unit=partial(unit_name, catalog),
                units=partial(counted, catalog, lang=lang),
                money=partial(formats.money, lang=lang),
                number=partial(formats.number, lang=lang),
                day=partial(formats.day, lang=lang),
                clock=partial(formats.clock, lang=lang),
                digits=partial(formats.digits, lang=lang),
            )
            self._envs[lang] = env
            self._translations[lang] = catalog

    def render(self, lang: Language, template: str, **context: Any) -> str:
        text = self._envs[lang].get_template(f"{template}.j2").render(lang=lang, **context)
        return text.strip()

    def gettext(self, lang: Language, message: str) -> str:
        return self._translations[lang].gettext(message)

    def pgettext(self, lang: Language, context: str, message: str) -> str:
        """A word of one document ("statement"), apart from the same word elsewhere."""
        return self._translations[lang].pgettext(context, message)


def _plural_count(value: object) -> int:
    """gettext's plural rules take whole numbers; a fraction reads as plural ("1.5 packets")."""
    amount = Decimal(str(value))
    return int(amount) if amount == amount.to_integral_value() else 2


def unit_name(catalog: gettext.NullTranslations, unit: str, count: object = 1) -> str:
    """A unit's name for `count` of it: "packet", "packets", "प्याकेट" (`{{ unit|unit(2) }}`)."""
    return catalog.npgettext(COUNT_CONTEXT, unit, unit, _plural_count(count))


def counted(catalog: gettext.NullTranslations, value: object, unit: str, *, lang: Language) -> str:
    """A count with its unit: "10 packets", "1 bora", "१० प्याकेट" (`{{ n|units(unit) }}`)."""
    return f"{formats.number(Decimal(str(value)), lang)} {unit_name(catalog, unit, value)}"
