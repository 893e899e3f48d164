#!/usr/bin/env bash
# Side-by-side benchmark of `mlxk` against huggingface_hub, find and mlx-knife 2.0.8.
#
#   bash bench/run.sh                      # after `cargo xtask build` (uses target/release/mlxk)
#   MLXK=/path/to/mlxk bash bench/run.sh   # any other binary
#
# Installs what it needs: hyperfine and GNU time (apt, as root) and two venvs under bench/.venv/:
# `hub` with huggingface_hub==2.4.0 and `mlx-knife` with mlx-knife==2.0.8, and @huggingface/hub
# in bench/.node (they cannot share one:
# mlx-knife pins transformers==5.14.1, which requires huggingface-hub<2.0). Generates, or reuses, a large synthetic cache
# (REPOS x FILES, default 1000 x 40) and a small one (5 repos) under bench/out/, keyed by the
# parameters and the generator's hash, laid out as .../hf/hub so HF_HOME=.../hf works for
# mlx-knife. Every peer runs on the same large cache with `hyperfine -N --warmup 2 --runs 10`;
# bench/report.py prints the table and writes bench/out/results.json.
#
# Knobs (environment): MLXK, REPOS, FILES, BLOB_SIZE, SEED, RUNS, WARMUP.
# This is a benchmark, not a test: nothing in the test suite runs it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BENCH=$ROOT/bench
OUT=$BENCH/out
VENV=$BENCH/.venv
MLXK=${MLXK:-$ROOT/target/release/mlxk}
REPOS=${REPOS:-1000}
FILES=${FILES:-40}
BLOB_SIZE=${BLOB_SIZE:-1024}
SEED=${SEED:-0}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
SMALL_REPOS=5
HUB_REQS="huggingface_hub==2.4.0"
REF_REQS="mlx-knife==2.0.8"


# --- tools --------------------------------------------------------------------------------------
require_tools hyperfine time

venv() { # DIR REQUIREMENT...: create or refresh a venv holding exactly these requirements
  local dir=$1
  shift
  if [[ ! -x $dir/bin/python || "$(cat "$dir/.installed" 2>/dev/null)" != "$*" ]]; then
    say "creating $dir with $* (takes a few minutes the first time)"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check "$@"
    echo "$*" >"$dir/.installed"
  fi
}
venv "$VENV/hub" $HUB_REQS
venv "$VENV/mlx-knife" $REF_REQS
PY=$VENV/hub/bin/python
PY_MLXK=$VENV/mlx-knife/bin/mlxk

if [[ ! -x $MLXK ]]; then
  say "no mlxk binary at $MLXK: run 'cargo xtask build' or set MLXK=/path/to/mlxk"
  exit 2
fi
MLXK=$(cd "$(dirname "$MLXK")" && pwd)/$(basename "$MLXK")

# --- caches -------------------------------------------------------------------------------------
GEN_HASH=$(sha1sum "$BENCH/make_cache.py" | cut -c1-8)
make_cache() { # repos -> prints the HF_HOME dir (its hub/ is the cache)
  local dir=$OUT/cache-r$1-f$FILES-b$BLOB_SIZE-s$SEED-$GEN_HASH
  if [[ ! -f $dir/.complete ]]; then
    rm -rf "$dir"
    python3 "$BENCH/make_cache.py" --repos "$1" --files "$FILES" --blob-size "$BLOB_SIZE" \
      --seed "$SEED" "$dir/hf/hub" >&2
    touch "$dir/.complete"
  else
    say "reusing $dir"
  fi
  printf '%s/hf' "$dir"
}
mkdir -p "$OUT"
LARGE_HOME=$(make_cache "$REPOS")
SMALL_HOME=$(make_cache "$SMALL_REPOS")
LARGE=$LARGE_HOME/hub
SMALL=$SMALL_HOME/hub

# --- benchmarks ---------------------------------------------------------------------------------
HF_DIR=$OUT/hyperfine
rm -rf "$HF_DIR"
mkdir -p "$HF_DIR"
SKIPS=()
PYENV="env HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_UPDATE_CHECK=1 TZ=UTC"

