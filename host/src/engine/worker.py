"""mlx-knife's engine worker: mlx-lm behind a line protocol on stdin/stdout.

The host starts it with a Python that has mlx_lm, sends one JSON request per line and
reads JSON events back, one per line:

  {"id": 1, "op": "load", "path": "/abs/model"}
      -> {"id": 1, "event": "loaded", "seconds": 0.8}
  {"id": 2, "op": "generate", "messages": [{"role": "user", "content": "hi"}] | "prompt": "hi",
   "chat_template": true, "max_tokens": 256, "context_length": 2048,
   "temperature": 0.7, "top_p": 0.9, "repetition_penalty": 1.1, "stream": true}
      -> {"id": 2, "event": "token", "text": " Hel"}   (only when streaming)
      -> {"id": 2, "event": "done", "text": "...", "finish_reason": "length",
          "prompt_tokens": 5, "completion_tokens": 5, "max_tokens": 5}
  any failure -> {"id": n, "event": "error", "message": "..."}

SIGINT during a generation stops it after the current token: "done" comes with
finish_reason "interrupted" and the text so far. SIGINT at any other time is ignored (the
host sends it only while it waits for a generation).

First it says {"id": 0, "event": "ready", "version": "<mlx-lm's>"} (or an error when mlx_lm
cannot be imported). It exits when stdin closes or its parent goes away, so it never
outlives the host.
"""

import json
import os
import signal
import sys
import threading
import time

DEFAULT_MAX_TOKENS = 32768


def watch_parent(parent):
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def emit(out, obj):
    out.write(json.dumps(obj) + "\n")
    out.flush()


def main():
    # Library prints (progress, warnings) must not corrupt the protocol.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    try:
        import mlx_lm
        from mlx_lm import load, stream_generate
        from mlx_lm.sample_utils import make_logits_processors, make_sampler
    except Exception as e:
        emit(out, {"id": 0, "event": "error", "message": f"cannot import mlx_lm ({type(e).__name__}: {e})"})
        sys.exit(3)
    emit(out, {"id": 0, "event": "ready", "version": getattr(mlx_lm, "__version__", "")})

    model = tokenizer = None
    for line in sys.stdin:
        if not line.strip():
            continue
        req = {}
        try:
            req = json.loads(line)
            rid = req.get("id")
            if req["op"] == "load":
                start = time.monotonic()
                model = tokenizer = None
                model, tokenizer = load(req["path"])
                emit(out, {"id": rid, "event": "loaded", "seconds": time.monotonic() - start})
            elif req["op"] == "generate":
                if model is None:
                    raise RuntimeError("no model is loaded")
                if "messages" in req:
                    messages = req["messages"]
                    if req.get("chat_template", True) and getattr(tokenizer, "chat_template", None):
                        text = tokenizer.apply_chat_template(
                            messages, add_generation_prompt=True, tokenize=False
                        )
                    else:
                        text = "\n".join(m.get("content", "") for m in messages)
                else:
                    text = req["prompt"]
                tokens = tokenizer.encode(text, add_special_tokens=not text.startswith(
                    tokenizer.bos_token or "\0"))
                budget = req.get("max_tokens") or DEFAULT_MAX_TOKENS
                ctx = req.get("context_length")
                if isinstance(ctx, int) and ctx > 0:
                    budget = max(0, min(budget, ctx - len(tokens)))
                sampler = make_sampler(temp=req.get("temperature", 0.7), top_p=req.get("top_p", 0.9))
                penalty = req.get("repetition_penalty")
                processors = make_logits_processors(repetition_penalty=penalty) if penalty else None
                pieces, last, interrupted = [], None, False
                stop.clear()
                for r in stream_generate(
                    model, tokenizer, prompt=tokens, max_tokens=budget,
                    sampler=sampler, logits_processors=processors,
                ):
                    last = r
                    if r.text:
                        pieces.append(r.text)
                        if req.get("stream"):
                            emit(out, {"id": rid, "event": "token", "text": r.text})
                    if stop.is_set():
                        interrupted = True
                        break
                emit(out, {
                    "id": rid,
                    "event": "done",
                    "text": "".join(pieces),
                    "finish_reason": "interrupted" if interrupted
                    else (last.finish_reason if last else "length") or "stop",
                    "prompt_tokens": len(tokens),
                    "completion_tokens": last.generation_tokens if last else 0,
                    "max_tokens": budget,
                })
            else:
                raise ValueError(f"unknown op {req.get('op')!r}")
        except Exception as e:  # reported to the host, which decides
            emit(out, {"id": req.get("id") if isinstance(req, dict) else None,
                       "event": "error", "message": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
