"""Our SQLite files: WAL, a schema versioned with `PRAGMA user_version`, one writer at a time.

SQLite is the embedded default for state beside the runs (no server, one file, a nightly
writer with concurrent readers under WAL). `VersionedSqlite` opens such a file the one way
every store of ours does: a path with `..` is refused (it is a config value); a missing
file is created unless the caller reads (`readonly=True`) or says it must exist
(`create=False`); a writable open sets WAL, `synchronous=FULL` and foreign keys and then
applies the pending `migrations` (`migrations[i]` takes the schema from version i to
i + 1, each in its own `BEGIN IMMEDIATE` transaction with its version bump, skipped when
another process got there first); a schema newer than the code is refused; a read-only
open needs the current version and falls back to an immutable snapshot when the folder
cannot be written (a WAL file needs its -shm beside it). Every failure is one
`InputError` line naming the file; a held write lock is `LockHeldError`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import quote

from riskmodel.errors import InputError, LockHeldError


class VersionedSqlite:
    """An open SQLite file of one kind; subclasses name the kind and its schema.

    `what` is how messages call the file ("alert store"), `missing` the message for a
    file that is not there, `migrations` the schema steps. Use as a context manager or
    call `close()`; `db` is the connection (autocommit: writes go through
    `transaction()`).
    """

    what: ClassVar[str] = "SQLite store"
    missing: ClassVar[str] = "no SQLite store here"
    migrations: ClassVar[tuple[str, ...]] = ()

    def __init__(self, path: Path | str, *, timeout: float = 30.0, create: bool = True,
                 readonly: bool = False) -> None:
        self.path = Path(path)
        if ".." in self.path.parts:
            raise InputError(f"{self.path}: {self.what} path must not contain '..'")
        if (readonly or not create) and not self.path.is_file():
            raise InputError(f"{self.path}: {self.missing}")
        self.readonly = readonly
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = self._connect("?mode=ro" if readonly else None, timeout)
        except sqlite3.Error as exc:
            raise InputError(f"{self.path}: cannot open {self.what}: {exc}") from None
        try:
            if readonly:
                self._check_readable(timeout)
            else:
                self._retry_locked(lambda: self.db.execute("PRAGMA journal_mode=WAL"), timeout)
                self.db.execute("PRAGMA synchronous=FULL")
                self.db.execute("PRAGMA foreign_keys=ON")
                self._retry_locked(self.migrate, timeout)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise InputError(f"{self.path}: not a usable {self.what}: {exc}") from None
        except InputError:
            self.db.close()
            raise

    @property
    def schema_target(self) -> int:
        """The schema version this code reads and writes (number of migrations)."""
        return len(self.migrations)

    def _connect(self, query: str | None, timeout: float) -> sqlite3.Connection:
        if query is None:
            return sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        # Reading needs no write access: a read-only file still lists and exports.
        uri = "file:" + quote(str(self.path.resolve())) + query
        return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)

    def _check_readable(self, timeout: float) -> None:
        try:
            v = self.schema_version()
        except sqlite3.OperationalError:
            # A WAL file in a folder we cannot write has no -shm file to share: read the
            # file as a snapshot instead (nothing of ours writes to it).
            self.db.close()
            self.db = self._connect("?mode=ro&immutable=1", timeout)
            v = self.schema_version()
        self._refuse_newer(v)
        if v != self.schema_target:
            raise InputError(f"{self.path}: {self.what} schema v{v}, this code reads "
                             f"v{self.schema_target}; open it writable once to migrate")

    def _refuse_newer(self, v: int) -> None:
        if v > self.schema_target:
            raise InputError(f"{self.path}: {self.what} schema v{v} is newer than this "
                             f"code (v{self.schema_target}); upgrade riskmodel")

    @staticmethod
    def _retry_locked(fn: Callable[[], Any], timeout: float) -> None:
        # Switching a brand-new file to WAL needs an exclusive lock and SQLite does not
        # always wait for it (no busy handler there): retry briefly when two processes
        # create the same file at once.
        deadline = time.monotonic() + timeout
        while True:
            try:
                fn()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.db.close()

    def schema_version(self) -> int:
        """The `user_version` of the file (number of migrations applied)."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply pending migrations, each in its own transaction with its version bump."""
        self._refuse_newer(self.schema_version())
        for i in range(self.schema_version(), self.schema_target):
            with self.transaction():
                if self.schema_version() != i:  # another process migrated meanwhile
                    continue
                for stmt in self.migrations[i].split(";"):
                    if stmt.strip():
                        self.db.execute(stmt)
                self.db.execute(f"PRAGMA user_version = {i + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE): all of it commits or none of it."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise LockHeldError(f"{self.path}: {self.what} is locked by another writer "
                                f"({exc})") from None
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
