"""open_store picks the backend from the URL; what only one backend promises is tested here."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from learninngest.store import ChatRecord, Status, StoreUnavailable, open_store
from learninngest.store.memory import MemoryStore
from learninngest.store.postgres import PostgresStore
from learninngest.store.redis import RedisStore
from learninngest.store.sqlite import SQLiteStore
from tests.redis_server import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("sqlite:///.learninngest/results.db", SQLiteStore),
        ("sqlite:////tmp/x/results.db", SQLiteStore),
        ("memory://", MemoryStore),
        ("redis://127.0.0.1:6379/0", RedisStore),
        ("rediss://cache.example:6380/1", RedisStore),
        ("postgresql://app:secret@db.example:5432/results", PostgresStore),
        ("postgres://db.example/results", PostgresStore),
    ],
)
def test_scheme_picks_the_backend(url: str, kind: type) -> None:
    assert isinstance(open_store(url), kind)


@pytest.mark.parametrize("url", ["mysql://db/x", "results.db", "sqlite:///", "sqlite:///:memory:"])
def test_bad_url_names_the_variable(url: str) -> None:
    with pytest.raises(ValueError, match="RESULT_STORE_URL"):
        open_store(url)


def test_sqlite_paths(tmp_path: Path) -> None:
    # The test runs in tmp_path (see tests/conftest.py), so a relative URL lands there.
    relative = open_store("sqlite:///.learninngest/results.db")
    absolute = open_store(f"sqlite:///{tmp_path}/abs/results.db")
    assert isinstance(relative, SQLiteStore) and isinstance(absolute, SQLiteStore)
    assert relative.path == tmp_path / ".learninngest" / "results.db"
    assert absolute.path == tmp_path / "abs" / "results.db"


async def test_sqlite_creates_its_folder_and_uses_wal(tmp_path: Path) -> None:
    store = open_store("sqlite:///.learninngest/results.db")
    await store.create(ChatRecord(request_id="r1"))

    path = tmp_path / ".learninngest" / "results.db"
    assert path.exists()
    assert path.read_bytes()[18:20] == b"\x02\x02"  # file format 2 = WAL (SQLite header bytes)


async def test_sqlite_survives_reopen(sqlite_path: Path) -> None:
    url = f"sqlite:///{sqlite_path}"
    first = open_store(url)
    await first.create(ChatRecord(request_id="r1", query="q"))
    await first.finish("r1", status=Status.done, content="Paris", usage={"total_tokens": 4})
    await first.close()

    reopened = open_store(url)
    record = await reopened.get("r1")

    assert record is not None
    assert (record.status, record.content, record.usage) == (Status.done, "Paris", {"total_tokens": 4})
    assert await reopened.claim_idempotency_key("k", "a", 60) == "a"


_CLAIM_IN_A_PROCESS = textwrap.dedent(
    """
    import asyncio, sys
    from learninngest.store import open_store

    async def main():
        store = open_store(sys.argv[1])
        bound = [await store.claim_idempotency_key(f"k{n}", sys.argv[2], 60) for n in range(20)]
        print(",".join(bound))

    asyncio.run(main())
    """
)


def test_sqlite_claims_are_safe_across_processes(sqlite_path: Path) -> None:
    url = f"sqlite:///{sqlite_path}"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIM_IN_A_PROCESS, url, f"proc{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        outputs.append(out.strip().split(","))

    # Whoever won each key, every process saw the same winner.
    for n in range(20):
        assert len({bound[n] for bound in outputs}) == 1


async def test_sqlite_unusable_path_raises_store_unavailable(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    store = open_store(f"sqlite:///{tmp_path}/a-file/results.db")
    with pytest.raises(StoreUnavailable, match="a-file"):
        await store.ping()


async def test_ping_on_unreachable_redis_names_the_url() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    store = open_store(url)
    try:
        with pytest.raises(StoreUnavailable, match=url):
            await store.ping()
    finally:
        await store.close()


def test_redis_url_password_is_not_shown() -> None:
    store = open_store("redis://:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in repr(store)
