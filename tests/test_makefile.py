"""Every phony Makefile target has a rule (no advertised target that does nothing)."""

from __future__ import annotations

import re
from pathlib import Path

MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"


def test_every_phony_target_has_a_rule():
    text = MAKEFILE.read_text()
    phony = {t for line in re.findall(r"^\.PHONY:(.*)$", text, re.M) for t in line.split()}
    rules = set(re.findall(r"^([A-Za-z][\w-]*):", text, re.M))
    assert phony and phony - rules == set(), f"phony targets without a rule: {sorted(phony - rules)}"
