#!/usr/bin/env bash
# Side-by-side benchmark of `mlxk pull` against curl + openssl and huggingface_hub's
# snapshot_download, all downloading from the project's test Hub (tests/hub/fakehub.py) on
# 127.0.0.1.
#
#   bash bench/pull.sh                          # after `cargo xtask build`
#   SIZE_MIB=64 RUNS=2 bash bench/pull.sh       # quick check
#
# Builds (once per SIZE_MIB) a store under bench/out/pull-store/ with two repos:
#   bench/big     model.safetensors (SIZE_MIB MiB of random bytes) + config.json
#   bench/small   f000.json .. f199.json (20 kB of deterministic JSON text each) + config.json
# starts fakehub.py on it (--port 0; stopped by its PID at exit), warms it, then measures with
# `hyperfine -N`, every run into a fresh empty cache (--prepare 'rm -rf DIR && sync'):
#   curl_openssl   curl -o F $HUB/bench/big/resolve/main/model.safetensors && openssl dgst -sha256 F
#   hf_big         hf_client.py download (snapshot_download, huggingface_hub==2.4.0) of bench/big
#   hf_small       the same for bench/small
#   ours_big       HF_ENDPOINT=$HUB mlxk pull bench/big --json --cache-dir DIR
#   ours_small     the same for bench/small
#   node_big       the npm package's pull() (bench/node_pull.mjs ours) of bench/big
#   node_small     the same for bench/small
#   hfjs_big       @huggingface/hub's snapshotDownload (bench/node_pull.mjs hfjs) of bench/big
#   hfjs_small     the same for bench/small
# and peak RSS (/usr/bin/time -f %M) of ours_big (and, for information, of hf_big). Our rows are
# skipped with a note while `mlxk pull` does not exist (binary missing, or exit code 2).
# Prints the table with the targets; raw exports in bench/out/hyperfine-pull/, the summary in
# bench/out/pull-results.json.
#
# Knobs (environment): MLXK, SIZE_MIB, RUNS, WARMUP. Not a test: nothing in the suite runs it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BENCH=$ROOT/bench
OUT=$BENCH/out
MLXK=${MLXK:-$ROOT/target/release/mlxk}
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
HUB_REQS="huggingface_hub==2.4.0"
STORE=$OUT/pull-store
CACHES=$OUT/pull-cache
HF_DIR=$OUT/hyperfine-pull


# --- tools --------------------------------------------------------------------------------------
require_tools hyperfine curl openssl time

# The Python client: the repo's .venv if it has exactly huggingface_hub 2.4.0, else bench/.venv/hub
# (the venv bench/run.sh creates, same convention).
if [[ -x $ROOT/.venv/bin/python ]] &&
  "$ROOT/.venv/bin/python" -c 'import sys, huggingface_hub as h; sys.exit(h.__version__ != "2.4.0")' 2>/dev/null; then
  PY=$ROOT/.venv/bin/python
else
  dir=$BENCH/.venv/hub
  if [[ ! -x $dir/bin/python || "$(cat "$dir/.installed" 2>/dev/null)" != "$HUB_REQS" ]]; then
    say "creating $dir with $HUB_REQS"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check $HUB_REQS
    echo "$HUB_REQS" >"$dir/.installed"
  fi
  PY=$dir/bin/python
fi
say "python client: $PY"

# The JavaScript client, in bench/.node (pinned; reinstalled when the pin changes).
hfjs_install "$BENCH/.node"

# --- store --------------------------------------------------------------------------------------
BIG=$STORE/models/bench/big/main
SMALL=$STORE/models/bench/small/main
BIG_BYTES=$((SIZE_MIB * 1048576))
mkdir -p "$BIG" "$SMALL"
if [[ "$(stat -c %s "$BIG/model.safetensors" 2>/dev/null || echo 0)" != "$BIG_BYTES" ]]; then
  say "writing $SIZE_MIB MiB of random bytes to $BIG/model.safetensors"
  head -c "$BIG_BYTES" /dev/urandom >"$BIG/model.safetensors.tmp"
  mv "$BIG/model.safetensors.tmp" "$BIG/model.safetensors"
