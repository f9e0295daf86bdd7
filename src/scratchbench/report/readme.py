"""``python -m scratchbench.report.readme``: the README's reproduction table, copied from a written report.

The block between ``<!-- reproduction-table:start -->`` and ``<!-- reproduction-table:end -->`` is
rewritten from ``reports/full/comparison.md`` (the report of one full-profile run of the matrix):
its "Runs recorded on" line, the verdict counts and the reproduction table, nothing typed by hand.
``--check`` exits 1 when the README differs from what would be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..paths import project_root, reports_dir
from ..readme_blocks import replace_block, write_or_check

BLOCK = "reproduction-table"
TABLE_HEADER = "| Ref | Preset |"


def reproduction_block(report_md: str, source: str = "report") -> str:
    """The README block from a comparison report's Markdown; ValueError naming ``source`` if a part is missing."""
    lines = report_md.splitlines()
    recorded = next((ln for ln in lines if ln.startswith("Runs recorded on:")), None)
    counts = next((ln for ln in lines if " rows have runs. Verdicts:" in ln), None)
    start = next((i for i, ln in enumerate(lines) if ln.startswith(TABLE_HEADER)), None)
    if recorded is None or counts is None or start is None:
        raise ValueError(f"{source}: no reproduction table (expected a 'Runs recorded on:' line, the verdict "
                         f"counts and a table starting {TABLE_HEADER!r})")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join([recorded, counts, "", *lines[start:end]])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scratchbench.report.readme", description=__doc__.split("\n\n")[0])
    p.add_argument("--report", type=Path, default=None,
                   help="the comparison report to copy from (default reports/full/comparison.md)")
    p.add_argument("--readme", type=Path, default=None, help="README to update (default the checkout's README.md)")
    p.add_argument("--check", action="store_true", help="only compare: exit 1 if the README's table differs")
    args = p.parse_args(argv)
    report = args.report or reports_dir() / "full" / "comparison.md"
    readme = args.readme or project_root() / "README.md"
    if not report.is_file():
        raise SystemExit(f"report readme: {report} does not exist (python -m scratchbench.report --out ... writes it)")
    text = readme.read_text()
    try:
        new = replace_block(text, BLOCK, reproduction_block(report.read_text(), str(report)), "report readme")
    except ValueError as exc:
        raise SystemExit(f"report readme: {exc}") from None
    return write_or_check(readme, text, new, args.check,
                          f"the reproduction table differs from {report}; run `python -m scratchbench.report.readme`")


if __name__ == "__main__":
    sys.exit(main())
