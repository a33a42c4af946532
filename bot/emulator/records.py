"""What the fake Bot API records, for tests and the playground to inspect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

JSON = dict[str, Any]

FaultKind = Literal["retry_after", "server_error", "timeout", "drop", "bad_request", "forbidden"]


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A multipart file part as the bot uploaded it."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:  # keep call logs readable: no raw bytes
        return f"UploadedFile({self.field!r}, {self.filename!r}, {len(self.data)} bytes)"


def _buttons(markup: JSON | None) -> list[JSON]:
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [
        button if isinstance(button, dict) else {"text": str(button)}
        for row in rows
        for button in row
    ]


@dataclass(slots=True)
class SentMessage:
    """One successful send (sendMessage, sendPhoto, copyMessage, ...), in send order."""

    method: str
    chat_id: int
    message_id: int
    text: str | None  # the text or caption parameter exactly as sent (markup included)
    reply_markup: JSON | None  # as sent: inline, reply keyboard, remove_keyboard, force_reply
    reply_to_message_id: int | None
    parse_mode: str | None
    media: str | None  # "photo", "voice", "document", "location" or None for text
    params: JSON  # every parameter, decoded; uploads appear as UploadedFile
    time: float  # unix time from the server's clock
    plain_text: str | None = None  # what the user sees: markup parsed away, whitespace trimmed
    message: JSON = field(default_factory=dict)  # the Message object returned to the bot

    @property
    def buttons(self) -> list[JSON]:
        """Buttons of the keyboard, flattened row by row (each a button JSON object)."""
        return _buttons(self.reply_markup)

    @property
    def button_texts(self) -> list[str]:
        return [str(button.get("text", "")) for button in self.buttons]

    @property
    def callback_data(self) -> list[str]:
        return [str(b["callback_data"]) for b in self.buttons if "callback_data" in b]


@dataclass(slots=True)
class ChatMessage:
    """A message as it currently stands in a chat (edits applied, deleted ones gone)."""

    message_id: int
    chat_id: int
    from_bot: bool
    user_id: int  # sender: the bot's id for bot messages
    text: str | None  # displayed text or caption
    reply_markup: JSON | None  # inline keyboard only, like Telegram's Message object
    reply_to_message_id: int | None
    media: str | None
    edited: bool
    raw: JSON  # the Message JSON object

    @property
    def buttons(self) -> list[JSON]:
        return _buttons(self.reply_markup)


class ApiCall(NamedTuple):
    method: str  # as the client spelled it, e.g. "sendMessage"
    params: JSON


class CallbackAnswer(NamedTuple):
    callback_query_id: str
    text: str | None
    show_alert: bool


class ApiErrorRecord(NamedTuple):
    method: str
    error_code: int
    description: str


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Sliding-window send limits as (max sends, window seconds), modelled on Telegram's FAQ."""

    overall: tuple[int, float] = (30, 1.0)
    private_chat: tuple[int, float] = (1, 1.0)
    group_chat: tuple[int, float] = (20, 60.0)
