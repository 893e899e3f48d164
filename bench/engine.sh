#!/usr/bin/env bash
# Side-by-side benchmark of inference: `mlxk run` against mlx-lm's own `mlx_lm.generate`,
# and a warm request through `mlxk serve` against one through `mlx_lm.server`, on the same
# tiny Llama (built by tests/engine/tiny_llama.py). Both sides run the same mlx-lm; what is
# measured is our overhead over it.
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

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }

run_ours() {
  MLXK_PYTHON=$PYTHON "$MLXK" run "$OUT/tiny" "hello world" --max-tokens "$TOKENS" \
    --temperature 0 --no-stream --cache-dir "$OUT/hub" >/dev/null 2>&1
}
run_theirs() {
  "$PYTHON" -m mlx_lm generate --model "$OUT/tiny" --prompt "hello world" \
    --max-tokens "$TOKENS" --temp 0 >/dev/null 2>&1
}
for side in ours theirs; do
  for _ in $(seq "$RUNS"); do
    t0=$(now); "run_$side"; t1=$(now)
    echo "$t1 - $t0" | bc
  done | median >"$OUT/run-$side"
done

# Warm requests: each server loads the model on a first request, then is timed.
request() {
  curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$1/v1/chat/completions" \
    -H 'Content-Type: application/json' \
    -d "{\"model\": \"$2\", \"messages\": [{\"role\": \"user\", \"content\": \"hello world\"}], \"max_tokens\": $TOKENS, \"temperature\": 0}"
}
wait_port() { for _ in $(seq 100); do curl -s "http://127.0.0.1:$1/health" >/dev/null && return; sleep 0.2; done; }
MLXK_PYTHON=$PYTHON "$MLXK" serve --port 18801 --cache-dir "$OUT/hub" 2>/dev/null &
OURS=$!
"$PYTHON" -m mlx_lm server --model "$OUT/tiny" --port 18802 >/dev/null 2>&1 &
THEIRS=$!
trap 'kill $OURS $THEIRS 2>/dev/null' EXIT
wait_port 18801; wait_port 18802
request 18801 "$OUT/tiny" >/dev/null; request 18802 "$OUT/tiny" >/dev/null
for _ in $(seq "$RUNS"); do request 18801 "$OUT/tiny"; done | median >"$OUT/serve-ours"
for _ in $(seq "$RUNS"); do request 18802 "$OUT/tiny"; done | median >"$OUT/serve-theirs"

printf '%-34s %10s %10s %8s\n' "median of $RUNS, $TOKENS tokens" mlxk mlx-lm ratio
for k in run serve; do
  o=$(cat "$OUT/$k-ours"); t=$(cat "$OUT/$k-theirs")
  printf '%-34s %9.3fs %9.3fs %7.2fx\n' "$k" "$o" "$t" "$(echo "$o / $t" | bc -l)"
done
