"""`community-bot` / `python -m bot`: run, playground, parse, eval."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from telegram.error import InvalidToken, NetworkError

from bot.config import (
    ConfigError,
    OutboxSettings,
    Settings,
    load_community,
    token_from_env,
    validate_token,
)
from bot.parsing.types import Vocabulary
from bot.texts import default_texts

EXIT_CONFIG = 2
UNLIMITED_OUTBOX = OutboxSettings(global_per_second=0, per_chat_interval=0, group_per_minute=0)


def demo_config_path() -> Path:
    return Path(str(resources.files("bot").joinpath("demo/community.toml")))


def _say(code: str, **context: object) -> str:
    return default_texts().render("en", "cli", code=code, **context)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="community-bot")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run")
    run.add_argument("--config", type=Path, default=None)
    run.add_argument("--db", type=Path, default=None)
    run.add_argument("--api-base-url", default=os.environ.get("TELEGRAM_API_BASE_URL"))
    # For Bot API emulators and local servers, which have no flood limits to respect.
    run.add_argument("--no-rate-limit", action="store_true")
    play = sub.add_parser("playground")
    play.add_argument("--config", type=Path, default=None)
    play.add_argument("--db", type=Path, default=None)
    play.add_argument("--port", type=int, default=int(os.environ.get("PLAYGROUND_PORT", "8080")))
    parse = sub.add_parser("parse")
    parse.add_argument("--config", type=Path, default=None)
    evaluate = sub.add_parser("eval")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--config", type=Path, default=None)
    from bot.export import add_arguments as export_arguments

    export_arguments(sub.add_parser("export"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "true")  # PTB 22: time periods as timedelta
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # One line per job added or run would bury what the desk itself reports.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # The limiter re-raises 429s to the outbox (max_retries=0), which reschedules them;
    # its own "rate limit hit" error line would only be noise.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    command = args.command
    if command is None:
        # The README's run command: the real bot with a token, the playground without.
        command = "run" if token_from_env() else "playground"
        args = _parser().parse_args([command])
    try:
        if command == "run":
            return _run(args)
        if command == "playground":
            return _playground(args)
        if command in ("parse", "eval"):
            return _parse_or_eval(command, args)
        if command == "export":
            from bot.export import run_cli

            return run_cli(args, demo_config_path())
    except ConfigError as error:
        print(_say("config_error", key=error.key, problem=error.problem), file=sys.stderr)
        return EXIT_CONFIG
    return 0


def _vocabulary(config_path: Path | None) -> Vocabulary | None:
    return None if config_path is None else load_community(config_path).vocabulary


def _parse_or_eval(command: str, args: argparse.Namespace) -> int:
    from bot.parsing.evaluate import run_eval, run_parse

    vocabulary = _vocabulary(args.config)
    if command == "parse":
        return run_parse(sys.stdin, sys.stdout, vocabulary)
    if not args.file.exists():
        raise ConfigError("FILE", f"not found: {args.file}")
    return run_eval(args.file, sys.stdout, vocabulary)


def _run(args: argparse.Namespace) -> int:
    from bot.app import build_application

    token = token_from_env()
    if token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN", "not set (export it, or run the playground)")
    validate_token(token)
    config_path = args.config or Path(os.environ.get("COMMUNITY_CONFIG", demo_config_path()))
    community = load_community(config_path)
    settings = Settings(
        community=community,
        token=token,
        db_path=args.db or Path(os.environ.get("COMMUNITY_DB", "community-desk.sqlite3")),
        api_base_url=args.api_base_url,
        outbox=UNLIMITED_OUTBOX if args.no_rate_limit else OutboxSettings(),
    )
    application = build_application(settings)
    print(_say("running", community=community.name, db=settings.db_path), file=sys.stderr)
    # run_polling stops cleanly on SIGINT/SIGTERM; post_shutdown flushes and closes the DB.
    try:
        application.run_polling(allowed_updates=["message", "callback_query", "my_chat_member"])
    except InvalidToken:
        raise ConfigError("TELEGRAM_BOT_TOKEN", "rejected by the Bot API") from None
    except NetworkError as error:
        print(_say("unreachable", url=settings.api_base_url or "api.telegram.org", error=error))
        return 1
    return 0


def _playground(args: argparse.Namespace) -> int:
    from bot.playground import run_playground

    config_path = args.config or demo_config_path()
    community = load_community(config_path)
    return run_playground(community, db_path=args.db, port=args.port)
