"""Dispatch ``python -m scratchbench.bench <name> [options]`` to ``scratchbench.bench.<name>.main``."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {"mlp": "scratchbench.bench.mlp", "cnn": "scratchbench.bench.cnn", "scaling": "scratchbench.bench.scaling",
              "readme": "scratchbench.bench.readme", "pipeline": "scratchbench.bench.pipeline"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in BENCHMARKS:
        if argv and argv[0] not in ("-h", "--help"):
            print(f"unknown benchmark {argv[0]!r}; valid: {', '.join(BENCHMARKS)}", file=sys.stderr)
        print("usage: python -m scratchbench.bench {" + ",".join(BENCHMARKS) + "} [options]  (--help per benchmark)", file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    module = importlib.import_module(BENCHMARKS[argv[0]])  # lazy: only the chosen benchmark's imports load
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
