#!/usr/bin/env bash
# Side-by-side benchmark of inference: `mlxk run` against mlx-lm's own `mlx_lm.generate`,
# and a warm streamed request through `mlxk serve` against one through `mlx_lm.server`.
# Both sides run the same mlx-lm on the same model; what is measured is our overhead over
# it: time to first token and tokens per second, read from each side's stream
# (bench/stream.py). Two models built by tests/engine/tiny_llama.py: the tiny one of the
# tests (hidden 64, 2 layers: thousands of tokens/s, so per-token overhead shows most) and
# a small one (hidden 128, 4 layers, 4-bit: about 40 tokens/s on 2 cores, a real model's pace).
#
#   bash bench/engine.sh            # after `cargo xtask build`; uses .venv-reference's Python
#
# Knobs: MLXK, PYTHON (a Python with mlx-lm), TOKENS, RUNS.
# This is a benchmark, not a test: nothing in the test suite runs it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MLXK=${MLXK:-$ROOT/target/release/mlxk}
PYTHON=${PYTHON:-$ROOT/.venv-reference/bin/python}
TOKENS=${TOKENS:-200}
RUNS=${RUNS:-5}
OUT=$ROOT/bench/out/engine
rm -rf "$OUT" && mkdir -p "$OUT/hub"
"$PYTHON" "$ROOT/tests/engine/tiny_llama.py" "$OUT/tiny" --quantize >/dev/null
"$PYTHON" "$ROOT/tests/engine/tiny_llama.py" "$OUT/small" --quantize --hidden 128 --layers 4 >/dev/null

for model in tiny small; do
  "$PYTHON" "$ROOT/bench/stream.py" "$OUT/$model" --mlxk "$MLXK" --python "$PYTHON" \
    --cache "$OUT/hub" --tokens "$TOKENS" --runs "$RUNS" >"$OUT/$model.jsonl"
done

"$PYTHON" - "$OUT" "$RUNS" "$TOKENS" <<'PY'
import json, sys
from pathlib import Path
out, runs, tokens = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
print(f"median of {runs}, {tokens} greedy tokens; ttft = time to first token")
print(f"{'model':6} {'pair':24} {'ttft mlxk':>10} {'ttft mlx-lm':>12} {'delta':>9} "
      f"{'tok/s mlxk':>11} {'tok/s mlx-lm':>13} {'ratio':>6}")
for model in ("tiny", "small"):
    sides = {}
    for line in (out / f"{model}.jsonl").read_text().splitlines():
        d = json.loads(line)
        sides[d["side"]] = d
    for ours, theirs in (("run", "generate"), ("serve", "server")):
        o, t = sides[ours], sides[theirs]
        print(f"{model:6} {ours + ' vs ' + theirs:24} {o['ttft_s']:9.3f}s {t['ttft_s']:11.3f}s "
              f"{(o['ttft_s'] - t['ttft_s']) * 1000:+7.0f}ms {o['tokens_per_s']:11.1f} "
              f"{t['tokens_per_s']:13.1f} {o['tokens_per_s'] / t['tokens_per_s']:6.2f}")
PY
