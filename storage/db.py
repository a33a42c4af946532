"""The database: aiosqlite in WAL mode, a writer and a reader connection, migrations by
PRAGMA user_version. Services hand a whole transaction to aiosqlite's worker thread
(`Database.write` / `Database.read`); repositories see a `Tx` either way."""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")
TxBody = Callable[["Tx"], Coroutine[Any, Any, T]]


def to_db_time(moment: dt.datetime) -> str:
    """Times are stored as UTC ISO strings so they sort and compare as text."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    # isoformat rather than strftime: a request reads and writes dozens of these.
    utc = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def from_db_time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    return dt.datetime.fromisoformat(value)  # "...Z" parses as UTC


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
    """Two connections. Writers share one and take turns, because handlers, jobs and the
    outbox sender run concurrently; readers use the other, so a long report never holds up
    a resident's request (WAL lets readers run beside the writer, and they see committed
    data only)."""

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self._conn = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        # Readers may use per-connection TEMP tables (reports), so they take turns too.
        self._read_lock = asyncio.Lock()
        self._queued: list[_QueuedWrite] = []
        self._committer: asyncio.Task[None] | None = None

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
        if self._committer is not None:
            await asyncio.shield(self._committer)  # let queued writes land first
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

    async def write(self, body: TxBody[T]) -> T:
        """Run `body` in a write transaction on the connection's worker thread, and return
        once it is committed. `body` may await only the Tx it is given (see `_complete`).

        Bodies queued while a commit is under way go together in the next one, each in
        its own savepoint (group commit): one trip to the worker thread for all of them,
        and a body that fails is rolled back alone."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queued.append(_QueuedWrite(body, done))
        if self._committer is None:
            self._committer = asyncio.create_task(self._commit_queued(), name="db-commit")
        result: T = await done
        return result

    async def _commit_queued(self) -> None:
        try:
            async with self._lock:
                while self._queued:
                    batch, self._queued = self._queued, []
                    try:
                        outcomes = await _in_worker(self._conn, _transact_all, batch)
                    except BaseException as failure:  # the commit failed: all of them did
                        for write in batch:
                            _settle(write.done, error=failure)
                        if not isinstance(failure, Exception):
                            raise
                        continue
                    for write, (value, error) in zip(batch, outcomes, strict=True):
                        _settle(write.done, value=value, error=error)
        finally:
            self._committer = None

    async def read(self, body: TxBody[T]) -> T:
        """`write`'s counterpart on the reader connection: one consistent snapshot, one hop."""
        async with self._read_lock:
            result: T = await _in_worker(self._reader, _read, body)
            return result

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncTx]:
        """For work that must await more than the database between statements (streaming
        an export, a test's setup); everything else uses `write`."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield AsyncTx(self._conn)
            except BaseException:
                await self._conn.rollback()
                raise
            else:
                await self._conn.commit()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncTx]:
        """Reads on the reader connection, a hop per statement; streaming needs it."""
        async with self._read_lock:
            yield AsyncTx(self._reader)


@dataclass(frozen=True, slots=True)
class _QueuedWrite:
    body: TxBody[Any]
    done: asyncio.Future[Any]


def _settle(
    done: asyncio.Future[Any], value: Any = None, error: BaseException | None = None
) -> None:
    if done.cancelled():
        return  # the caller gave up waiting; the write stands (or fell) all the same
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(value)


async def _in_worker(conn: aiosqlite.Connection, work: Callable[..., T], *args: Any) -> T:
    # aiosqlite runs each of its calls as a function on the connection's own thread through
    # `_execute`; handing it a whole transaction keeps SQLite on that thread (never
    # blocking the event loop) at the cost of one hop. tests/test_db.py pins the behaviour.
    result: T = await conn._execute(work, conn._conn, *args)  # type: ignore[no-untyped-call]
    return result


def _transact_all(
    raw: sqlite3.Connection, batch: list[_QueuedWrite]
) -> list[tuple[Any, Exception | None]]:
    outcomes: list[tuple[Any, Exception | None]] = []
    raw.execute("BEGIN IMMEDIATE")
    try:
        for write in batch:
            raw.execute("SAVEPOINT body")
            try:
                value = _complete(write.body(SyncTx(raw)))
            except Exception as error:
                raw.execute("ROLLBACK TO body")
                outcomes.append((None, error))
            else:
                outcomes.append((value, None))
            raw.execute("RELEASE body")
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    return outcomes


def _read(raw: sqlite3.Connection, body: TxBody[T]) -> T:
    raw.execute("BEGIN")
    try:
        return _complete(body(SyncTx(raw)))
    finally:
        raw.rollback()  # nothing to keep: ends the snapshot


def _complete(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to its end, synchronously. Repositories are
    coroutines so that they work over both kinds of Tx; over a SyncTx nothing they await
    ever suspends, so the first send() finishes the body."""
    try:
        awaited = coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise RuntimeError(
        f"a transaction body awaited {awaited!r}: only its Tx may be awaited inside one"
    )


class Tx(abc.ABC):
    """What repositories see: a statement at a time, always awaited."""

    @abc.abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> None: ...

    @abc.abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    @abc.abstractmethod
    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT; the new row's id."""

    @abc.abstractmethod
    async def changes(self, sql: str, params: Params = ()) -> int:
        """Run a statement; how many rows it changed."""

    @abc.abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class SyncTx(Tx):
    """Inside `Database.write`/`read`, on the worker thread: nothing here suspends."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    async def execute(self, sql: str, params: Params = ()) -> None:
        self._raw.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        self._raw.executemany(sql, rows)

    async def insert(self, sql: str, params: Params = ()) -> int:
        row_id = self._raw.execute(sql, params).lastrowid
        assert row_id is not None
        return row_id

    async def changes(self, sql: str, params: Params = ()) -> int:
        return self._raw.execute(sql, params).rowcount

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return self._raw.execute(sql, params).fetchall()


class AsyncTx(Tx):
    """On the event loop through aiosqlite: one hop to the worker thread per statement."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Params = ()) -> None:
        await self.conn.execute(sql, params)  # sqlite3 cursors need no explicit close

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self.conn.executemany(sql, rows)

    async def insert(self, sql: str, params: Params = ()) -> int:
        row = await self.conn.execute_insert(sql, params)
        assert row is not None
        return int(row[0])

    async def changes(self, sql: str, params: Params = ()) -> int:
        cursor = await self.conn.execute(sql, params)
        return cursor.rowcount

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self.conn.execute_fetchall(sql, params))
