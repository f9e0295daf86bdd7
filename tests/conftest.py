"""Session-wide set-up shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

MIRROR_ENV = "SCRATCHBENCH_DATA_MIRROR"
# template_store, fresh_root, tiny_root (tests/run/run_fixtures.py; tests/run is on pytest's pythonpath)
pytest_plugins = ["run_fixtures"]


def pytest_configure(config) -> None:
    """Make a relative folder mirror absolute (from where pytest was started).

    Several tests run the pipeline in temporary copies of the repo, in other working
    directories; a mirror given as ``../shared/datasets`` must still point at the same folder.
    """
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    if mirror and not urlparse(mirror).scheme and not Path(mirror).expanduser().is_absolute():
        os.environ[MIRROR_ENV] = str(Path(mirror).expanduser().resolve())
