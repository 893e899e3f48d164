#!/usr/bin/env python3
"""Turn the benchmark's hyperfine exports into a comparison table and ``results.json``.

Called by ``bench/run.sh``; stdlib only::

    python3 bench/report.py --hyperfine-dir bench/out/hyperfine --rss-kb 23456 \\
        [--skip NAME=REASON ...] [--param KEY=VALUE ...] --out bench/out/results.json

``--hyperfine-dir`` holds one ``<name>.json`` per benchmark (``hyperfine --export-json``,
one command each). Known names:

* ``ours_list``: ``mlxk list --json --all`` on the large cache (the reference for ratios)
* ``hf_scan``: huggingface_hub ``scan_cache_dir`` on the same cache
* ``find_floor``: ``find -L CACHE -printf '%s\\n'``, the cost of just walking the tree
* ``py_list``: mlx-knife 2.0.8 ``mlxk list --json --all``
* ``ours_health`` / ``py_health``: ``health --json`` of both tools (informational)
* ``ours_small``: warm ``mlxk list --json`` on the small cache (absolute time)
* ``node_list`` / ``hfjs_scan``: the npm package's ``list()`` and @huggingface/hub's
  ``scanCacheDir``, each a whole Node process

Targets: ``hf_scan`` at least 5x slower than ours, ``py_list`` at least 8x,
``find_floor`` at least 0.83x (ours within 1.2x of ``find``), ``py_health`` at least 8x,
``hfjs_scan`` at least 1.5x slower than ``node_list``, ``ours_small`` under 15 ms, peak
RSS of ``ours_list`` under 64 MiB. A target whose data is missing is
reported as SKIP. The exit status is 0 whether targets pass or not: the table is
the result.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# name, label, minimum peer/ours ratio (None = informational)
RATIO_ROWS = [
    ("hf_scan", "huggingface_hub scan_cache_dir", 5.0, "ours_list"),
    ("py_list", "mlx-knife 2.0.8 list --json --all", 8.0, "ours_list"),
    ("find_floor", "find -L (floor)", 1 / 1.2, "ours_list"),
    ("py_health", "mlx-knife 2.0.8 health --json", 8.0, "ours_health"),
    ("hfjs_scan", "@huggingface/hub scanCacheDir (Node)", 1.5, "node_list"),
]
LABELS = {
    "ours_list": "mlxk list --json --all (ours)",
    "ours_health": "mlxk health --json (ours)",
    "node_list": "npm list({all: true}) (ours, Node)",
    "ours_small": "mlxk list --json, small cache, warm",
    "ours_show": "mlxk show X --json, small cache, warm",
}
SMALL_MAX_MS = 15.0
RSS_MAX_KB = 64 * 1024


def load(directory: Path) -> dict[str, dict]:
    """name -> {mean_ms, stddev_ms, min_ms, max_ms, runs, command} from hyperfine exports."""
    found = {}
    for path in sorted(directory.glob("*.json")):
        result = json.loads(path.read_text())["results"][0]
        found[path.stem] = {
            "command": result["command"],
            "mean_ms": result["mean"] * 1000,
            "stddev_ms": (result.get("stddev") or 0.0) * 1000,
            "min_ms": result["min"] * 1000,
            "max_ms": result["max"] * 1000,
            "runs": len(result.get("times") or []),
        }
    return found


def fmt_time(bench: dict | None) -> str:
    """``mean ± stddev`` in ms, or a dash."""
    if bench is None:
        return "-"
    return f"{bench['mean_ms']:.1f} ± {bench['stddev_ms']:.1f}"


def build(benches: dict[str, dict], rss_kb: int | None, skipped: dict[str, str]) -> tuple[list, dict]:
    """Table rows and the results document."""
    rows = []
    checks = []
    for name in ("ours_list", "ours_health", "node_list"):
        if name in benches:
            rows.append((LABELS[name], fmt_time(benches[name]), "1.00x", "(reference)", ""))
    for name, label, minimum, reference in RATIO_ROWS:
        peer, ours = benches.get(name), benches.get(reference)
        target = f">= {minimum:.2f}x" if minimum is not None else "info"
        if peer is None or ours is None:
            why = skipped.get(name) or skipped.get(reference) or "not measured"
            rows.append((label, "-", "-", target, f"SKIP ({why})"))
            checks.append({"name": name, "target": target, "result": "SKIP", "reason": why})
            continue
        ratio = peer["mean_ms"] / ours["mean_ms"]
        result = "" if minimum is None else ("PASS" if ratio >= minimum else "MISS")
        rows.append((label, fmt_time(peer), f"{ratio:.2f}x", target, result))
        checks.append(
            {
                "name": name,
                "reference": reference,
                "ratio": round(ratio, 3),
                "target": target,
                "result": result or "INFO",
            }
        )

    for name in ("ours_small", "ours_show"):
        small = benches.get(name)
        if small is None:
            rows.append((LABELS[name], "-", "", f"< {SMALL_MAX_MS:g} ms", "SKIP"))
            checks.append({"name": name, "target": f"< {SMALL_MAX_MS:g} ms", "result": "SKIP"})
            continue
        result = "PASS" if small["mean_ms"] < SMALL_MAX_MS else "MISS"
        rows.append((LABELS[name], fmt_time(small), "", f"< {SMALL_MAX_MS:g} ms", result))
        checks.append(
            {
                "name": name,
                "mean_ms": round(small["mean_ms"], 3),
                "target": f"< {SMALL_MAX_MS:g} ms",
                "result": result,
            }
        )

    rss_target = f"< {RSS_MAX_KB // 1024} MiB"
    if rss_kb is None:
        rows.append(("peak RSS, mlxk list --json --all", "-", "", rss_target, "SKIP"))
        checks.append({"name": "ours_rss", "target": rss_target, "result": "SKIP"})
    else:
        result = "PASS" if rss_kb < RSS_MAX_KB else "MISS"
        rows.append(("peak RSS, mlxk list --json --all", f"{rss_kb / 1024:.1f} MiB", "", rss_target, result))
        checks.append({"name": "ours_rss", "peak_rss_kb": rss_kb, "target": rss_target, "result": result})

    document = {
        "benchmarks": {
            k: {
                **v,
                "mean_ms": round(v["mean_ms"], 3),
                "stddev_ms": round(v["stddev_ms"], 3),
                "min_ms": round(v["min_ms"], 3),
                "max_ms": round(v["max_ms"], 3),
            }
            for k, v in benches.items()
        },
        "peak_rss_kb": rss_kb,
        "checks": checks,
        "skipped": skipped,
        "all_pass": all(c["result"] in ("PASS", "INFO") for c in checks),
    }
    return rows, document


def render(rows: list[tuple[str, ...]]) -> str:
    """Plain-text table."""
    header = ("benchmark", "mean ± σ (ms)", "peer/ours", "target", "result")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def pairs(values: list[str], flag: str) -> dict[str, str]:
    """``KEY=VALUE`` options to a dict."""
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            sys.exit(f"report.py: {flag} expects KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the table, write results.json."""
    parser = argparse.ArgumentParser(description="Summarize the mlxk benchmark.")
    parser.add_argument("--hyperfine-dir", required=True, type=Path)
    parser.add_argument("--rss-kb", type=int, help="peak RSS of ours_list in KiB (/usr/bin/time %%M)")
    parser.add_argument("--skip", action="append", default=[], metavar="NAME=REASON")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", required=True, type=Path, help="results.json to write")
    args = parser.parse_args(argv)

    rows, document = build(load(args.hyperfine_dir), args.rss_kb, pairs(args.skip, "--skip"))
    document = {"params": pairs(args.param, "--param"), **document}
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(render(rows))
    verdict = "all targets met" if document["all_pass"] else "some targets missed or skipped"
    print(f"\n{verdict}; numbers in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
