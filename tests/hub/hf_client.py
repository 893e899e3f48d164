#!/usr/bin/env python3
"""Drive the real ``huggingface_hub`` client for interoperability tests.

Run it with a Python that has ``huggingface_hub`` installed (the tests use a venv
with ``huggingface_hub==2.4.0``). Three subcommands:

``download --endpoint URL --cache DIR [--token T] [--repo-type TYPE] [--allow GLOB]... [--ignore GLOB]... REPO_ID[@REV] ...``
    ``snapshot_download`` of each repo (default type ``model``, revision ``main``)
    into the hub cache ``DIR``. Prints nothing on success; on failure prints
    ``<ExceptionType>: <message>`` to stderr and exits 1.

``scan --cache DIR``
    ``scan_cache_dir(DIR)`` as one JSON document on stdout::

        {"repos": [{"repo_id", "repo_type", "size_on_disk", "nb_files",
                    "revisions": [{"commit_hash", "size_on_disk", "nb_files", "refs"}]}],
         "warnings": ["..."],
         "incomplete_files": [{"file_path", "size_on_disk"}],
         "size_on_disk": N}

    Repos are sorted by (repo_type, repo_id), revisions by commit_hash, refs by
    name; ``file_path`` is relative to DIR. A missing cache exits 1.

``offline-check --cache DIR [--repo-type TYPE] REPO_ID[@REV]``
    With ``HF_HUB_OFFLINE=1``, ``snapshot_download(local_files_only=True)``; prints
    the snapshot path. Succeeds only if the cache alone can serve the repo.

The environment is made hermetic before ``huggingface_hub`` is imported (its
settings are read at import time): Xet, telemetry, the update check and progress
bars are off, ``HF_HOME`` is a private temporary directory (so no stored token or
user cache is used), and no token is sent unless ``--token`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path


def _prepare_env(endpoint: str | None = None, offline: bool = False) -> str:
    """Set the client's environment; returns the temporary HF_HOME to remove later."""
    home = tempfile.mkdtemp(prefix="hf_client_home_")
    os.environ["HF_HOME"] = home
    for var in (
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
    ):
        os.environ.pop(var, None)
    os.environ.update(
        {
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_UPDATE_CHECK": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
        }
    )
    if endpoint:
        os.environ["HF_ENDPOINT"] = endpoint.rstrip("/")
    if offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
    return home


def _split_spec(spec: str) -> tuple[str, str]:
    """``org/name@rev`` -> (``org/name``, ``rev``); the revision defaults to ``main``."""
    repo_id, _, revision = spec.partition("@")
    return repo_id, revision or "main"


def cmd_download(args: argparse.Namespace) -> int:
    """snapshot_download every spec into the cache."""
    from huggingface_hub import snapshot_download  # noqa: PLC0415 (after _prepare_env)

    for spec in args.specs:
        repo_id, revision = _split_spec(spec)
        snapshot_download(
            repo_id,
            repo_type=args.repo_type,
            revision=revision,
            cache_dir=args.cache,
            endpoint=args.endpoint.rstrip("/"),
            token=args.token or False,
            allow_patterns=args.allow or None,
            ignore_patterns=args.ignore or None,
        )
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    """Print scan_cache_dir as JSON."""
    from huggingface_hub import scan_cache_dir  # noqa: PLC0415 (after _prepare_env)

    cache = Path(args.cache)
    info = scan_cache_dir(cache)
    repos = []
    for repo in sorted(info.repos, key=lambda r: (r.repo_type, r.repo_id)):
        revisions = [
            {
                "commit_hash": rev.commit_hash,
                "size_on_disk": rev.size_on_disk,
                "nb_files": rev.nb_files,
                "refs": sorted(rev.refs),
            }
            for rev in sorted(repo.revisions, key=lambda r: r.commit_hash)
        ]
        repos.append(
            {
                "repo_id": repo.repo_id,
                "repo_type": repo.repo_type,
                "size_on_disk": repo.size_on_disk,
                "nb_files": repo.nb_files,
                "revisions": revisions,
            }
        )
    incomplete = sorted(
        (
            {"file_path": _relative(Path(f.file_path), cache), "size_on_disk": f.size_on_disk}
            for f in info.incomplete_files
        ),
        key=lambda f: f["file_path"],
    )
    document = {
        "repos": repos,
        "warnings": [str(w) for w in info.warnings],
        "incomplete_files": incomplete,
        "size_on_disk": info.size_on_disk,
    }
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def cmd_offline_check(args: argparse.Namespace) -> int:
    """Prove the cache serves the repo with the network disabled."""
    from huggingface_hub import snapshot_download  # noqa: PLC0415 (after _prepare_env)

    repo_id, revision = _split_spec(args.spec)
    path = snapshot_download(
        repo_id,
        repo_type=args.repo_type,
        revision=revision,
        cache_dir=args.cache,
        local_files_only=True,
        token=False,
    )
    print(path)
    return 0


def _relative(path: Path, base: Path) -> str:
    try:
        return path.absolute().relative_to(base.absolute()).as_posix()
    except ValueError:
        return path.as_posix()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description="Run huggingface_hub against a cache and a Hub endpoint.")
    sub = parser.add_subparsers(dest="command", required=True)

    download = sub.add_parser("download", help="snapshot_download repos into a cache")
    download.add_argument("--endpoint", required=True, help="Hub URL, e.g. http://127.0.0.1:PORT")
    download.add_argument("--cache", required=True, help="hub cache directory")
    download.add_argument("--token", help="bearer token to send")
    download.add_argument("--repo-type", default="model", choices=["model", "dataset", "space"])
    download.add_argument("--allow", action="append", help="allow_patterns glob (repeatable): a partial snapshot")
    download.add_argument("--ignore", action="append", help="ignore_patterns glob (repeatable)")
    download.add_argument("specs", nargs="+", metavar="REPO_ID[@REV]")
    download.set_defaults(func=cmd_download)

    scan = sub.add_parser("scan", help="scan_cache_dir as JSON")
    scan.add_argument("--cache", required=True, help="hub cache directory")
    scan.set_defaults(func=cmd_scan)

    offline = sub.add_parser("offline-check", help="snapshot_download(local_files_only=True) offline")
    offline.add_argument("--cache", required=True, help="hub cache directory")
    offline.add_argument("--repo-type", default="model", choices=["model", "dataset", "space"])
    offline.add_argument("spec", metavar="REPO_ID[@REV]")
    offline.set_defaults(func=cmd_offline_check)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: exit 0 on success, 1 with the exception on stderr on failure."""
    args = parse_args(argv)
    home = _prepare_env(getattr(args, "endpoint", None), offline=args.command == "offline-check")
    try:
        return args.func(args)
    except Exception as exc:  # report any client failure as data for the calling test
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
