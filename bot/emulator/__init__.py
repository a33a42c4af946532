"""A fake Telegram Bot API server for end-to-end tests and the local playground."""

from bot.emulator.inprocess import InProcessRequest
from bot.emulator.records import (
    ApiCall,
    ApiErrorRecord,
    CallbackAnswer,
    ChatMessage,
    FaultKind,
    RateLimits,
    SentMessage,
    UploadedFile,
)
from bot.emulator.server import FAKE_BOT_API_KEY, FakeBotApi

__all__ = [
    "FAKE_BOT_API_KEY",
    "ApiCall",
    "ApiErrorRecord",
    "CallbackAnswer",
    "ChatMessage",
    "FakeBotApi",
    "FaultKind",
    "InProcessRequest",
    "RateLimits",
    "SentMessage",
    "UploadedFile",
]