fi
[[ -f $BIG/config.json ]] || printf '{"model_type":"llama"}' >"$BIG/config.json"
if [[ ! -f $STORE/.small-complete ]]; then
  say "writing 200 JSON files of 20 kB to $SMALL"
  python3 - "$SMALL" <<'EOF'
import json, os, random, sys
out = sys.argv[1]
words = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi "
         "rho sigma tau upsilon phi chi psi omega layer norm weight bias head rope").split()
for i in range(200):
    rng = random.Random(i)  # deterministic per file
    doc = {"file": i, "model_type": "llama", "entries": []}
    while len(json.dumps(doc, indent=1)) < 20_000 - 200:
        doc["entries"].append({"name": "_".join(rng.choices(words, k=3)), "value": round(rng.uniform(-1, 1), 6),
                               "shape": [rng.randrange(1, 4097), rng.randrange(1, 4097)]})
    doc["pad"] = ""  # pad to exactly 20 000 bytes
    doc["pad"] = "x" * (20_000 - 1 - len(json.dumps(doc, indent=1)))
    text = json.dumps(doc, indent=1) + "\n"
    assert len(text) == 20_000, len(text)
    with open(os.path.join(out, f"f{i:03d}.json"), "w") as fh:
        fh.write(text)
with open(os.path.join(out, "config.json"), "w") as fh:
    fh.write('{"model_type":"llama"}')
EOF
  touch "$STORE/.small-complete"
fi
cat "$BIG"/* "$SMALL"/* >/dev/null # warm the page cache

# --- the Hub ------------------------------------------------------------------------------------
READY=$OUT/pull-hub.ready
HUB_PID=
stop_hub() {
  if [[ -n $HUB_PID ]]; then
    kill "$HUB_PID" 2>/dev/null || true
    wait "$HUB_PID" 2>/dev/null || true
    HUB_PID=
  fi
}
trap 'stop_hub; rm -rf "$CACHES"' EXIT
rm -f "$READY"
python3 "$ROOT/tests/hub/fakehub.py" --store "$STORE" --port 0 >"$READY" 2>"$OUT/pull-hub.stderr" &
HUB_PID=$!
for _ in $(seq 100); do
  grep -q '^READY ' "$READY" 2>/dev/null && break
  kill -0 "$HUB_PID" 2>/dev/null || { say "fakehub died (see $OUT/pull-hub.stderr)"; exit 1; }
  sleep 0.1
done
HUB=$(awk '/^READY /{print $2}' "$READY")
[[ -n $HUB ]] || { say "fakehub did not print READY"; exit 1; }
say "hub at $HUB (pid $HUB_PID); hashing the store once"
curl -sf "$HUB/api/models/bench/big" >/dev/null   # the server hashes the files on first use
curl -sf "$HUB/api/models/bench/small" >/dev/null

# --- benchmarks ---------------------------------------------------------------------------------
rm -rf "$HF_DIR" "$CACHES"
mkdir -p "$HF_DIR" "$CACHES"
SKIPS=()
BIG_SHA=$(curl -sf "$HUB/api/models/bench/big/tree/main" |
  python3 -c 'import json, sys; print(next(i["lfs"]["oid"] for i in json.load(sys.stdin) if "lfs" in i))')

# check NAME CACHE REPO: the cache holds a snapshot identical to the store's branch.
check() {
  local snap
  snap=$(ls -d "$2/models--bench--$3/snapshots/"*/ 2>/dev/null | head -n1)
  [[ -n $snap ]] && diff -r "$STORE/models/bench/$3/main" "$snap" >/dev/null
}

