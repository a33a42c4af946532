from __future__ import annotations

import pytest

from bot import callbacks


def test_round_trip() -> None:
    press = callbacks.decode(callbacks.ticket("rate", 42, 5))
    assert press == callbacks.Press("ticket", "rate", 42, "5")
    assert callbacks.decode(callbacks.draft("cat", 7, "repair")) == callbacks.Press(
        "draft", "cat", 7, "repair"
    )


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "t1:acc",
        "t1:acc:abc",
        "t1:rate:1:9",
        "t1:rate:1",
        "t1:acc:1:extra",
        "t2:acc:1",
        "d1:cat:1:plumbing",
        "t1:drop:1",
        "t1:acc:1; DROP TABLE tickets",
        "x" * 65,
        "t1:acc:99999999999999",
    ],
)
def test_forged_data_is_refused(data: str | None) -> None:
    assert callbacks.decode(data) is None
