"""`badges backup` and `badges restore`: the database and the key-encryption key in one file.

A backup is a zip file:
  manifest.json            format, schema revision, when, from which database, rows per table
  key-encryption-key       the KEK (without it the sealed issuer keys in the database never open)
  tables/<table>.jsonl     every row of each of our tables, one JSON object a line

The rows are a logical dump, not a database file, so a backup of SQLite restores into PostgreSQL
and the other way round. It is consistent: SQLite is first copied with its online backup API (a
snapshot, while the service keeps running), PostgreSQL is read in one REPEATABLE READ transaction.
A restore writes every row in one transaction (all or nothing) into a database at the same schema
revision, and refuses a database that holds anything unless told to replace it.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import DateTime, Integer, LargeBinary, Numeric, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

import issuer.models  # noqa: F401  (registers every table on Base.metadata)
from issuer.db import Base, make_engine
from issuer.migrate import current_revision, head_revision
from keys import KeyEncryptionKey
from keys.encryption import KEK_FILE_NAME
from keys.errors import KeyEncryptionKeyError, KeyUnsealError

FORMAT = "badges-backup"
VERSION = 1
MANIFEST = "manifest.json"
KEK_MEMBER = "key-encryption-key"
_BATCH = 500


class BackupError(Exception):
    """A backup cannot be written or restored; the message says why."""


@dataclass(frozen=True)
class Summary:
    revision: str
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _tables():
    """Parents before children, so rows can be inserted in this order (deleted in the reverse)."""
    return Base.metadata.sorted_tables


# --- the key-encryption key ---------------------------------------------------------------------

def configured_kek(config, instance_path: Path) -> str:
    """The KEK text the instance uses: KEY_ENCRYPTION_KEY, else the instance folder's file."""
    if config.get("KEY_ENCRYPTION_KEY"):
        return config["KEY_ENCRYPTION_KEY"].strip()
    path = Path(config.get("KEY_ENCRYPTION_KEY_FILE") or Path(instance_path) / KEK_FILE_NAME)
    try:
        return path.read_text().strip()
    except OSError as error:
        raise BackupError(f"cannot read the key-encryption key {path}: {error.strerror}") from None


def _check_kek_opens_keys(kek_text: str, sealed_keys: list[tuple[str, bytes]]) -> None:
    """A backup whose KEK does not open the issuer keys beside it would restore nothing usable."""
    try:
        kek = KeyEncryptionKey.from_text(kek_text)
        for key_id, sealed in sealed_keys:
            kek.open(sealed, key_id=key_id)
    except (KeyEncryptionKeyError, KeyUnsealError) as error:
        raise BackupError(f"the key-encryption key does not open the issuer keys: {error}") from None


# --- values to JSON and back --------------------------------------------------------------------

def _encode(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _decoder(column):
    kind = column.type
    if isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime):
        return datetime.fromisoformat
    if isinstance(kind, Numeric) and not isinstance(kind, Integer):
        return Decimal
    if isinstance(kind, LargeBinary):
        return base64.b64decode
    return None


def _decode_row(table, row: dict) -> dict:
    unknown = set(row) - set(table.columns.keys())
    if unknown:
        raise BackupError(f"table {table.name} has no column {sorted(unknown)[0]!r}")
    decoded = {}
    for name, value in row.items():
        decode = _decoder(table.columns[name])
        decoded[name] = decode(value) if decode is not None and value is not None else value
    return decoded


# --- backup -------------------------------------------------------------------------------------

