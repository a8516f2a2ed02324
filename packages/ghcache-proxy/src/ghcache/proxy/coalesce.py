"""Identical concurrent requests of one identity share one answer.

Core's client coalesces threads; here waiting requests hold no worker thread, so a
slow upstream answer for one popular URL does not starve every other request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Coalescer(Generic[T]):
    def __init__(self) -> None:
        self._pending: dict[Hashable, asyncio.Future[T]] = {}

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        pending = self._pending.get(key)
        if pending is None:
            # A task of its own: a client that goes away must not cancel the others' answer.
            pending = asyncio.ensure_future(work())
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(pending)

    def _finished(self, key: Hashable, done: asyncio.Future[T]) -> None:
        if self._pending.get(key) is done:
            del self._pending[key]
        if not done.cancelled():
            done.exception()  # retrieved: every waiter may have gone

    def __len__(self) -> int:
        return len(self._pending)
