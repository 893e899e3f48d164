#!/usr/bin/env bash
# Side-by-side benchmark of `mlxk health --deep` against openssl and sha256sum hashing the
# same blobs, on a cache holding one large model (default 2 GiB in two shards).
#
#   bash bench/deep.sh                    # after `cargo xtask build`
#   SIZE_MIB=4096 RUNS=3 bash bench/deep.sh
#
# Measures, with `hyperfine -N` on a warm page cache:
#   openssl      openssl dgst -sha256 <every blob>
#   sha256sum    sha256sum <every blob>
#   ours_cli     mlxk health --deep --json (wasmtime guest, host hashing capability)
#   ours_node    the npm package: health({deep: true}) (node:wasi guest, node:crypto capability)
#   pure_wasm    the pure-hash module in bare node:wasi (hashing inside wasm, the fallback)
# and peak RSS (/usr/bin/time -f %M) of the CLI and of the Node process. Prints throughput
# (MB/s) and each tool's throughput as a ratio of the faster of openssl and sha256sum.
# Knobs (environment): MLXK, SIZE_MIB, RUNS, WARMUP. Not a test: nothing in the suite runs it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
OUT=$ROOT/bench/out
MLXK=${MLXK:-$ROOT/target/release/mlxk}
SIZE_MIB=${SIZE_MIB:-2048}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
PURE=$ROOT/target/pure-hash/wasm32-wasip1/release/core-wasm.wasm


require_tools hyperfine openssl time
for f in "$MLXK" "$PURE" "$ROOT/npm/core.wasm"; do
  [[ -e $f ]] || { say "$f is missing: run 'cargo xtask build'"; exit 2; }
done

CACHE=$OUT/deep-$SIZE_MIB/hub
if [[ ! -f $CACHE/.complete ]]; then
  say "writing a ${SIZE_MIB} MiB model into $CACHE"
  rm -rf "$(dirname "$CACHE")"
  python3 - "$CACHE" "$SIZE_MIB" <<'EOF'
import hashlib, json, os, sys
cache, size_mib = sys.argv[1], int(sys.argv[2])
repo = os.path.join(cache, "models--bench--deep")
commit = "d" * 40
snap = os.path.join(repo, "snapshots", commit)
for d in ("blobs", "refs", "trees"):
    os.makedirs(os.path.join(repo, d), exist_ok=True)
os.makedirs(snap, exist_ok=True)
files, weight_map = {}, {}
shards = 2
chunk = 64 << 20
for i in range(shards):
    name = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
    tmp = os.path.join(repo, "blobs", "tmp")
    h, size = hashlib.sha256(), 0
    with open(tmp, "wb") as f:
        left = size_mib * (1 << 20) // shards
        while left:
            block = os.urandom(min(chunk, left))
            f.write(block); h.update(block)
            left -= len(block); size += len(block)
    sha = h.hexdigest()
    os.rename(tmp, os.path.join(repo, "blobs", sha))
    os.symlink(f"../../blobs/{sha}", os.path.join(snap, name))
    files[name] = {"size": size, "blob_id": "0" * 40, "lfs_sha256": sha, "lfs_size": size}
    weight_map[f"w{i}"] = name
def small(name, data):
    data = data.encode()
    oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    open(os.path.join(repo, "blobs", oid), "wb").write(data)
    os.symlink(f"../../blobs/{oid}", os.path.join(snap, name))
    files[name] = {"size": len(data), "blob_id": oid}
small("config.json", json.dumps({"model_type": "llama"}))
small("model.safetensors.index.json", json.dumps({"weight_map": weight_map}))
open(os.path.join(repo, "refs", "main"), "w").write(commit)
json.dump({"format_version": 1, "files": files}, open(os.path.join(repo, "trees", commit + ".json"), "w"))
EOF
  touch "$CACHE/.complete"
else
  say "reusing $CACHE"
fi
BLOBS=("$CACHE"/models--bench--deep/blobs/*)
BYTES=$(cat "${BLOBS[@]}" | wc -c) # also warms the page cache
say "$BYTES bytes in ${#BLOBS[@]} blobs"

NODE_DEEP="node --no-warnings -e \"import('$ROOT/npm/index.mjs').then(m => m.health({cacheDir: '$CACHE', deep: true})).then(e => { if (e.data.deep.files_hashed !== ${#BLOBS[@]}) process.exit(1) })\""
PURE_DEEP="node --no-warnings $ROOT/tests/node/run-stock.mjs $PURE $CACHE health --deep --json"
"$MLXK" health --deep --json --cache-dir "$CACHE" | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]["deep"]
assert d["files_hashed"] == int(sys.argv[1]) and d["corrupt"] == 0, d' "${#BLOBS[@]}"

HF=$OUT/hyperfine-deep
rm -rf "$HF" && mkdir -p "$HF"
run() { # NAME COMMAND
  say "$1: $2"
  hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$HF/$1.json" "$2" >&2
}
run openssl "openssl dgst -sha256 ${BLOBS[*]}"
run sha256sum "sha256sum ${BLOBS[*]}"
run ours_cli "$MLXK health --deep --json --cache-dir $CACHE"
run ours_node "$NODE_DEEP"
run pure_wasm "$PURE_DEEP"

rss() { /usr/bin/time -f %M -o "$HF/rss.txt" bash -c "$1" >/dev/null; tail -n1 "$HF/rss.txt"; }
RSS_CLI=$(rss "$MLXK health --deep --json --cache-dir $CACHE")
RSS_NODE=$(rss "$NODE_DEEP")

python3 - "$HF" "$BYTES" "$RSS_CLI" "$RSS_NODE" <<'EOF'
import json, os, sys
hf, size, rss_cli, rss_node = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
mean = {n: json.load(open(os.path.join(hf, n + ".json")))["results"][0]["mean"]
        for n in ("openssl", "sha256sum", "ours_cli", "ours_node", "pure_wasm")}
peer = min(("openssl", "sha256sum"), key=mean.get)
print(f"deep audit of {size / 2**30:.2f} GiB (warm page cache); ratio = throughput / {peer}'s")
print(f"{'tool':<10} {'mean s':>8} {'MB/s':>8} {'ratio':>6}")
for n, t in mean.items():
    print(f"{n:<10} {t:8.3f} {size / t / 1e6:8.0f} {mean[peer] / t:6.2f}")
print(f"peak RSS: CLI {rss_cli / 1024:.1f} MiB, Node {rss_node / 1024:.1f} MiB")
json.dump({"bytes": size, "mean_s": mean, "peer": peer, "rss_kib": {"cli": rss_cli, "node": rss_node}},
          open(os.path.join(hf, "..", "deep-results.json"), "w"), indent=2)
EOF
