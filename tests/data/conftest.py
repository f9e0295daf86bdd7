"""Fixtures for the data-layer tests: the dataset mirror and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """The dataset mirror from $SCRATCHBENCH_DATA_MIRROR (integration tests skip without it)."""
    value = os.environ.get("SCRATCHBENCH_DATA_MIRROR", "")
    if not value or not Path(value).is_dir():
        pytest.skip("SCRATCHBENCH_DATA_MIRROR is not set to a local dataset folder")
    return Path(value)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def http_server() -> Iterator[Callable[..., str]]:
    """Factory: ``start(folder, handler=...)`` serves ``folder`` on an ephemeral port; returns the base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(folder: Path, handler: type[SimpleHTTPRequestHandler] = _QuietHandler) -> str:
        srv = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()
