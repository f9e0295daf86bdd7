"""Alternation order, load flags and the spread statistics."""

from __future__ import annotations

from scratchbench.bench.stats import alternated, load_flagged, summary


def test_alternation_is_abba():
    seq = [name for rep in range(4) for name in alternated(["A", "B"], rep)]
    assert "".join(seq) == "ABBAABBA"
    assert alternated(["a", "b", "c"], 0) == ["a", "b", "c"] and alternated(["a", "b", "c"], 1) == ["c", "b", "a"]


def test_load_flag_when_the_load_exceeds_the_thread_count():
    assert load_flagged([0.5, 1.2], threads=1)
    assert not load_flagged([0.5, 1.0], threads=1)  # equal is not above
    assert not load_flagged([1.9, 2.0], threads=2) and load_flagged([2.01, 0.3], threads=2)


def test_summary_median_iqr_and_bootstrap_interval():
    values = [float(v) for v in range(1, 20)] + [1000.0]  # 1..19 and one outlier
    s = summary(values, [i == 3 for i in range(20)])
    assert s["median"] == 10.5 and s["iqr"] == [5.75, 15.25] and s["n"] == 20 and s["n_load_flagged"] == 1
    lo, hi = s["ci95_median"]
    assert 5.0 < lo < 10.5 < hi < 16.0  # the median's interval is not pulled towards the outlier


def test_load_watch_reads_before_during_and_after():
    import time

    from scratchbench.bench.worker import LoadWatch

    with LoadWatch(interval=0.05) as loads:
        time.sleep(0.3)
    assert len(loads) >= 4 and all(v >= 0 for v in loads)  # before, a few during, after