@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that sees one consistent state of the whole database."""
    if engine.dialect.name == "sqlite":
        # The online backup API copies a consistent snapshot, page by page, while writers go on.
        with tempfile.TemporaryDirectory(prefix="badges-backup-") as folder:
            copy_path = Path(folder) / "snapshot.sqlite3"
            source = engine.raw_connection()
            try:
                with sqlite3.connect(copy_path) as copy:
                    source.driver_connection.backup(copy)
                copy.close()
            finally:
                source.close()
            copy_engine = make_engine(f"sqlite:///{copy_path}")
            try:
                with copy_engine.connect() as connection:
                    yield connection
            finally:
                copy_engine.dispose()
        return
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.execute(text("SET TRANSACTION READ ONLY"))
            yield connection


def write_backup(engine: Engine, kek_text: str, path: Path, *, now: datetime) -> Summary:
    """Write a backup of the database and the KEK to `path`, which must not exist yet.

    The file is written privately (0600: it holds the KEK) beside `path` and linked into place
    only when whole, so `path` never holds half a backup.
    """
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} exists already; give a new file name")
    revision = current_revision(engine)
    if revision != head_revision():
        raise BackupError(f"the database schema is at {revision}, not {head_revision()}; run `badges db upgrade`")
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    except OSError as error:
        raise BackupError(f"cannot write in {path.parent}: {error.strerror}") from None
    rows: dict[str, int] = {}
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            with _snapshot(engine) as connection:
                sealed_keys = [(row.id, row.sealed_private_key) for row in
                               connection.execute(select(Base.metadata.tables["signing_keys"]))]
                _check_kek_opens_keys(kek_text, sealed_keys)
                for table in _tables():
                    rows[table.name] = 0
                    order = list(table.primary_key.columns)
                    with archive.open(f"tables/{table.name}.jsonl", "w") as member:
                        result = connection.execution_options(yield_per=_BATCH).execute(select(table).order_by(*order))
                        for row in result.mappings():
                            line = json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False,
                                              separators=(",", ":"))
                            member.write(line.encode("utf-8") + b"\n")
                            rows[table.name] += 1
            archive.writestr(KEK_MEMBER, kek_text + "\n")
            manifest = {"format": FORMAT, "version": VERSION, "revision": revision, "created_at": now.isoformat(),
                        "database": engine.dialect.name, "rows": rows}
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        raise BackupError(f"{path} exists already; give a new file name") from None
    except OSError as error:
        raise BackupError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        os.unlink(temporary)
    return Summary(revision, rows)


# --- restore ------------------------------------------------------------------------------------

def read_manifest(archive: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (KeyError, ValueError):
        raise BackupError("this is not a badges backup (no readable manifest.json)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("this is not a badges backup")
    if manifest.get("version") != VERSION:
        raise BackupError(f"backup format version {manifest.get('version')!r} is not supported (this release reads {VERSION})")
    if manifest.get("revision") != head_revision():
        raise BackupError(
            f"the backup is of schema revision {manifest.get('revision')!r} and this release's is {head_revision()!r}: "
            "restore it with the release that made it, then upgrade"
        )
    return manifest


def _rows(archive: zipfile.ZipFile, table) -> Iterator[dict]:
    try:
        member = archive.open(f"tables/{table.name}.jsonl")
    except KeyError:
        raise BackupError(f"the backup has no rows file for table {table.name}") from None
    with member:
        for number, line in enumerate(member, 1):
            try:
                row = json.loads(line)
            except ValueError:
                raise BackupError(f"tables/{table.name}.jsonl line {number} is not JSON") from None
            if not isinstance(row, dict):
                raise BackupError(f"tables/{table.name}.jsonl line {number} is not a row")
            yield _decode_row(table, row)


def is_empty(connection: Connection) -> bool:
    return all(connection.scalar(select(func.count()).select_from(table)) == 0 for table in _tables())


def restore_backup(engine: Engine, path: Path, *, replace: bool = False) -> tuple[Summary, str]:
    """Write the backup's rows into the database (at the schema revision of this release), in one
    transaction; returns what was restored and the backup's KEK text, which the caller installs.

    :raise BackupError: not a readable backup, another schema revision, a database that is not
        empty (unless `replace`: then every row of it is replaced), or rows the database refuses.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise BackupError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    with archive:
        manifest = read_manifest(archive)
        try:
            kek_text = archive.read(KEK_MEMBER).decode("ascii").strip()
            KeyEncryptionKey.from_text(kek_text)
        except (KeyError, UnicodeDecodeError, KeyEncryptionKeyError):
            raise BackupError("the backup holds no usable key-encryption key") from None
        if current_revision(engine) != manifest["revision"]:
            raise BackupError("the database schema is not up to date; run `badges db upgrade` first")
        rows: dict[str, int] = {}
        try:
            with engine.begin() as connection:
                if not is_empty(connection):
                    if not replace:
                        raise BackupError("the database is not empty; restore into a fresh instance, or give "
                                          "--replace to replace everything in it with the backup")
                    for table in reversed(_tables()):
                        connection.execute(table.delete())
                for table in _tables():
                    rows[table.name] = _insert(connection, table, _rows(archive, table))
                _check_kek_opens_keys(kek_text, [
                    (row.id, row.sealed_private_key)
                    for row in connection.execute(select(Base.metadata.tables["signing_keys"]))])
                if connection.dialect.name == "postgresql":
                    _advance_sequences(connection)
        except OperationalError:
            raise  # the database is unavailable: the edges say so in their own words
        except DBAPIError as error:  # the database refused a row: nothing was written
            reason = str(error.orig or error).strip().splitlines()
            raise BackupError(f"the backup could not be restored, nothing was changed: "
                              f"{reason[0] if reason else type(error).__name__}") from None
    return Summary(manifest["revision"], rows), kek_text


