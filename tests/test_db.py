"""Database.write/read: a whole transaction per trip to aiosqlite's worker thread, with
group commit. These pin what the services rely on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import people
from storage.db import Database, Tx


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "desk.sqlite3")
    yield database
    await database.close()


async def add(tx: Tx, user_id: int) -> int:
    person = await people.upsert_person(tx, user_id, f"居民{user_id}", None, "zh")
    return person.user_id


async def names(db: Database, *user_ids: int) -> dict[int, str]:
    found = await db.read(lambda tx: people.get_people(tx, list(user_ids)))
    return {user_id: person.display_name for user_id, person in found.items()}


async def test_write_returns_the_body_value_once_committed(db: Database) -> None:
    assert await db.write(lambda tx: add(tx, 1)) == 1
    assert await names(db, 1) == {1: "居民1"}


async def test_a_failing_body_rolls_back_alone_in_a_group_commit(db: Database) -> None:
    async def add_then_fail(tx: Tx) -> int:
        await add(tx, 2)
        raise ValueError("refused")

    # Queued in one go, so they share one commit.
    results = await asyncio.gather(
        db.write(lambda tx: add(tx, 1)),
        db.write(add_then_fail),
        db.write(lambda tx: add(tx, 3)),
        return_exceptions=True,
    )
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], ValueError)
    assert await names(db, 1, 2, 3) == {1: "居民1", 3: "居民3"}


async def test_a_body_that_awaits_anything_else_is_refused_and_leaves_nothing(
    db: Database,
) -> None:
    async def sleeps(tx: Tx) -> None:
        await add(tx, 4)
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="only its Tx may be awaited"):
        await db.write(sleeps)
    assert await names(db, 4) == {}


async def test_a_write_whose_caller_gave_up_still_lands(db: Database) -> None:
    task = asyncio.create_task(db.write(lambda tx: add(tx, 5)))
    await asyncio.sleep(0)  # queued
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await db.write(lambda tx: add(tx, 6))  # committed after the first
    assert await names(db, 5, 6) == {5: "居民5", 6: "居民6"}


async def test_close_lets_queued_writes_land(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "desk.sqlite3")
    pending = asyncio.ensure_future(database.write(lambda tx: add(tx, 7)))
    await asyncio.sleep(0)
    await database.close()
    assert pending.done() and pending.result() == 7
    reopened = await Database.open(tmp_path / "desk.sqlite3")
    try:
        assert await names(reopened, 7) == {7: "居民7"}
    finally:
        await reopened.close()


async def test_read_sees_committed_data_only(db: Database) -> None:
    await db.write(lambda tx: add(tx, 8))
    async with db.transaction() as tx:  # open, not yet committed
        await add(tx, 9)
        assert await names(db, 8, 9) == {8: "居民8"}
    assert await names(db, 8, 9) == {8: "居民8", 9: "居民9"}
