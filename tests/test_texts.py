"""Templates: every locale has every template, labels are plain text escaped exactly once."""

from __future__ import annotations

import jinja2
import pytest

from bot.texts import MESSAGES_DIR, Texts, normalize_locale
from tests.conftest import Bot


def test_both_locales_have_the_same_templates() -> None:
    zh = {p.name for p in (MESSAGES_DIR / "zh").glob("*.j2")}
    en = {p.name for p in (MESSAGES_DIR / "en").glob("*.j2")}
    assert zh == en


@pytest.mark.parametrize(
    ("code", "expected"), [("zh-hans", "zh"), ("en-US", "en"), ("fr", "zh"), (None, "zh")]
)
def test_locale_normalisation(code: str | None, expected: str) -> None:
    assert normalize_locale(code) == expected


def test_missing_variables_fail_loudly() -> None:
    with pytest.raises(jinja2.UndefinedError):
        Texts().render("zh", "staff_welcome", name="王师傅")


async def test_labels_are_plain_text_and_escaped_once(bot: Bot) -> None:
    desk = bot.desk
    label = desk.label("en", "category", "paperwork")
    assert label == "Certificates & services"  # as a button shows it
    text = desk.texts.render(
        "en",
        "notice_accepted",
        t={"id": 1, "category": label},
        follower=False,
        staff_name="Wang <b>",
        staff_role="repairs",
    )
    assert "Certificates &amp; services" in text and "&amp;amp;" not in text
    assert "Wang &lt;b&gt;" in text  # user-supplied text never becomes markup