def _insert(connection: Connection, table, rows: Iterator[dict]) -> int:
    # A row may name a row of the same table that comes later (a credential and its renewal):
    # such columns are filled in once every row of the table is there.
    self_refs = [c.name for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)]
    later, batch, count = [], [], 0
    for row in rows:
        links = {name: row[name] for name in self_refs if row.get(name) is not None}
        if links:
            later.append((row, links))
            row = {**row, **{name: None for name in links}}
        batch.append(row)
        count += 1
        if len(batch) == _BATCH:
            connection.execute(table.insert(), batch)
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
    [key] = table.primary_key.columns
    for row, links in later:
        connection.execute(table.update().where(key == row[key.name]).values(**links))
    return count


def _advance_sequences(connection: Connection) -> None:
    """Rows came with their ids: the sequences behind integer ids must continue after them."""
    for table in _tables():
        [key] = table.primary_key.columns
        if isinstance(key.type, Integer) and key.autoincrement in (True, "auto"):
            connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                     f"COALESCE((SELECT MAX({key.name}) FROM {table.name}), 0) + 1, false)"),
                {"table": table.name, "column": key.name},
            )


def backup_kek(path: Path) -> str:
    """The KEK a backup holds (after checking it is a backup this release can restore)."""
    try:
        with zipfile.ZipFile(path) as archive:
            read_manifest(archive)
            text_ = archive.read(KEK_MEMBER).decode("ascii").strip()
    except (OSError, zipfile.BadZipFile) as error:
        raise BackupError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    except (KeyError, UnicodeDecodeError):
        raise BackupError("the backup holds no usable key-encryption key") from None
    return text_


def check_kek_target(kek_text: str, config) -> None:
    """A configured KEY_ENCRYPTION_KEY must be the backup's already: a restore cannot change the
    environment, and the restored issuer keys open with the backup's key only."""
    configured = config.get("KEY_ENCRYPTION_KEY")
    if configured and configured.strip() != kek_text:
        raise BackupError("KEY_ENCRYPTION_KEY is set to another key than the backup's: set it to the key in "
                          "the backup's key-encryption-key file (or unset it to use the instance folder's file)")
    configured_file = config.get("KEY_ENCRYPTION_KEY_FILE")
    if configured_file and not configured:
        try:
            held = Path(configured_file).read_text().strip()
        except OSError as error:
            raise BackupError(f"cannot read KEY_ENCRYPTION_KEY_FILE {configured_file}: {error.strerror}") from None
        if held != kek_text:
            raise BackupError("KEY_ENCRYPTION_KEY_FILE holds another key than the backup's: put the key in the "
                              "backup's key-encryption-key file there (or unset it to use the instance folder's file)")


def install_kek(kek_text: str, config, instance_path: Path) -> str:
    """Make the instance use the backup's KEK; returns where it is kept."""
    check_kek_target(kek_text, config)
    if config.get("KEY_ENCRYPTION_KEY"):
        return "KEY_ENCRYPTION_KEY"
    if config.get("KEY_ENCRYPTION_KEY_FILE"):
        return f"KEY_ENCRYPTION_KEY_FILE ({config['KEY_ENCRYPTION_KEY_FILE']})"
    path = Path(instance_path) / KEK_FILE_NAME
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".kek-")  # 0600
    with os.fdopen(fd, "w") as handle:
        handle.write(kek_text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)  # atomic: the old key or the new one, never half of either
    return str(path)
