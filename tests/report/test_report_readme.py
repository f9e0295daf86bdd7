"""The README's reproduction table is what ``report.readme`` copies from reports/full/comparison.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from scratchbench.report import readme

REPORT = """# scratchbench comparison report

Runs recorded on: Some CPU; wall time: 1.0 min from 2026-01-01 00:00 UTC (runs open 0.5 min in all).

## Reproduction of the reference experiments

2 of 2 rows have runs. Verdicts: 1 reproduced, 1 differs.
Prose that stays in the report.

| Ref | Preset | Variant | Implementation | Source | Published | Ours | Tolerance | Verdict |
|---|---|---|---|---|---|---|---|---|
| R1 | `r1` | as written | numpy_mlp | tutorial | 0.5 | 0.5 | ± 0 | **reproduced** |
| R2 | `r2` | as written | numpy_mlp | tutorial | 1 \\| 2 | 3 | ± 0 | **differs**: why |

![figure](figures/x.png)
"""


REPO = Path(__file__).resolve().parents[2]  # explicit: the session store fixture points SCRATCHBENCH_ROOT elsewhere


def test_committed_readme_table_equals_reports_full():
    report = REPO / "reports" / "full" / "comparison.md"
    args = ["--check", "--report", str(report), "--readme", str(REPO / "README.md")]
    assert readme.main(args) == 0, "run `python -m scratchbench.report.readme`"


def test_block_is_copied_whole_and_idempotent(tmp_path):
    report, md = tmp_path / "comparison.md", tmp_path / "README.md"
    report.write_text(REPORT)
    md.write_text("intro\n<!-- reproduction-table:start -->\nold 0.123\n<!-- reproduction-table:end -->\noutro\n")
    assert readme.main(["--report", str(report), "--readme", str(md)]) == 0
    text = md.read_text()
    assert "old 0.123" not in text and "Prose that stays" not in text and "figure" not in text
    assert text.startswith("intro\n<!-- reproduction-table:start -->\nRuns recorded on: Some CPU;")
    assert "2 of 2 rows have runs. Verdicts: 1 reproduced, 1 differs.\n\n| Ref | Preset |" in text
    assert "| 1 \\| 2 | 3 | ± 0 | **differs**: why |\n<!-- reproduction-table:end -->\noutro\n" in text
    assert readme.main(["--report", str(report), "--readme", str(md), "--check"]) == 0
    report.write_text(REPORT.replace("0.5 | 0.5", "0.5 | 0.4"))
    assert readme.main(["--report", str(report), "--readme", str(md), "--check"]) == 1


def test_a_report_without_the_table_or_a_readme_without_markers_is_an_error(tmp_path):
    report, md = tmp_path / "comparison.md", tmp_path / "README.md"
    report.write_text("# a report with no reproduction table\n")
    md.write_text("<!-- reproduction-table:start -->\n<!-- reproduction-table:end -->\n")
    with pytest.raises(SystemExit, match="comparison.md: no reproduction table"):
        readme.main(["--report", str(report), "--readme", str(md)])
    report.write_text(REPORT)
    md.write_text("no markers\n")
    with pytest.raises(SystemExit, match="reproduction-table:start"):
        readme.main(["--report", str(report), "--readme", str(md)])
    with pytest.raises(SystemExit, match="does not exist"):
        readme.main(["--report", str(tmp_path / "missing.md"), "--readme", str(md)])
