"""The site's HTML: one Jinja environment for templates/, and render(), which gives every page what base.html
needs besides its own context (its language, the words of the interface, the note on the translation)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .pages import LANGS, word

TEMPLATES = Path(__file__).resolve().parent / "templates"

environment = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def page_lang(request: Request | None) -> str:
    """The language a page is asked in (?lang=en), Dutch by default."""
    lang = request.query_params.get("lang", "nl") if request is not None else "nl"
    return lang if lang in LANGS else "nl"


def has_unofficial(value: object) -> bool:
    """Whether what a page shows holds a text from the project's translation (a Value or an APItem marked
    unofficial, at any depth): the page then says once what that translation is."""
    if isinstance(value, dict):
        return any(has_unofficial(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_unofficial(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return getattr(value, "unofficial", False) or any(
            has_unofficial(getattr(value, f.name)) for f in dataclasses.fields(value)
        )
    return False


def render(template: str, request: Request | None, lang: str | None = None, **context: object) -> str:
    """A page: template with context, in lang (by default the request's; napkg build renders without a
    request), with w(key) for the interface's words and lq (the ?lang=en that links keep)."""
    lang = lang or page_lang(request)
    return environment.get_template(template).render(
        request=request,
        lang=lang,
        w=lambda key: word(key, lang),
        lq="?lang=en" if lang == "en" else "",
        unofficial_note=has_unofficial(context),
        **context,
    )
