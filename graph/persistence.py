"""The checkpointer: SQLite under SLM/runs/ by default, Postgres by URL for shared deployments.

``url`` (or ``$AUTON_CHECKPOINT_URL``): empty for ``<runs>/checkpoints.sqlite``,
``sqlite:///PATH`` for another SQLite file, ``postgresql://...`` for Postgres (needs the
``postgres`` extra: langgraph-checkpoint-postgres).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver

from tools.errors import InputError

SQLITE_FILE = "checkpoints.sqlite"


def checkpoint_url(url: str | None) -> str | None:
    return url or os.environ.get("AUTON_CHECKPOINT_URL") or None


@contextlib.contextmanager
def open_checkpointer(url: str | None, runs_dir: Path) -> Iterator[BaseCheckpointSaver]:
    url = checkpoint_url(url)
    if url is None or url.startswith("sqlite:///"):
        path = runs_dir / SQLITE_FILE if url is None else Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False)
        except (OSError, sqlite3.Error) as e:
            raise InputError(f"{path}: cannot open the checkpoint database ({e})") from None
        from langgraph.checkpoint.sqlite import SqliteSaver

        try:
            yield SqliteSaver(conn)
        finally:
            conn.close()
    elif url.startswith(("postgres://", "postgresql://")):
        try:
            from langgraph.checkpoint.postgres import PostgresSaver  # type: ignore[import-not-found]
        except ImportError:
            raise InputError("a Postgres checkpointer needs `pip install 'auton-slm[postgres]'`") from None
        try:
            with PostgresSaver.from_conn_string(url) as saver:
                saver.setup()
                yield saver
        except Exception as e:  # psycopg raises its own OperationalError family
            if e.__class__.__module__.startswith("psycopg"):
                raise InputError(f"cannot use the Postgres checkpointer: {str(e).splitlines()[0]}") from None
            raise
    else:
        raise InputError(f"checkpoint URL {url!r}: expected sqlite:///PATH or postgresql://...")
