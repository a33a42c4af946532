"""One aiosqlite connection per process, WAL, migrations by PRAGMA user_version."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

Params = Sequence[Any] | dict[str, Any]


def to_db_time(moment: dt.datetime) -> str:
    """Times are stored as UTC ISO strings so they sort and compare as text."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db_time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def require_time(value: str) -> dt.datetime:
    moment = from_db_time(value)
    assert moment is not None
    return moment


def migration_scripts() -> list[tuple[int, str]]:
    """(version, sql) in order, from storage/migrations/NNN_name.sql."""
    folder = resources.files("storage").joinpath("migrations")
    scripts: list[tuple[int, str]] = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            scripts.append((int(entry.name.split("_", 1)[0]), entry.read_text("utf-8")))
    return sorted(scripts)


async def _connect(path: Path | str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute("PRAGMA busy_timeout=5000")
    return conn


class Database:
    """Two connections. Writers share one and `transaction()` serialises them, because
    handlers, jobs and the outbox sender run concurrently; `reading()` uses the other, so a
    long report never holds up a resident's request (WAL lets readers run beside the
    writer, and they see committed data only)."""

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self._conn = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        # Readers may use per-connection TEMP tables (reports), so they take turns too.
        self._read_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        writer = await _connect(path)
        await writer.execute("PRAGMA journal_mode=WAL")
        await writer.execute("PRAGMA synchronous=NORMAL")
        db = cls(writer, writer)
        await db.migrate()
        db._reader = await _connect(path)
        return db

    async def close(self) -> None:
        if self._reader is not self._conn:
            await self._reader.close()
        await self._conn.close()

    async def migrate(self) -> int:
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        current = int(row[0]) if row else 0
        for version, sql in migration_scripts():
            if version <= current:
                continue
            # executescript commits first; the version bump is part of the same script.
            await self._conn.executescript(
                f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
            )
            current = version
        return current

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._conn)
            except BaseException:
                await self._conn.rollback()
                raise
            else:
                await self._conn.commit()

    @asynccontextmanager
    async def single(self) -> AsyncIterator[Tx]:
        """For one write statement: autocommit makes it atomic without BEGIN/COMMIT
        (two fewer trips to the worker thread); the lock keeps it out of others'
        transactions."""
        async with self._lock:
            yield Tx(self._conn)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Tx]:
        """Reads on the reader connection: committed data only, never waiting for writers
        (and never holding them up). Nothing may be written here but TEMP tables."""
        async with self._read_lock:
            yield Tx(self._reader)


class Tx:
    """Thin helpers over the connection for repositories. Each is one hop to aiosqlite's
    worker thread: those hops, not SQLite, are what a request spends its time on."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Params = ()) -> None:
        await self.conn.execute(sql, params)  # sqlite3 cursors need no explicit close

    async def insert(self, sql: str, params: Params = ()) -> int:
        row = await self.conn.execute_insert(sql, params)
        assert row is not None
        return int(row[0])

    async def changes(self, sql: str, params: Params = ()) -> int:
        cursor = await self.conn.execute(sql, params)
        return cursor.rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        rows = list(await self.conn.execute_fetchall(sql, params))
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> Iterable[aiosqlite.Row]:
        return await self.conn.execute_fetchall(sql, params)

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]
