"""The local-engine bench's floor: mlx-lm's own stream_generate, in-process.

Loads the model once, then for each line on stdin ({"messages": [...],
"max_tokens": N}) runs one greedy generation and prints one JSON line:
ttft_ms (call to the first token), stream_ms (first token to the last) and
tokens. The Node side interleaves these rounds with the same request through
the worker, the bridge and the gateway, so the layers are timed side by side.
"""

import json
import sys
import time

from mlx_lm import load, stream_generate
from mlx_lm.sample_utils import make_sampler


def main():
    model, tokenizer = load(sys.argv[1])
    sampler = make_sampler(temp=0.0)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        prompt = tokenizer.apply_chat_template(request["messages"], add_generation_prompt=True, tokenize=True)
        started = time.perf_counter()
        first = last = None
        tokens = 0
        for response in stream_generate(model, tokenizer, prompt, max_tokens=request["max_tokens"], sampler=sampler):
            now = time.perf_counter()
            if first is None:
                first = now
            last = now
            tokens = response.generation_tokens
        print(json.dumps({"ttft_ms": (first - started) * 1000, "stream_ms": (last - first) * 1000, "tokens": tokens}), flush=True)


if __name__ == "__main__":
    main()