# bench NAME COMMAND [REPO]: preflight (must exit 0 and, with REPO, fill the cache correctly),
# then hyperfine with a fresh cache before every run.
bench() {
  local name=$1 cmd=$2 repo=${3:-} dir=$CACHES/$1
  say "$name: $cmd"
  rm -rf "$dir"
  if ! bash -c "$cmd" >/dev/null 2>"$OUT/$name.stderr"; then
    say "$name failed its preflight run (stderr in $OUT/$name.stderr); skipped"
    SKIPS+=("$name=preflight failed")
    return
  fi
  if [[ -n $repo ]] && ! check "$name" "$dir" "$repo"; then
    say "$name: the cache does not hold bench/$repo as stored; skipped"
    SKIPS+=("$name=wrong cache content")
    return
  fi
  # `sync` after the removal: otherwise the previous run's gigabyte of dirty pages is written
  # back during the next run, which then pays for its predecessor (seen: 0.95x turned 1.17x).
  hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --prepare "sh -c $(q "rm -rf $(q "$dir") && sync")" \
    --export-json "$HF_DIR/$name.json" "$cmd" >&2
  rm -rf "$dir"
}

URL=$HUB/bench/big/resolve/main/model.safetensors
D=$CACHES/curl_openssl
bench curl_openssl "bash -c $(q "curl -sfS --create-dirs -o $(q "$D/model.safetensors") $(q "$URL") && openssl dgst -sha256 $(q "$D/model.safetensors") | grep -q $BIG_SHA")"
HF_CMD="$(q "$PY") $(q "$ROOT/tests/hub/hf_client.py") download --endpoint $(q "$HUB") --cache"
bench hf_big "$HF_CMD $(q "$CACHES/hf_big") bench/big" big
bench hf_small "$HF_CMD $(q "$CACHES/hf_small") bench/small" small

OURS=1
if [[ ! -x $MLXK ]]; then
  say "no mlxk binary at $MLXK: our rows skipped (run 'cargo xtask build' or set MLXK=...)"
  OURS=0
else
  MLXK=$(cd "$(dirname "$MLXK")" && pwd)/$(basename "$MLXK")
  set +e
  "$MLXK" pull --help >/dev/null 2>&1
  rc=$?
  set -e
  if [[ $rc -eq 2 ]]; then
    say "$MLXK has no 'pull' command yet (exit 2): our rows skipped"
    OURS=0
  fi
fi
if ((OURS)); then
  OURS_CMD="env HF_ENDPOINT=$(q "$HUB") $(q "$MLXK") pull"
  bench ours_big "$OURS_CMD bench/big --json --cache-dir $(q "$CACHES/ours_big")" big
  bench ours_small "$OURS_CMD bench/small --json --cache-dir $(q "$CACHES/ours_small")" small
else
  SKIPS+=("ours_big=mlxk pull not available" "ours_small=mlxk pull not available")
fi
NODE_CMD="node $(q "$BENCH/node_pull.mjs")"
bench node_big "$NODE_CMD ours bench/big $(q "$CACHES/node_big") $(q "$HUB")" big
bench node_small "$NODE_CMD ours bench/small $(q "$CACHES/node_small") $(q "$HUB")" small
bench hfjs_big "$NODE_CMD hfjs bench/big $(q "$CACHES/hfjs_big") $(q "$HUB")" big
bench hfjs_small "$NODE_CMD hfjs bench/small $(q "$CACHES/hfjs_small") $(q "$HUB")" small

rss() { # NAME COMMAND -> peak RSS in KiB, max of 2 runs on a fresh cache
  local max=0 kb
  for _ in 1 2; do
    rm -rf "${CACHES:?}/$1"
    /usr/bin/time -f %M -o "$HF_DIR/rss-$1.txt" bash -c "$2" >/dev/null 2>&1 || { echo 0; return; }
    kb=$(tail -n1 "$HF_DIR/rss-$1.txt")
    ((kb > max)) && max=$kb
  done
  rm -rf "${CACHES:?}/$1"
  echo "$max"
}
say "peak RSS: /usr/bin/time -f %M (max of 2)"
RSS_HF=$(rss hf_big "$HF_CMD $(q "$CACHES/hf_big") bench/big")
RSS_OURS=0
if [[ -f $HF_DIR/ours_big.json ]]; then
  RSS_OURS=$(rss ours_big "$OURS_CMD bench/big --json --cache-dir $(q "$CACHES/ours_big")")
