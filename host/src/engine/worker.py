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

The KV cache of the last generation is kept: a request whose tokens start with what it holds
(the next turn of a chat, the same prompt again) skips their prefill, as mlx_lm.server's prompt
cache does. Any doubt (a cache that cannot be trimmed, an error, a repetition penalty) means a fresh cache.

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


class PrefixCache:
    """One generation's KV cache and the tokens it holds."""

    def __init__(self):
        self.cache, self.tokens = None, []

    def take(self, model, tokens):
        """(cache, tokens still to process): the kept cache trimmed to the common prefix, or a
        fresh one. At least one token is always left to process (it yields the logits)."""
        from mlx_lm.models.cache import can_trim_prompt_cache, make_prompt_cache, trim_prompt_cache

        cache, known = self.cache, self.tokens
        self.cache, self.tokens = None, []
        try:
            if cache is not None and can_trim_prompt_cache(cache):
                held = cache[0].offset
                known = known[:held]
                if held > len(known):  # a step computed ahead of what was yielded
                    trim_prompt_cache(cache, held - len(known))
                n = 0
                limit = min(len(known), len(tokens) - 1)
                while n < limit and known[n] == tokens[n]:
                    n += 1
                if n > 0:
                    trim_prompt_cache(cache, len(known) - n)
                    return cache, tokens[n:]
        except Exception:
            pass
        return make_prompt_cache(model), tokens

    def keep(self, cache, tokens):
        self.cache, self.tokens = cache, tokens


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
    prefix = PrefixCache()
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
                prefix = PrefixCache()
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
                # A repetition penalty looks back at the prompt's tokens, which a reused cache
                # would hide from it: only penalty-free requests reuse.
                cache, rest = prefix.take(model, tokens) if processors is None else (None, tokens)
                generated = []
                for r in stream_generate(
                    model, tokenizer, prompt=rest, max_tokens=budget,
                    sampler=sampler, logits_processors=processors, prompt_cache=cache,
                ):
                    last = r
                    generated.append(int(r.token))
                    if r.text:
                        pieces.append(r.text)
                        if req.get("stream"):
                            emit(out, {"id": rid, "event": "token", "text": r.text})
                    if stop.is_set():
                        interrupted = True
                        break
                if cache is not None:
                    prefix.keep(cache, tokens + generated)
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
