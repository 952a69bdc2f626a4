"""raftstore.nonblocking: inside it, a store call that would wait for the log
raises WouldBlock before it changes anything; put_async is awaited instead."""

from __future__ import annotations

import asyncio

import pytest

from raftstore import MemoryStore
from raftstore.nonblocking import WouldBlock, check, nonblocking


def test_writes_and_linearizable_reads_would_block_and_change_nothing():
    s = MemoryStore()
    s.put("/a", {"n": 1})
    before = s.revision()
    with nonblocking():
        for call in (lambda: s.put("/b", {}), lambda: s.delete("/a"),
                     lambda: s.txn([], []), lambda: s.lease_grant(10),
                     lambda: s.get("/a"), lambda: s.range("/")):
            with pytest.raises(WouldBlock):
                call()
        # this replica's own copy answers without waiting
        assert s.get("/a", linearizable=False).value == {"n": 1}
        assert [kv.key for kv in s.range("/", linearizable=False).kvs] == ["/a"]
    assert s.revision() == before
    assert s.get("/b") is None


def test_put_async_is_awaited_where_put_would_block():
    s = MemoryStore()

    async def main():
        with nonblocking():
            return await s.put_async("/a", {"n": 1}, expect_mod_revision=0)

    kv = asyncio.run(main())
    assert kv.value == {"n": 1} and s.get("/a").mod_revision == kv.mod_revision


def test_would_block_passes_every_except_exception():
    def careless():
        try:
            with nonblocking():
                check("a write")
        except Exception:  # noqa: BLE001 - what a layer between may do
            return "swallowed"
        return "missed"

    with pytest.raises(WouldBlock, match="a write"):
        careless()


def test_the_mark_is_per_task_and_ends_with_the_block():
    async def marked(entered: asyncio.Event, leave: asyncio.Event):
        with nonblocking():
            entered.set()
            await leave.wait()
            with pytest.raises(WouldBlock):
                check("still marked")

    async def main():
        entered, leave = asyncio.Event(), asyncio.Event()
        task = asyncio.ensure_future(marked(entered, leave))
        await entered.wait()
        check("another task is not marked")
        leave.set()
        await task

    asyncio.run(main())
    check("nor is anything after the block")
