"""One jinja2 environment for every user-visible text (messages/<locale>/*.j2)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

import messages

SUPPORTED_LOCALES: tuple[str, ...] = ("zh", "en")
DEFAULT_LOCALE = "zh"
MESSAGES_DIR = Path(messages.__file__).parent


def normalize_locale(language_code: str | None) -> str:
    """Telegram sends IETF tags such as "zh-hans" or "en-US"; map them to ours."""
    if not language_code:
        return DEFAULT_LOCALE
    primary = language_code.split("-")[0].split("_")[0].lower()
    return primary if primary in SUPPORTED_LOCALES else DEFAULT_LOCALE


class Texts:
    def __init__(self, directory: Path = MESSAGES_DIR) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # templates ship with the code: no stat() per message
        )

    def render(self, locale: str, template_name: str, /, **context: Any) -> str:
        """Render messages/<locale>/<template_name>.j2, falling back to the default locale."""
        locale = normalize_locale(locale)
        try:
            template = self._env.get_template(f"{locale}/{template_name}.j2")
        except jinja2.TemplateNotFound:
            template = self._env.get_template(f"{DEFAULT_LOCALE}/{template_name}.j2")
        return template.render(**context).strip()


@cache
def default_texts() -> Texts:
    return Texts()
