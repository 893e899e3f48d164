#!/usr/bin/env bash
# Side-by-side benchmark of workspaces: `mlxk list <folder of 100 workspaces>` and
# `mlxk show <2 GiB workspace> --recalc-hash`, against mlx-knife 2.0.8 on the same folders.
#
#   bash bench/workspaces.sh               # after `cargo xtask build`
#
# Installs hyperfine (apt, as root) and a venv bench/.venv/mlx-knife with mlx-knife==2.0.8 and
# mlx[cpu]. The 100 workspaces (a config, tokenizer files, a small safetensors each) are pinned
# once with `show --recalc-hash`, so both tools check `clean` against a v2 index. The 2 GiB
# workspace is 4 sparse safetensors shards of 512 MiB (content hashing reads headers only)
# plus the small files. Knobs: MLXK, COUNT, RUNS, WARMUP.
# This is a benchmark, not a test: nothing in the test suite runs it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
OUT=$ROOT/bench/out/workspaces
VENV=$ROOT/bench/.venv/mlx-knife
MLXK=${MLXK:-$ROOT/target/release/mlxk}
COUNT=${COUNT:-100}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
REF_REQS=("mlx-knife==2.0.8" "mlx[cpu]==0.32.0")

require_tools hyperfine
if [[ ! -x $VENV/bin/mlxk || "$(cat "$VENV/.installed" 2>/dev/null)" != "${REF_REQS[*]}" ]]; then
  say "creating $VENV with ${REF_REQS[*]}"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${REF_REQS[@]}"
  echo "${REF_REQS[*]}" >"$VENV/.installed"
fi
REF=$VENV/bin/mlxk
[[ -x $MLXK ]] || { say "no mlxk at $MLXK: run 'cargo xtask build'"; exit 2; }

rm -rf "$OUT"
mkdir -p "$OUT/folder" "$OUT/hub" "$OUT/hf-home"
say "making $COUNT workspaces and a 2 GiB one"
python3 - "$OUT" "$COUNT" <<'PY'
import json, os, struct, sys
out, count = sys.argv[1], int(sys.argv[2])
def model(d, shards=1, shard_bytes=None):
    os.makedirs(d, exist_ok=True)
    json.dump({"model_type": "llama", "max_position_embeddings": 2048,
               "quantization": {"bits": 4, "group_size": 64}}, open(f"{d}/config.json", "w"))
    json.dump({"model": {"vocab": {}}}, open(f"{d}/tokenizer.json", "w"))
    json.dump({"bos_token": "<s>"}, open(f"{d}/tokenizer_config.json", "w"))
    open(f"{d}/README.md", "w").write("---\nlibrary_name: mlx\n---\n")
    json.dump({"managed": True, "source_repo": "bench/model", "operation": "clone"},
              open(f"{d}/.mlxk_workspace.json", "w"))
    names = [f"model-{i:05d}-of-{shards:05d}.safetensors" for i in range(1, shards + 1)] if shards > 1 else ["model.safetensors"]
    weight_map = {}
    for i, name in enumerate(names):
        header = json.dumps({f"w{i}": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
        with open(f"{d}/{name}", "wb") as f:
            f.write(struct.pack("<Q", len(header)) + header + b"\0" * 16)
            if shard_bytes:
                f.truncate(shard_bytes)
        weight_map[f"w{i}"] = name
    if shards > 1:
        json.dump({"metadata": {}, "weight_map": weight_map}, open(f"{d}/model.safetensors.index.json", "w"))
for i in range(count):
    model(f"{out}/folder/ws{i:03d}")
model(f"{out}/big", shards=4, shard_bytes=512 << 20)
PY
export MLXK_MODULE_CACHE=$OUT/module-cache
for d in "$OUT"/folder/*/; do "$MLXK" show "$d" --recalc-hash --json --cache-dir "$OUT/hub" >/dev/null; done
"$MLXK" show "$OUT/big" --recalc-hash --json --cache-dir "$OUT/hub" >/dev/null

# Both must say the same before they are timed.
ours=$("$MLXK" list "$OUT/folder" --json --cache-dir "$OUT/hub")
theirs=$(cd "$OUT" && HF_HOME=$OUT/hf-home TZ=UTC "$REF" list "$OUT/folder" --json)
[[ $ours == "$theirs" ]] || { say "list outputs differ"; diff <(echo "$ours") <(echo "$theirs") | head; exit 1; }
say "list outputs are identical ($COUNT workspaces, all clean)"

cd "$OUT"
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT/list.json" \
  -n "mlxk list ($COUNT workspaces)" "$MLXK list $OUT/folder --json --cache-dir $OUT/hub" \
  -n "mlx-knife 2.0.8 list" "env HF_HOME=$OUT/hf-home $REF list $OUT/folder --json"
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT/recalc.json" \
  -n "mlxk show --recalc-hash (2 GiB)" "$MLXK show $OUT/big --recalc-hash --json --cache-dir $OUT/hub" \
  -n "mlx-knife 2.0.8 show --recalc-hash" "env HF_HOME=$OUT/hf-home $REF show $OUT/big --recalc-hash --json"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
for name in ("list", "recalc"):
    r = json.load(open(f"{out}/{name}.json"))["results"]
    ours, theirs = r[0]["mean"], r[1]["mean"]
    print(f"{name:7s} mlxk {ours*1000:8.1f} ms   2.0.8 {theirs*1000:8.1f} ms   ratio {theirs/ours:5.1f}x (target >= 10x)")
PY
