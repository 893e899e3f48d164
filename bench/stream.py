"""Time to first token and tokens per second, measured from outside on the stream.

Usage: python stream.py MODEL_DIR --mlxk PATH --python PATH [--tokens N] [--runs N]

Four sides on the same model folder, each measured the same way, by reading its output as
it arrives (a timestamp per read):

  run       `mlxk run MODEL PROMPT` (stdout streams the answer)
  generate  `python -m mlx_lm generate` (prints the answer between `==========` lines)
  serve     a streamed chat completion through `mlxk serve`, warm (the model is loaded)
  server    the same request through `mlx_lm.server`, warm

Time to first token: from the start of the command (run, generate: the model load is part
of it) or from sending the request (serve, server) to the first byte of answer text.
Tokens per second: (tokens - 1) / (last token - first token). The test models use a
word-level tokenizer, so a token is a word of the answer, counted the same way on all sides.
Prints one JSON line per side (medians of the runs).
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time

PROMPT = "hello world"


def read_stream(proc):
    """(timestamp, bytes) for every read of proc's stdout until it closes."""
    fd = proc.stdout.fileno()
    reads = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        reads.append((time.perf_counter(), chunk))
    proc.wait()
    return reads


def text_timing(start, reads, begin=b"", end=None):
    """TTFT and tokens/s of the answer text between the markers `begin` and `end`."""
    data, stamps = b"", []
    for t, chunk in reads:
        data += chunk
        stamps.append((len(data), t))
    lo = data.find(begin) + len(begin) if begin else 0
    hi = data.find(end, lo) if end else len(data)
    hi = len(data) if hi < 0 else hi
    answer = data[lo:hi].strip()
    # The read that first carried a byte past `lo` (skipping whitespace), and the last one
    # that carried answer bytes.
    first_byte = lo + (len(data[lo:hi]) - len(data[lo:hi].lstrip()))
    first = next(t for n, t in stamps if n > first_byte)
    last = next(t for n, t in stamps if n >= lo + len(data[lo:hi].rstrip()))
    words = len(answer.split())
    rate = (words - 1) / (last - first) if words > 1 and last > first else float("nan")
    return first - start, rate, words


def side_run(args):
    # `run` applies the reference's repetition penalty (1.1) by default, mlx_lm.generate none:
    # 1.0 asks for the same work on both sides.
    env = dict(os.environ, MLXK_PYTHON=args.python)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [args.mlxk, "run", args.model, PROMPT, "--max-tokens", str(args.tokens),
         "--temperature", "0", "--repetition-penalty", "1.0", "--cache-dir", args.cache],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    return text_timing(start, read_stream(proc))


def side_generate(args):
    start = time.perf_counter()
    proc = subprocess.Popen(
        [args.python, "-m", "mlx_lm", "generate", "--model", args.model, "--prompt", PROMPT,
         "--max-tokens", str(args.tokens), "--temp", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return text_timing(start, read_stream(proc), begin=b"==========\n", end=b"\n==========")


def stream_request(port, model, tokens):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = json.dumps({
        "model": model, "stream": True, "max_tokens": tokens, "temperature": 0,
        "messages": [{"role": "user", "content": PROMPT}],
    })
    start = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    stamps, text = [], ""
    buf = b""
    while True:
        chunk = resp.read1(65536)
        if not chunk:
            break
        now = time.perf_counter()
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.strip()
            if not line.startswith(b"data:") or line == b"data: [DONE]":
                continue
            event = json.loads(line[5:])
            for choice in event.get("choices", []):
                piece = (choice.get("delta") or {}).get("content") or ""
                if piece:
                    text += piece
                    stamps.append(now)
    conn.close()
    words = len(text.split())
    first, last = stamps[0], stamps[-1]
    rate = (words - 1) / (last - first) if words > 1 and last > first else float("nan")
    return first - start, rate, words


def wait_port(port, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"nothing listens on {port}")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def servers(args):
    ours, theirs = free_port(), free_port()
    env = dict(os.environ, MLXK_PYTHON=args.python)
    procs = [
        subprocess.Popen([args.mlxk, "serve", "--port", str(ours), "--cache-dir", args.cache],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env),
        subprocess.Popen([args.python, "-m", "mlx_lm", "server", "--model", args.model,
                          "--port", str(theirs)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    return (ours, theirs), procs


def summary(name, samples):
    ttft = statistics.median(s[0] for s in samples)
    rate = statistics.median(s[1] for s in samples)
    words = statistics.median(s[2] for s in samples)
    return {"side": name, "ttft_s": round(ttft, 4), "tokens_per_s": round(rate, 1),
            "tokens": words, "runs": len(samples)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--mlxk", required=True)
    p.add_argument("--python", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--tokens", type=int, default=200)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()

    results = {}
    # Interleaved, so a slow moment of the machine hits both sides alike.
    for _ in range(args.runs):
        for name, side in (("run", side_run), ("generate", side_generate)):
            results.setdefault(name, []).append(side(args))
    (ours, theirs), procs = servers(args)
    try:
        wait_port(ours)
        wait_port(theirs)
        for port in (ours, theirs):  # the first request loads the model
            stream_request(port, args.model, args.tokens)
        for _ in range(args.runs):
            results.setdefault("serve", []).append(stream_request(ours, args.model, args.tokens))
            results.setdefault("server", []).append(
                stream_request(theirs, args.model, args.tokens))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
    for name, samples in results.items():
        print(json.dumps(summary(name, samples)))


if __name__ == "__main__":
    main()
