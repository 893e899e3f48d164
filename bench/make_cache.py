#!/usr/bin/env python3
"""Generate a synthetic Hugging Face hub cache, fast and deterministically (stdlib only).

    python3 bench/make_cache.py --repos 1000 --files 40 OUT_HUB_DIR

writes the layout huggingface_hub 2.x itself writes (``hf-cache-protocol.md`` §2)::

    OUT_HUB_DIR/
    ├── CACHEDIR.TAG                                   the exact 2.x tag text
    ├── .locks/<folder>/<etag>.lock                    empty, mode 0664, one per blob
    └── models--<org>--<name>/                         (a few datasets--<org>--<name>)
        ├── blobs/<etag>                               sha256 for LFS files, git blob sha1 otherwise
        ├── refs/main                                  40-hex commit, no trailing newline
        ├── refs/refs/pr/1                             (some two-revision repos)
        ├── snapshots/<commit>/<path>                  relative links ../../blobs/<etag>,
        │                                              one more ../ per sub-directory level
        ├── trees/<commit>.json                        the tree listing snapshot_download caches
        └── .no_exist/<commit>/adapter_config.json     (a few repos)

A file is LFS (blob named by sha256) when it is ``*.safetensors``, ``*.bin``,
``*.gguf`` or at least 1 MiB, the same rule as ``tests/hub/fakehub.py``; commit
hashes use fakehub's formula too (sha1 of the repo id and the sorted
``(path, sha256)`` list), so the cache is one fakehub could have served.

Each model repo looks like a real one: ``config.json`` (``model_type`` among llama,
qwen2, phi3, gemma2, mistral, qwen3, starcoder2; ``max_position_embeddings``; MLX
quantized repos carry ``"quantization": {"group_size": 64, "bits": 4|8}``),
``tokenizer.json``, ``tokenizer_config.json`` (half with a ``chat_template``),
``README.md`` (most with YAML front matter), ``model.safetensors.index.json`` with
shards ``model-0000K-of-0000N.safetensors`` (some repos a single
``model.safetensors``), each shard a valid safetensors file (8-byte little-endian
header length, JSON header with one tensor, ``--blob-size`` bytes of data), and
small extra files up to ``--files`` under ``extra/`` (some nested deeper). About a
third of the repos are under ``mlx-community``; about 2 % are dataset repos; about
1 % have two revisions (``refs/main`` on the newer one, the older one detached or
named by ``refs/pr/1``) that share most blobs; about 1 % have a ``.no_exist`` marker.

File contents, names and hashes depend only on the options (``--seed`` included);
timestamps are those of the run. ``OUT_HUB_DIR`` must not exist or be empty
(``--force`` deletes it first). Repos are written in parallel (``--jobs``). A
one-line summary goes to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import struct
import sys
import time
from multiprocessing import Pool

CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by huggingface_hub.\n"
    "# For information about cache directory tags, see:\n"
    "#\thttps://bford.info/cachedir/\n"
)
LFS_SUFFIXES = (".safetensors", ".bin", ".gguf")
LFS_MIN_SIZE = 1 << 20

# model_type, architecture, repo family, sizes, max_position_embeddings, publishing org
FAMILIES = [
    ("llama", "LlamaForCausalLM", "Llama-3.2", ["1B", "3B"], 131072, "meta-llama"),
    ("qwen2", "Qwen2ForCausalLM", "Qwen2.5", ["0.5B", "1.5B", "7B"], 32768, "Qwen"),
    ("phi3", "Phi3ForCausalLM", "Phi-3-mini", ["4k", "128k"], 4096, "microsoft"),
    ("gemma2", "Gemma2ForCausalLM", "gemma-2", ["2b", "9b"], 8192, "google"),
    ("mistral", "MistralForCausalLM", "Mistral", ["7B-v0.3"], 32768, "mistralai"),
    ("qwen3", "Qwen3ForCausalLM", "Qwen3", ["0.6B", "4B"], 40960, "Qwen"),
    ("starcoder2", "Starcoder2ForCausalLM", "starcoder2", ["3b"], 16384, "bigcode"),
]
# Orgs that re-publish other orgs' models.
REUPLOADERS = ["unsloth", "lmstudio-community", "TheBloke", "bartowski", "NousResearch", "HuggingFaceTB"]
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + "
    "'<|end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


def git_blob_sha1(data: bytes) -> str:
    """Git's blob object id."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(path: str, size: int) -> bool:
    """Whether the Hub keeps this file in LFS (so its blob is named by sha256)."""
    return path.endswith(LFS_SUFFIXES) or size >= LFS_MIN_SIZE


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer of an LFS file (its git oid is the tree's blob_id)."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def commit_hash(repo_id: str, files: dict[str, bytes]) -> str:
    """fakehub's commit formula: sha1 of the repo id and the sorted (path, sha256) list."""
    manifest = "".join(f"{p}\0{hashlib.sha256(files[p]).hexdigest()}\n" for p in sorted(files))
    return hashlib.sha1(f"{repo_id}\n{manifest}".encode()).hexdigest()


def dumps(obj: object) -> bytes:
    """JSON as the Hub's files usually are: 2-space indent, trailing newline."""
    return (json.dumps(obj, indent=2) + "\n").encode()


# --------------------------------------------------------------------------- file contents


def safetensors_shard(rng: random.Random, tensor: str, payload: int, fmt: str) -> bytes:
    """A valid safetensors file: u64 LE header length, JSON header (8-byte aligned), data."""
    elements = max(1, payload // 2)
    header = {
        "__metadata__": {"format": fmt},
        tensor: {"dtype": "F16", "shape": [elements], "data_offsets": [0, elements * 2]},
    }
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + rng.randbytes(elements * 2)


def config_json(rng: random.Random, family: tuple, repo_id: str, quant_bits: int | None) -> bytes:
    """A config.json in the shape transformers / mlx-lm write."""
    model_type, arch, _, _, max_pos, _ = family
    hidden = rng.choice([896, 1536, 2048, 3072, 4096])
    config: dict = {
        "architectures": [arch],
        "model_type": model_type,
        "hidden_size": hidden,
        "intermediate_size": hidden * 4,
        "num_hidden_layers": rng.choice([16, 24, 28, 32]),
        "num_attention_heads": rng.choice([16, 24, 32]),
        "num_key_value_heads": rng.choice([2, 4, 8]),
        "vocab_size": rng.choice([32000, 32064, 128256, 151936, 256000]),
        "max_position_embeddings": max_pos,
        "rms_norm_eps": 1e-05,
        "rope_theta": rng.choice([10000.0, 500000.0, 1000000.0]),
        "tie_word_embeddings": rng.random() < 0.5,
        "torch_dtype": "bfloat16",
        "_name_or_path": repo_id,
    }
    if quant_bits is not None:
        config["quantization"] = {"group_size": 64, "bits": quant_bits}
        config["quantization_config"] = {"group_size": 64, "bits": quant_bits}
    return dumps(config)


def tokenizer_json(rng: random.Random) -> bytes:
    """A small BPE tokenizer.json."""
    vocab = {f"tok{k}": k for k in range(rng.randint(20, 200))}
    return dumps(
        {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [],
            "model": {"type": "BPE", "vocab": vocab, "merges": []},
        }
    )


def tokenizer_config_json(rng: random.Random, with_template: bool) -> bytes:
    """tokenizer_config.json, optionally with a chat template."""
    config: dict = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "model_max_length": 131072,
        "tokenizer_class": rng.choice(["LlamaTokenizer", "Qwen2Tokenizer", "GemmaTokenizer"]),
    }
    if with_template:
        config["chat_template"] = CHAT_TEMPLATE
    return dumps(config)


def readme(rng: random.Random, repo_id: str, mlx: bool, front_matter: bool, base_model: str | None) -> bytes:
    """A model card (a dataset card when ``base_model`` is None), with YAML front matter when asked."""
    lines = []
    if front_matter:
        lines += ["---", "license: apache-2.0"]
        if base_model is None:
            lines += ["task_categories:", "- text-generation", "size_categories:", "- n<1K"]
        else:
            lines += [
                f"library_name: {'mlx' if mlx else 'transformers'}",
                "pipeline_tag: text-generation",
                "tags:",
                "- mlx" if mlx else "- text-generation",
            ]
            if mlx:
                lines.append(f"base_model: {base_model}")
        lines.append("---")
    lines += [f"# {repo_id}", "", "Synthetic repository generated for benchmarks."]
    lines += ["", "Lorem ipsum dolor sit amet. " * rng.randint(1, 40)]
    return ("\n".join(lines) + "\n").encode()


def extra_file(rng: random.Random, repo_id: str, k: int) -> bytes:
    """Filler text, tens of bytes to a few KB."""
    return (f"extra file {k} of {repo_id}\n" * rng.randint(1, 40)).encode()


# --------------------------------------------------------------------------- repo plans


def plan_repo(seed: int, index: int, n_files: int, blob_size: int) -> dict:
    """Everything about repo ``index``: id, type, revisions (oldest first), markers."""
    rng = random.Random(f"{seed}/{index}")
    dataset = index % 50 == 7
    mlx = index % 3 == 0
    family = FAMILIES[rng.randrange(len(FAMILIES))]
    base_model = f"{family[5]}/{family[2]}-{rng.choice(family[3])}-Instruct"
    quant = None
    if dataset:
        org = "mlx-community" if mlx else rng.choice(REUPLOADERS)
        repo_id = f"{org}/{family[2].lower()}-eval-set-{index:04d}"
    elif mlx:
        variant = rng.choice(["4bit", "4bit", "8bit", "bf16"])
        quant = {"4bit": 4, "8bit": 8}.get(variant)
        repo_id = f"mlx-community/{base_model.split('/')[1]}-{variant}-{index:04d}"
    else:
        org = family[5] if rng.random() < 0.6 else rng.choice(REUPLOADERS)
        repo_id = f"{org}/{base_model.split('/')[1]}-{index:04d}"
        quant = 4 if rng.random() < 0.1 else None

    files: dict[str, bytes] = {}
    if dataset:
        files["README.md"] = readme(rng, repo_id, mlx, True, None)
        for split in ("train", "test"):
            rows = [json.dumps({"prompt": f"q{k}", "completion": f"a{k}"}) for k in range(rng.randint(3, 60))]
            files[f"data/{split}.jsonl"] = ("\n".join(rows) + "\n").encode()
    else:
        files["config.json"] = config_json(rng, family, repo_id, quant)
        fmt = "mlx" if mlx else "pt"
        shards = rng.choice([1, 2, 2, 3, 4])
        if n_files < 6 or rng.random() < 0.2:
            files["model.safetensors"] = safetensors_shard(rng, "model.embed_tokens.weight", blob_size, fmt)
        else:
            shards = min(shards, n_files - 5)
            weight_map, total = {}, 0
            for k in range(1, shards + 1):
                name = f"model-{k:05d}-of-{shards:05d}.safetensors"
                tensor = f"model.layers.{k - 1}.mlp.down_proj.weight"
                files[name] = safetensors_shard(rng, tensor, blob_size, fmt)
                weight_map[tensor] = name
                total += max(1, blob_size // 2) * 2
            files["model.safetensors.index.json"] = dumps({"metadata": {"total_size": total}, "weight_map": weight_map})
        files["tokenizer.json"] = tokenizer_json(rng)
        files["tokenizer_config.json"] = tokenizer_config_json(rng, rng.random() < 0.5)
        files["README.md"] = readme(rng, repo_id, mlx, rng.random() < 0.75, base_model)
    keep = list(files)[: max(1, n_files)]
    files = {p: files[p] for p in keep}
    k = 0
    while len(files) < n_files:
        k += 1
        path = f"extra/nested/deeper/file_{k}.txt" if k % 5 == 0 else f"extra/file_{k}.txt"
        files[path] = extra_file(rng, repo_id, k)

    revisions = []
    if index % 97 == 3:
        older = dict(files)
        first = sorted(p for p in files if p.endswith((".safetensors", ".jsonl")))[0]
        if first.endswith(".jsonl"):
            older[first] = files[first] + b'{"prompt": "old", "completion": "old"}\n'
        else:  # rewrite the tensor data, keep the header valid
            older[first] = files[first][:-8] + rng.randbytes(8)
        if "config.json" in older:
            older["config.json"] = older["config.json"].replace(
                b'"torch_dtype": "bfloat16"', b'"torch_dtype": "float16"'
            )
        revisions.append((older, ["refs/pr/1"] if index % 2 else []))
    revisions.append((files, ["main"]))
    return {
        "repo_type": "dataset" if dataset else "model",
        "repo_id": repo_id,
        "revisions": revisions,
        "no_exist": index % 89 == 5 and not dataset,
    }


# --------------------------------------------------------------------------- writing


def write_file(path: str, data: bytes, mode: int = 0o644) -> None:
    """Create a file with the given bytes."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        if data:
            os.write(fd, data)
    finally:
        os.close(fd)


def write_repo(hub: str, plan: dict) -> tuple[int, int, int]:
    """Write one repo; returns (blobs, snapshot files, blob bytes)."""
    folder = f"{plan['repo_type']}s--" + plan["repo_id"].replace("/", "--")
    repo = os.path.join(hub, folder)
    blobs = os.path.join(repo, "blobs")
    locks = os.path.join(hub, ".locks", folder)
    for directory in (
        blobs,
        locks,
        os.path.join(repo, "refs"),
        os.path.join(repo, "snapshots"),
        os.path.join(repo, "trees"),
    ):
        os.makedirs(directory, exist_ok=True)
    written: set[str] = set()
    n_links = n_bytes = 0
    main_commit = ""
    for files, refs in plan["revisions"]:
        commit = commit_hash(plan["repo_id"], files)
        snapshot = os.path.join(repo, "snapshots", commit)
        made_dirs = {snapshot}
        os.makedirs(snapshot)
        tree = {}
        for path in sorted(files):
            data = files[path]
            sha1 = git_blob_sha1(data)
            entry: dict = {"size": len(data), "blob_id": sha1}
            if is_lfs(path, len(data)):
                sha256 = hashlib.sha256(data).hexdigest()
                etag = sha256
                entry = {
                    "size": len(data),
                    "blob_id": git_blob_sha1(lfs_pointer(sha256, len(data))),
                    "lfs_sha256": sha256,
                    "lfs_size": len(data),
                }
            else:
                etag = sha1
            tree[path] = entry
            if etag not in written:
                write_file(os.path.join(blobs, etag), data)
                write_file(os.path.join(locks, f"{etag}.lock"), b"", 0o664)
                written.add(etag)
                n_bytes += len(data)
            link = os.path.join(snapshot, path)
            parent = os.path.dirname(link)
            if parent not in made_dirs:
                os.makedirs(parent, exist_ok=True)
                made_dirs.add(parent)
            os.symlink("../" * (path.count("/") + 2) + "blobs/" + etag, link)
            n_links += 1
        with open(os.path.join(repo, "trees", f"{commit}.json"), "w", encoding="utf-8") as fh:
            json.dump({"format_version": 1, "files": tree}, fh, indent=1)
        for ref in refs:
            ref_path = os.path.join(repo, "refs", ref)
            os.makedirs(os.path.dirname(ref_path), exist_ok=True)
            write_file(ref_path, commit.encode())
        if "main" in refs:
            main_commit = commit
    if plan["no_exist"]:
        marker_dir = os.path.join(repo, ".no_exist", main_commit)
        os.makedirs(marker_dir)
        write_file(os.path.join(marker_dir, "adapter_config.json"), b"")
    return len(written), n_links, n_bytes


def _worker(job: tuple[str, int, int, int, int]) -> tuple[int, int, int]:
    hub, seed, index, n_files, blob_size = job
    return write_repo(hub, plan_repo(seed, index, n_files, blob_size))


def main(argv: list[str] | None = None) -> int:
    """Parse options, write the cache, print a summary."""
    parser = argparse.ArgumentParser(description="Generate a synthetic huggingface_hub 2.x cache.")
    parser.add_argument("out", metavar="OUT_HUB_DIR", help="hub cache directory to create")
    parser.add_argument("--repos", type=int, default=20, help="number of repos (default 20)")
    parser.add_argument("--files", type=int, default=40, help="files per snapshot (default 40)")
    parser.add_argument("--blob-size", type=int, default=1024, help="safetensors payload bytes (default 1024)")
    parser.add_argument("--seed", type=int, default=0, help="seed for names and contents (default 0)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel writers")
    parser.add_argument("--force", action="store_true", help="delete OUT_HUB_DIR first")
    args = parser.parse_args(argv)
    if args.repos < 0 or args.files < 1 or args.blob_size < 2 or args.jobs < 1:
        parser.error("--repos >= 0, --files >= 1, --blob-size >= 2, --jobs >= 1")

    hub = os.path.abspath(args.out)
    if os.path.lexists(hub):
        if args.force:
            shutil.rmtree(hub)
        elif not os.path.isdir(hub) or os.listdir(hub):
            parser.error(f"{hub} exists and is not empty (use --force)")
    started = time.monotonic()
    os.makedirs(os.path.join(hub, ".locks"), exist_ok=True)
    write_file(os.path.join(hub, "CACHEDIR.TAG"), CACHEDIR_TAG.encode())
    jobs = [(hub, args.seed, i, args.files, args.blob_size) for i in range(args.repos)]
    if args.jobs > 1 and len(jobs) > 1:
        with Pool(args.jobs) as pool:
            results = pool.map(_worker, jobs, chunksize=8)
    else:
        results = [_worker(job) for job in jobs]
    blobs = sum(r[0] for r in results)
    links = sum(r[1] for r in results)
    size = sum(r[2] for r in results)
    print(
        f"make_cache: {args.repos} repos, {links} snapshot files, {blobs} blobs, {size} bytes "
        f"in {time.monotonic() - started:.1f}s -> {hub}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
