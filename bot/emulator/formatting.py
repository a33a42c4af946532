"""Text formatting the way the Bot API does it: parse modes, auto-detected entities, UTF-16.

Telegram measures entity offsets in UTF-16 code units, so an emoji outside the BMP counts
as two while a Chinese character counts as one. Errors mimic Telegram's wording so code
that inspects ``BadRequest.message`` behaves as it would in production.
"""

from __future__ import annotations

import re
from typing import Any

Entity = dict[str, Any]

_WS = " \t\r\n"


class EntityParseError(ValueError):
    """Raised with the text Telegram puts after "Bad Request: can't parse entities: "."""


class UnsupportedParseMode(ValueError):
    """The parse_mode is none of HTML, MarkdownV2, Markdown."""


def utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The substring an entity with UTF-16 ``offset``/``length`` covers."""
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


class _Builder:
    """Accumulates plain text while tracking the UTF-16 position for entity offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pos += utf16_len(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


# --------------------------------------------------------------------------- HTML

_HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ATTR_RE = re.compile(r"""\s*([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")


def _html_unescape(source: str, index: int) -> tuple[str, int] | None:
    """Decode the entity at ``source[index] == '&'``; None means a literal '&' (as tdlib does)."""
    end = source.find(";", index)
    if end == -1 or end - index > 10:
        return None
    name = source[index + 1 : end]
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], end + 1
    try:
        if name.startswith(("#x", "#X")):
            return chr(int(name[2:], 16)), end + 1
        if name.startswith("#"):
            return chr(int(name[1:])), end + 1
    except (ValueError, OverflowError):
        return None
    return None


def parse_html(source: str) -> tuple[str, list[Entity]]:
    out = _Builder()
    entities: list[Entity] = []
    # (tag name, entity type, start offset, attributes)
    stack: list[tuple[str, str, int, dict[str, str]]] = []
    attrs: dict[str, str]
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        if ch == "&":
            decoded = _html_unescape(source, i)
            if decoded is None:
                out.add("&")
                i += 1
            else:
                out.add(decoded[0])
                i = decoded[1]
            continue
        if ch != "<":
            j = i
            while j < n and source[j] not in "<&":
                j += 1
            out.add(source[i:j])
            i = j
            continue
        tag_start = i
        if i + 1 < n and source[i + 1] == "/":
            close = source.find(">", i)
            if close == -1:
                raise EntityParseError(
                    f"Unclosed end tag at byte offset {_byte_offset(source, tag_start)}"
                )
            name = source[i + 2 : close].strip().lower()
            if not stack:
                raise EntityParseError(
                    f"Unexpected end tag at byte offset {_byte_offset(source, tag_start)}"
                )
            open_name, kind, start, attrs = stack.pop()
            if name != open_name:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(source, tag_start)}, "
                    f'expected "</{open_name}>", found "</{name}>"'
                )
            _close_html_entity(entities, stack, kind, start, out.pos - start, attrs)
            i = close + 1
            continue
        j = i + 1
        while j < n and (source[j].isalnum() or source[j] == "-"):
            j += 1
        name = source[i + 1 : j].lower()
        if name not in _HTML_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, tag_start)}'
            )
        close = source.find(">", j)
        if close == -1:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(source, tag_start)}"
            )
        attrs = {}
        for match in _ATTR_RE.finditer(source[j:close].rstrip("/")):
            value = next((g for g in match.groups()[1:] if g is not None), "")
            attrs[match.group(1).lower()] = value
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError('Tag "span" must have class "tg-spoiler"')
        stack.append((name, _HTML_TAGS[name], out.pos, attrs))
        i = close + 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.text, entities


def _close_html_entity(
    entities: list[Entity],
    stack: list[tuple[str, str, int, dict[str, str]]],
    kind: str,
    start: int,
    length: int,
    attrs: dict[str, str],
) -> None:
    if length <= 0:
        return
    entity: Entity = {"type": kind, "offset": start, "length": length}
    if kind == "text_link":
        href = attrs.get("href")
        if not href:
            return
        user = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if user:
            entity = {
                "type": "text_mention",
                "offset": start,
                "length": length,
                "user": {"id": int(user.group(1)), "is_bot": False, "first_name": ""},
            }
        else:
            entity["url"] = href
    elif kind == "code" and stack and stack[-1][1] == "pre":
        # <pre><code class="language-x"> is one pre entity with a language.
        language = attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1][3]["language"] = language.removeprefix("language-")
        return
    elif kind == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif kind == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    entities.append(entity)


# --------------------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


def parse_markdown_v2(source: str) -> tuple[str, list[Entity]]:
    out = _Builder()
    entities: list[Entity] = []
    # (entity type, start offset in output, byte offset of the opening marker)
    stack: list[tuple[str, int, int]] = []
    quote_start: int | None = None
    i = 0
    n = len(source)

    def reserved(index: int) -> EntityParseError:
        return EntityParseError(
            f"Character '{source[index]}' is reserved and must be escaped with the preceding '\\'"
        )

    def toggle(kind: str) -> None:
        if stack and stack[-1][0] == kind:
            _, start, _ = stack.pop()
            if out.pos > start:
                entities.append({"type": kind, "offset": start, "length": out.pos - start})
        elif any(kind == open_kind for open_kind, _, _ in stack):
            raise EntityParseError(
                f"Can't find end of {_MDV2_NAMES[stack[-1][0]]} entity at byte offset "
                f"{stack[-1][2]}"
            )
        else:
            stack.append((kind, out.pos, _byte_offset(source, i)))

    while i < n:
        ch = source[i]
        at_line_start = i == 0 or source[i - 1] == "\n"
        if at_line_start and quote_start is not None and ch != ">":
            entities.append(
                {"type": "blockquote", "offset": quote_start, "length": out.pos - quote_start}
            )
            quote_start = None
        if ch == "\\":
            if i + 1 < n and 0 < ord(source[i + 1]) < 127:
                out.add(source[i + 1])
                i += 2
                continue
            raise reserved(i)
        if ch == ">" and at_line_start:
            if quote_start is None:
                quote_start = out.pos
            i += 1
            continue
        if ch == "`":
            is_pre = source.startswith("```", i)
            marker = "```" if is_pre else "`"
            body_start = i + len(marker)
            language = ""
            if is_pre:
                newline = source.find("\n", body_start)
                first_line = source[body_start:newline] if newline != -1 else ""
                if newline != -1 and first_line and not any(c in first_line for c in " `\\"):
                    language = first_line
                    body_start = newline + 1
            j = body_start
            start = out.pos
            while True:
                if j >= n:
                    kind = "Pre" if is_pre else "Code"
                    raise EntityParseError(
                        f"Can't find end of {kind} entity at byte offset {_byte_offset(source, i)}"
                    )
                if source[j] == "\\" and j + 1 < n and source[j + 1] in "`\\":
                    out.add(source[j + 1])
                    j += 2
                    continue
                if source.startswith(marker, j):
                    break
                out.add(source[j])
                j += 1
            if out.pos > start:
                entity: Entity = {
                    "type": "pre" if is_pre else "code",
                    "offset": start,
                    "length": out.pos - start,
                }
                if language:
                    entity["language"] = language
                entities.append(entity)
            i = j + len(marker)
            continue
        if ch == "_" and source.startswith("__", i):
            toggle("underline")
            i += 2
            continue
        if ch == "|" and source.startswith("||", i):
            toggle("spoiler")
            i += 2
            continue
        if ch in "*_~":
            toggle({"*": "bold", "_": "italic", "~": "strikethrough"}[ch])
            i += 1
            continue
        if ch == "[" or (ch == "!" and source.startswith("![", i)):
            stack.append(("text_link", out.pos, _byte_offset(source, i)))
            i += 2 if ch == "!" else 1
            continue
        if ch == "]" and stack and stack[-1][0] == "text_link":
            _, start, _ = stack.pop()
            if not source.startswith("(", i + 1):
                raise reserved(i)
            j = i + 2
            url_chars: list[str] = []
            while j < n and source[j] != ")":
                if source[j] == "\\" and j + 1 < n:
                    j += 1
                url_chars.append(source[j])
                j += 1
            if j >= n:
                raise EntityParseError(
                    f"Can't find end of a URL at byte offset {_byte_offset(source, i + 1)}"
                )
            url = "".join(url_chars)
            if out.pos > start:
                emoji = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
                user = re.fullmatch(r"tg://user\?id=(\d+)", url)
                if emoji:
                    entities.append(
                        {
                            "type": "custom_emoji",
                            "offset": start,
                            "length": out.pos - start,
                            "custom_emoji_id": emoji.group(1),
                        }
                    )
                elif user:
                    entities.append(
                        {
                            "type": "text_mention",
                            "offset": start,
                            "length": out.pos - start,
                            "user": {"id": int(user.group(1)), "is_bot": False, "first_name": ""},
                        }
                    )
                else:
                    entities.append(
                        {
                            "type": "text_link",
                            "offset": start,
                            "length": out.pos - start,
                            "url": url,
                        }
                    )
            i = j + 1
            continue
        if ch in _MDV2_RESERVED:
            raise reserved(i)
        out.add(ch)
        i += 1
    if stack:
        kind, _, byte_offset = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset {byte_offset}"
        )
    if quote_start is not None and out.pos > quote_start:
        entities.append(
            {"type": "blockquote", "offset": quote_start, "length": out.pos - quote_start}
        )
    return out.text, entities


# --------------------------------------------------------------------------- legacy Markdown

_LEGACY = {"*": "bold", "_": "italic"}


def parse_markdown(source: str) -> tuple[str, list[Entity]]:
    out = _Builder()
    entities: list[Entity] = []
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n and source[i + 1] in "_*`[":
            out.add(source[i + 1])
            i += 2
            continue
        if ch in "*_`[":
            marker = "```" if source.startswith("```", i) else ("]" if ch == "[" else ch)
            body_start = i + (3 if marker == "```" else 1)
            end = source.find(marker, body_start)
            if end == -1:
                raise EntityParseError(
                    "Can't find end of the entity starting at byte offset "
                    f"{_byte_offset(source, i)}"
                )
            body = source[body_start:end]
            start = out.pos
            out.add(body)
            length = out.pos - start
            next_i = end + len(marker)
            entity: Entity
            if ch == "[":
                url_match = re.match(r"\(([^)]*)\)", source[next_i:])
                if not url_match:
                    entity = {}
                else:
                    entity = {"type": "text_link", "url": url_match.group(1)}
                    next_i += url_match.end()
            elif marker == "```":
                entity = {"type": "pre"}
            elif ch == "`":
                entity = {"type": "code"}
            else:
                entity = {"type": _LEGACY[ch]}
            if entity and length > 0:
                entities.append({**entity, "offset": start, "length": length})
            i = next_i
            continue
        out.add(ch)
        i += 1
    return out.text, entities


# --------------------------------------------------------------------------- auto entities

_COMMAND_RE = re.compile(r"/([A-Za-z0-9_]{1,64})(@[A-Za-z0-9_]{3,32})?")
_MENTION_RE = re.compile(r"@[A-Za-z0-9_]{3,32}")
_HASHTAG_RE = re.compile(r"#\w+")
_CASHTAG_RE = re.compile(r"\$[A-Z]{3,8}")
_URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"'，。！？、；：（）【】《》]+", re.IGNORECASE)
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _bounded(text: str, start: int, end: int, extra: str = "") -> bool:
    """tdlib only accepts a match that is not glued to surrounding word characters."""
    if start > 0 and (_word_char(text[start - 1]) or text[start - 1] in extra):
        return False
    return not (end < len(text) and (_word_char(text[end]) or text[end] in extra))


def detect_entities(text: str) -> list[Entity]:
    """Entities Telegram finds on its own: commands, mentions, hashtags, cashtags, URLs, e-mail."""
    found: list[tuple[int, int, str]] = []  # (start, end) in code points

    for match in _URL_RE.finditer(text):
        end = match.end()
        while end > match.start() and text[end - 1] in ".,;:!?)]}":
            end -= 1
        if match.start() == 0 or not _word_char(text[match.start() - 1]):
            found.append((match.start(), end, "url"))
    for match in _EMAIL_RE.finditer(text):
        if _bounded(text, match.start(), match.end(), "@"):
            found.append((match.start(), match.end(), "email"))
    for match in _COMMAND_RE.finditer(text):
        if _bounded(text, match.start(), match.end(), "/<>"):
            found.append((match.start(), match.end(), "bot_command"))
    for match in _MENTION_RE.finditer(text):
        if _bounded(text, match.start(), match.end(), "@"):
            found.append((match.start(), match.end(), "mention"))
    for match in _HASHTAG_RE.finditer(text):
        # A hashtag needs at least one non-digit, and '#' must not be glued to a word.
        if _bounded(text, match.start(), match.end(), "#") and not match.group()[1:].isdigit():
            found.append((match.start(), match.end(), "hashtag"))
    for match in _CASHTAG_RE.finditer(text):
        if _bounded(text, match.start(), match.end(), "$"):
            found.append((match.start(), match.end(), "cashtag"))

    found.sort(key=lambda item: (item[0], -(item[1] - item[0])))
    result: list[Entity] = []
    taken_until = -1
    for start, end, kind in found:
        if start < taken_until:
            continue  # overlaps an earlier, longer match (e.g. a mention inside a URL)
        taken_until = end
        result.append(
            {
                "type": kind,
                "offset": utf16_len(text[:start]),
                "length": utf16_len(text[start:end]),
            }
        )
    return result


def merge_entities(explicit: list[Entity], detected: list[Entity]) -> list[Entity]:
    """Add auto-detected entities that don't overlap explicit ones; sort like Telegram."""
    merged = list(explicit)
    for entity in detected:
        lo, hi = entity["offset"], entity["offset"] + entity["length"]
        if all(
            hi <= other["offset"] or lo >= other["offset"] + other["length"] for other in explicit
        ):
            merged.append(entity)
    merged.sort(key=lambda e: (e["offset"], -e["length"]))
    return merged


def strip_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Telegram trims surrounding whitespace and clips entities to what is left."""
    stripped = text.strip(_WS)
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip(_WS))])
    limit = utf16_len(stripped)
    result: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


def format_text(
    text: str, parse_mode: str | None, entities: list[Entity] | None
) -> tuple[str, list[Entity]]:
    """Plain text and entities of an outgoing text or caption, as Telegram would store them.

    Explicit ``entities`` win over ``parse_mode`` (the Bot API says "instead of").
    Raises :class:`EntityParseError` for markup Telegram would reject.
    """
    if entities is not None:
        plain, parsed = text, [dict(e) for e in entities]
    elif parse_mode is None or parse_mode == "":
        plain, parsed = text, []
    else:
        mode = parse_mode.lower()
        if mode == "html":
            plain, parsed = parse_html(text)
        elif mode == "markdownv2":
            plain, parsed = parse_markdown_v2(text)
        elif mode == "markdown":
            plain, parsed = parse_markdown(text)
        else:
            raise UnsupportedParseMode(parse_mode)
    plain, parsed = strip_text(plain, parsed)
    return plain, merge_entities(parsed, detect_entities(plain))
