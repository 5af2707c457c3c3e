"""`python -m bench` (`make bench`): run every benchmark, print figures, save bench/results.json."""

from __future__ import annotations

import importlib
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCHMARKS = ("parser_bench", "ledger_bench", "channel_bench", "score_bench", "burst_bench",
              "khata_bench", "analytics_bench", "web_bench", "day_bench",
              "history_bench")
RESULTS = Path(__file__).parent / "results.json"


def main() -> int:
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
                   f"{platform.python_version()}",
    }
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"bench.{name}")
        results[name] = module.main()
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"saved {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
