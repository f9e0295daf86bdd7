"""CLI: ``python -m scratchbench.data {fetch,featurize,verify,registry-fruits} ...``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Sequence

from scratchbench.data.errors import DataFormatError
from scratchbench.data.features import DATASETS, FeatureError
from scratchbench.data.fetch import FetchError, fetch_dataset, verify_raw
from scratchbench.data.registry import FETCHED_DATASETS, generate_fruits_registry


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scratchbench.data", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download/copy raw files into data/raw/<dataset> (sha256-verified)")
    f.add_argument("datasets", nargs="+", choices=FETCHED_DATASETS)
    f.add_argument("--mirror", help="folder or http(s) base URL laid out like shared/datasets "
                                    "(default: $SCRATCHBENCH_DATA_MIRROR)")
    f.add_argument("--no-upstream", action="store_true", help="never fall back to the upstream URLs")
    f.add_argument("--timeout", type=float, default=60.0, help="HTTP timeout in seconds")
    f.add_argument("--workers", type=int, default=8, help="parallel fetches for many-file datasets")
    z = sub.add_parser("featurize", help="write data/features/<dataset> (options from params.yaml featurize.<dataset>)")
    z.add_argument("datasets", nargs="+", choices=DATASETS)
    z.add_argument("--params", default=None, help="params.yaml to read featurize.<dataset> from")
    v = sub.add_parser("verify", help="check data/raw/<dataset> against the registry")
    v.add_argument("datasets", nargs="+", choices=FETCHED_DATASETS)
    r = sub.add_parser("registry-fruits", help="regenerate registry_fruits360.tsv from a checksums.sha256")
    r.add_argument("checksums")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "fetch":
            for ds in a.datasets:
                got = fetch_dataset(ds, mirror=a.mirror, upstream=not a.no_upstream, timeout=a.timeout,
                                    workers=a.workers)
                print(f"{ds}: {len(got)} file(s) verified")
        elif a.cmd == "featurize":
            from scratchbench.data.params import featurize_params
            from scratchbench.data.featurize import featurize_dataset

            for ds in a.datasets:
                t0 = time.perf_counter()
                out = featurize_dataset(ds, featurize_params(ds, a.params))
                meta = json.loads((out / "meta.json").read_text())
                print(f"{ds}: {out} train {meta['shapes']['x_train']} test {meta['shapes']['x_test']}"
                      f" ({time.perf_counter() - t0:.1f} s)")
        elif a.cmd == "verify":
            for ds in a.datasets:
                print(f"{ds}: {len(verify_raw(ds))} file(s) OK")
        else:
            print(f"{generate_fruits_registry(a.checksums)} entries written")
    except (FetchError, DataFormatError, FeatureError, KeyError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
