"""Our SQLite files (`riskmodel.io.sqlite.VersionedSqlite`) as the alert store and the
programme-results store open them: migrations step by step from every older version, a
newer schema, a file that is no database, a path with `..`, read-only opens and a held
write lock, each refused with one line naming the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from riskmodel.alerts.store import AlertStore
from riskmodel.errors import InputError, LockHeldError
from riskmodel.io.sqlite import VersionedSqlite
from riskmodel.kpis.interventions import ResultsStore

STORES = [AlertStore, ResultsStore]


def _tables(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.close()


@pytest.mark.parametrize("kind", STORES)
def test_every_older_version_migrates_to_the_same_schema(kind: type[VersionedSqlite],
                                                         tmp_path: Path) -> None:
    assert issubclass(kind, VersionedSqlite) and kind.migrations
    with kind(tmp_path / "new.sqlite") as fresh:
        assert fresh.schema_version() == len(kind.migrations)
        assert fresh.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    want = _tables(tmp_path / "new.sqlite")
    for v in range(len(kind.migrations)):
        path = tmp_path / f"v{v}.sqlite"
        db = sqlite3.connect(path)
        db.executescript("".join(m + ";" for m in kind.migrations[:v])
                         + f"PRAGMA user_version = {v};")
        db.close()
        if v:  # an old store cannot be read as it is: it must be opened writable once
            with pytest.raises(InputError, match=f"schema v{v}, this code reads"):
                kind(path, readonly=True)
        with kind(path) as st:
            assert st.schema_version() == len(kind.migrations)
        assert _tables(path) == want


@pytest.mark.parametrize("kind", STORES)
def test_bad_files_and_paths_are_refused_with_one_line(kind: type[VersionedSqlite],
                                                       tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite"
    db = sqlite3.connect(newer)
    db.execute(f"PRAGMA user_version = {len(kind.migrations) + 1}")
    db.close()
    for readonly in (False, True):
        with pytest.raises(InputError, match=f"{kind.what} schema v.* is newer than"):
            kind(newer, readonly=readonly)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(InputError, match=f"junk.sqlite: not a usable {kind.what}"):
        kind(junk)
    with pytest.raises(InputError, match="must not contain '..'"):
        kind(tmp_path / ".." / "x.sqlite")
    with pytest.raises(InputError, match="missing.sqlite: no "):
        kind(tmp_path / "missing.sqlite", readonly=True)
    assert not (tmp_path / "missing.sqlite").exists()


@pytest.mark.parametrize("kind", STORES)
def test_read_only_opens_and_the_one_writer(kind: type[VersionedSqlite],
                                            tmp_path: Path) -> None:
    folder = tmp_path / "shelf"
    with kind(folder / "s.sqlite") as st:
        with st.transaction() as db:
            db.execute("PRAGMA user_version")
        with kind(folder / "s.sqlite", timeout=0.1) as other:
            with st.transaction():
                with pytest.raises(LockHeldError, match=f"{kind.what} is locked"):
                    with other.transaction():
                        pass
    with kind(folder / "s.sqlite", readonly=True) as ro:
        assert ro.schema_version() == len(kind.migrations)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ro.db.execute("CREATE TABLE x (a)")
