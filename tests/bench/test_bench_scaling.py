"""``bench scaling --quick``: settings, per-implementation fits, the JSON and the figure."""

from __future__ import annotations

import json

from scratchbench.bench import scaling


def test_quick_scaling_writes_fits_and_a_figure(tmp_path):
    assert scaling.main(["--quick", "--only", "numpy", "--out-dir", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "scaling.json").read_text())
    keys = [s["key"] for s in data["settings"]]
    assert keys == ["b32_w100", "b64_w100", "b128_w32", "b128_w64"]
    assert [s["steps"] for s in data["settings"]] == [8, 4, 2, 2]  # 256 images
    assert set(data["medians"]["threads_1"]["numpy"]) == set(keys)
    fit = data["fits"]["threads_1"]["numpy"]
    assert fit["seconds_per_step"] >= 0 and fit["n_points"] == 4 and len(fit["predicted"]) == 4
    assert data["meta"]["host"]["cpu"]
    assert data["meta"]["fit"].startswith("non-negative least squares on relative errors")
    assert (tmp_path / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
