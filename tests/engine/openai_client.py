"""The official OpenAI client against `mlxk serve`, for the serve tests.

Usage: python openai_client.py BASE_URL MODEL {chat|stream|complete|many N}
Prints one JSON document: the answer text(s), finish reasons, and HTTP failures.
"""

import json
import sys
from concurrent.futures import ThreadPoolExecutor

import openai


def main(base, model, mode, *rest):
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=180)
    msgs = [{"role": "user", "content": "hello world"}]
    if mode == "chat":
        r = client.chat.completions.create(model=model, messages=msgs, max_tokens=5, temperature=0)
        out = {"text": r.choices[0].message.content, "finish_reason": r.choices[0].finish_reason,
               "usage": r.usage.total_tokens}
    elif mode == "stream":
        text, finish = "", None
        for chunk in client.chat.completions.create(
            model=model, messages=msgs, max_tokens=5, temperature=0, stream=True
        ):
            delta = chunk.choices[0].delta.content
            text += delta or ""
            finish = chunk.choices[0].finish_reason or finish
        out = {"text": text, "finish_reason": finish}
    elif mode == "complete":
        r = client.completions.create(model=model, prompt="hello world", max_tokens=5, temperature=0)
        out = {"text": r.choices[0].text, "finish_reason": r.choices[0].finish_reason}
    elif mode == "many":
        n = int(rest[0])

        def one(i):
            try:
                r = client.chat.completions.create(
                    model=model, messages=msgs, max_tokens=2, temperature=0)
                return r.choices[0].finish_reason
            except Exception as e:  # counted, not raised
                return f"error: {e}"

        with ThreadPoolExecutor(max_workers=n) as pool:
            out = {"results": list(pool.map(one, range(n)))}
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