fi
stop_hub

# --- report -------------------------------------------------------------------------------------
echo
echo "mlxk pull benchmark: bench/big ($SIZE_MIB MiB) and bench/small (200 x 20 kB) from fakehub on 127.0.0.1"
echo "$RUNS runs, $WARMUP warmup, fresh cache every run; binary: $MLXK; $(nproc) cores"
echo
python3 - "$HF_DIR" "$OUT/pull-results.json" "$BIG_BYTES" "$RSS_OURS" "$RSS_HF" "$SIZE_MIB" "$RUNS" "$WARMUP" \
  "$MLXK" "${SKIPS[@]}" <<'EOF'
import json, os, sys
hf, out, size, rss_ours, rss_hf, size_mib, runs, warmup, mlxk = sys.argv[1:10]
size, rss_ours, rss_hf = int(size), int(rss_ours), int(rss_hf)
skips = dict(s.split("=", 1) for s in sys.argv[10:])
names = ("curl_openssl", "hf_big", "ours_big", "hfjs_big", "node_big", "hf_small", "ours_small", "hfjs_small", "node_small")
res = {}
for n in names:
    p = os.path.join(hf, n + ".json")
    if os.path.exists(p):
        r = json.load(open(p))["results"][0]
        res[n] = {"mean": r["mean"], "stddev": r["stddev"] or 0.0, "min": r["min"], "max": r["max"]}
print(f"{'peer':<13} {'mean s':>8} {'± s':>7} {'MB/s':>8}")
for n in names:
    if n in res:
        r = res[n]
        rate = f"{size / r['mean'] / 1e6:8.0f}" if n.endswith("_big") or n == "curl_openssl" else f"{'':>8}"
        print(f"{n:<13} {r['mean']:8.3f} {r['stddev']:7.3f} {rate}")
    else:
        print(f"{n:<13} {'SKIP':>8}  ({skips.get(n, 'not run')})")
print()
checks = []
def ratio(label, num, den, target):
    if num in res and den in res:
        value = res[num]["mean"] / res[den]["mean"]
        checks.append((label, f"{value:.2f}x", f">= {target}x", "PASS" if value >= target else "MISS", value))
    else:
        checks.append((label, "-", f">= {target}x", "SKIP", None))
ratio("curl_openssl / ours_big", "curl_openssl", "ours_big", 1.0)
ratio("hf_big / ours_big", "hf_big", "ours_big", 2.5)
ratio("hf_small / ours_small", "hf_small", "ours_small", 3.0)
ratio("hfjs_big / node_big", "hfjs_big", "node_big", 1.0)
ratio("hfjs_small / node_small", "hfjs_small", "node_small", 2.0)
ratio("ours_big / node_big", "ours_big", "node_big", 0.0)
ratio("ours_small / node_small", "ours_small", "node_small", 0.0)
if rss_ours:
    mb = rss_ours * 1024 / 1e6
    checks.append(("peak RSS ours_big", f"{mb:.1f} MB", "< 100 MB", "PASS" if mb < 100 else "MISS", mb))
else:
    checks.append(("peak RSS ours_big", "-", "< 100 MB", "SKIP", None))
print(f"{'check':<24} {'value':>9} {'target':>9}  result")
for label, value, target, verdict, _ in checks:
    print(f"{label:<24} {value:>9} {target:>9}  {verdict}")
if rss_hf:
    print(f"(peak RSS of hf_big, for information: {rss_hf * 1024 / 1e6:.1f} MB)")
json.dump({"params": {"size_mib": int(size_mib), "runs": int(runs), "warmup": int(warmup), "mlxk": mlxk,
                      "nproc": os.cpu_count()},
           "results": res, "skipped": skips, "rss_kib": {"ours_big": rss_ours or None, "hf_big": rss_hf or None},
           "checks": [{"check": c[0], "value": c[4], "target": c[2], "result": c[3]} for c in checks]},
          open(out, "w"), indent=2)
EOF
