"""Generated blocks in the README: the text between ``<!-- <name>:start -->`` and ``<!-- <name>:end -->``."""

from __future__ import annotations

import re
import sys
from pathlib import Path


def replace_block(text: str, name: str, body: str, tool: str) -> str:
    """``text`` with block ``name``'s body replaced by ``body``; SystemExit naming ``tool`` without its markers."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{tool}: README has no {start} ... {end} markers")
    return pattern.sub(lambda _: f"{start}\n{body}\n{end}", text)  # a function: backslashes in the body stay literal


def write_or_check(readme: Path, text: str, new: str, check: bool, differs: str) -> int:
    """``check``: 1 (printing ``differs``) if ``new`` is not ``text``, else 0; otherwise write ``new`` if it changed."""
    if check:
        if new != text:
            print(f"{readme}: {differs}", file=sys.stderr)
            return 1
        return 0
    if new != text:
        readme.write_text(new)
    print(f"{'updated' if new != text else 'unchanged'}: {readme}")
    return 0
