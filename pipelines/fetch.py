"""DVC stage `fetch@<dataset>`: fetch verified raw files into data/raw/<dataset>.

Mirror: $SCRATCHBENCH_DATA_MIRROR, else params.yaml `fetch.mirror`; upstream URLs after that
unless `fetch.upstream: false`.
"""

from __future__ import annotations

import os
import sys

from scratchbench.data.fetch import MIRROR_ENV, FetchError, fetch_dataset
from scratchbench.data.params import fetch_params


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python pipelines/fetch.py <dataset>", file=sys.stderr)
        return 2
    p = fetch_params()
    mirror = os.environ.get(MIRROR_ENV) or p["mirror"]
    try:
        got = fetch_dataset(argv[0], mirror=mirror, upstream=bool(p["upstream"]), timeout=float(p["timeout"]),
                            workers=int(p["workers"]))
    except (FetchError, KeyError, ValueError) as e:
        print(f"fetch {argv[0]} failed:\n{e}", file=sys.stderr)
        return 1
    print(f"fetch {argv[0]}: {len(got)} file(s) verified (mirror: {mirror or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