# bench NAME COMMAND: one hyperfine run per command, after a preflight that must exit 0.
bench() {
  local name=$1 cmd=$2
  say "$name: $cmd"
  if ! bash -c "$cmd" >/dev/null 2>"$OUT/$name.stderr"; then
    say "$name failed its preflight run (stderr in $OUT/$name.stderr); skipped"
    SKIPS+=(--skip "$name=preflight failed")
    return
  fi
  hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
    --export-json "$HF_DIR/$name.json" "$cmd" >&2
}

count() { # JSON document on stdin -> number of list items, for the sanity note
  "$PY" -c 'import json,sys; d=json.load(sys.stdin); m=d.get("data") or {}; print(len(m.get("models") or []))' \
    2>/dev/null || echo "?"
}
say "sanity: ours lists $("$MLXK" list --json --all --cache-dir "$LARGE" 2>/dev/null | count) models," \
  "mlx-knife lists $(env HF_HOME="$LARGE_HOME" TZ=UTC "$PY_MLXK" list --json --all 2>/dev/null | count)"

bench ours_list "$(q "$MLXK") list --json --all --cache-dir $(q "$LARGE")"
bench hf_scan "env HF_HUB_CACHE=$(q "$LARGE") $(q "$PY") -c 'from huggingface_hub import scan_cache_dir; scan_cache_dir()'"
bench find_floor "find -L $(q "$LARGE") -printf '%s\n'"
bench py_list "$PYENV HF_HOME=$(q "$LARGE_HOME") $(q "$PY_MLXK") list --json --all"
# Node: the npm package's list() against @huggingface/hub's scanCacheDir, each a whole process.
hfjs_install "$BENCH/.node"
bench node_list "node $(q "$BENCH/node_list.mjs") ours $(q "$LARGE")"
bench hfjs_scan "node $(q "$BENCH/node_list.mjs") hfjs $(q "$LARGE")"

set +e
"$MLXK" health --json --cache-dir "$SMALL" >/dev/null 2>&1
health_rc=$?
set -e
if [[ $health_rc -eq 2 ]]; then
  say "our mlxk has no 'health' command yet (exit 2): health comparison skipped"
  SKIPS+=(--skip "py_health=mlxk health not supported" --skip "ours_health=mlxk health not supported")
else
  bench ours_health "$(q "$MLXK") health --json --cache-dir $(q "$LARGE")"
  bench py_health "$PYENV HF_HOME=$(q "$LARGE_HOME") $(q "$PY_MLXK") health --json"
fi

bench ours_small "$(q "$MLXK") list --json --cache-dir $(q "$SMALL")"

set +e
SHOW_NAME=$("$MLXK" list --json --all --cache-dir "$SMALL" 2>/dev/null |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["models"][0]["name"])' 2>/dev/null)
set -e
if "$MLXK" show "$SHOW_NAME" --json --cache-dir "$SMALL" >/dev/null 2>&1; then
  bench ours_show "$(q "$MLXK") show $(q "$SHOW_NAME") --json --cache-dir $(q "$SMALL")"
else
  say "our mlxk cannot show '$SHOW_NAME' yet: show timing skipped"
fi

say "peak RSS: /usr/bin/time -f %M mlxk list --json --all (max of 3)"
RSS_KB=0
for _ in 1 2 3; do
  /usr/bin/time -f %M -o "$OUT/rss.txt" "$MLXK" list --json --all --cache-dir "$LARGE" >/dev/null
  kb=$(tail -n1 "$OUT/rss.txt")
  ((kb > RSS_KB)) && RSS_KB=$kb
done

# --- report -------------------------------------------------------------------------------------
echo
echo "mlxk benchmark: $REPOS repos x $FILES files (blob size $BLOB_SIZE, seed $SEED), $RUNS runs, $WARMUP warmup"
echo "binary: $MLXK"
echo
python3 "$BENCH/report.py" --hyperfine-dir "$HF_DIR" --rss-kb "$RSS_KB" --out "$OUT/results.json" \
  --param "repos=$REPOS" --param "files=$FILES" --param "blob_size=$BLOB_SIZE" --param "seed=$SEED" \
  --param "runs=$RUNS" --param "warmup=$WARMUP" --param "mlxk=$MLXK" --param "cache=$LARGE" \
  --param "nproc=$(nproc)" "${SKIPS[@]}"
