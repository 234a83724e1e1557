"""OpenAI's `logprobs.content` for the answer's tokens, from mlx-lm's per-token log probabilities
(GenerationResponse.logprobs: the log-softmax over the vocabulary, after the logits processors)."""


class TokenLogprobs:
    """Collects one entry per generated token until its text reaches the answer (then `take` hands
    them over with that text); tokens that end up in reasoning, a tool call or a stop string are
    dropped, as OpenAI reports log probabilities for the message content only."""

    def __init__(self, mx, tokenizer, top_n):
        self.mx = mx
        self.tokenizer = tokenizer
        self.top_n = max(0, int(top_n or 0))
        self.pending = []

    def add(self, token, logprobs):
        """Records the generated `token` and, when asked for, the `top_n` most likely alternatives."""
        entry = self._entry(int(token), float(logprobs[token].item()))
        top = []
        if self.top_n:
            n = min(self.top_n, logprobs.shape[-1])
            indices = self.mx.argpartition(-logprobs, kth=n - 1)[:n]
            values = logprobs[indices].tolist()
            ranked = sorted(zip(indices.tolist(), values), key=lambda pair: -pair[1])
            top = [self._entry(int(i), float(v)) for i, v in ranked]
        entry["top_logprobs"] = top
        self.pending.append(entry)

    def take(self):
        """The entries gathered since the last take."""
        entries, self.pending = self.pending, []
        return entries

    def drop(self):
        self.pending = []

    def _entry(self, token, logprob):
        text = self.tokenizer.decode([token])
        return {"token": text, "logprob": logprob, "bytes": list(text.encode("utf-8"))}
