"""What ``RateLimitMemory`` does with whatever is found under ``ratelimit.json``: every
process reads it before asking GitHub, so nothing put there may hang or flood a call."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ghcache.core.ratelimit import MAX_FILE_BYTES, RATELIMIT_FILE, RateLimitMemory

WHO = "github.com:0123456789abcdef0123456789abcdef:core"


def test_a_fifo_reads_as_no_wait_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / RATELIMIT_FILE, 0o600)  # a plain read would wait for a writer
    memory = RateLimitMemory(tmp_path)
    now = time.time()
    started = time.monotonic()
    assert memory.active(now) == {}
    assert memory.until(WHO, now) is None
    assert time.monotonic() - started < 5
    # Remembering a wait replaces it with the real file.
    memory.remember(WHO, now + 60, now)
    assert memory.until(WHO, now) == now + 60
    assert (tmp_path / RATELIMIT_FILE).is_file()


def test_a_file_larger_than_any_real_one_is_not_read(tmp_path: Path) -> None:
    now = time.time()
    records = {WHO: now + 60, "padding": "x" * MAX_FILE_BYTES}
    (tmp_path / RATELIMIT_FILE).write_text(json.dumps(records))
    assert RateLimitMemory(tmp_path).active(now) == {}
    (tmp_path / RATELIMIT_FILE).write_text(json.dumps({WHO: now + 60, "padding": "x" * 100}))
    assert RateLimitMemory(tmp_path).active(now) == {WHO: now + 60}


def test_a_directory_reads_as_no_wait(tmp_path: Path) -> None:
    (tmp_path / RATELIMIT_FILE).mkdir()
    assert RateLimitMemory(tmp_path).active(time.time()) == {}
