"""Compiles the gettext catalogs (`.po` → `.mo`); part of the build (`make run`, `make test`)."""

from __future__ import annotations

import sys

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from locales.render import DOMAIN, LOCALES_DIR


def compile_catalogs() -> list[str]:
    done = []
    for po_path in sorted(LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po_path.open("rb") as source:
            catalog = read_po(source, locale=po_path.parent.parent.name)
        errors = [(m.id, e) for m, errs in catalog.check() for e in errs]
        if errors:
            raise SystemExit(f"{po_path}: {errors}")
        with po_path.with_suffix(".mo").open("wb") as target:
            write_mo(target, catalog)
        done.append(str(po_path.relative_to(LOCALES_DIR)))
    return done


if __name__ == "__main__":
    compiled = compile_catalogs()
    print(f"compiled {len(compiled)} catalogs", file=sys.stderr)
