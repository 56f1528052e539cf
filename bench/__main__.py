"""``python -m bench [name ...]``: run the benchmarks and write artifacts/bench.json.

Each benchmark module exposes ``main(argv=None) -> dict``; it prints its own table, with
our figures next to a reference measured in the same run.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

BENCHMARKS = ("audio_bench", "bridge_bench", "tools_bench", "sse_bench")
ARTIFACT = Path(__file__).resolve().parent.parent / "artifacts" / "bench.json"


def run(names: list[str]) -> dict[str, dict]:
    results: dict[str, dict] = {}
    for position, name in enumerate(names, 1):
        print(f"\n=== [{position}/{len(names)}] {name} ===", flush=True)
        started = time.monotonic()
        module = importlib.import_module(f"bench.{name}")
        results[name] = module.main([]) or {}
        print(f"--- {name} took {time.monotonic() - started:.1f}s", flush=True)
    return results


def main() -> int:
    names = sys.argv[1:] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    results = run(names)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults written to {ARTIFACT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
