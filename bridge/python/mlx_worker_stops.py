"""Stop sequences for the MLX worker (mlx-lm's stream_generate stops only at EOS)."""


class StopMatcher:
    """Stop sequences over a token stream. Text that might be the start of a stop
    string is held back until it is known not to be, so a client never sees part
    of a stop string, and a stop string split across tokens still stops."""

    def __init__(self, stops):
        self.stops = [s for s in stops if s]
        self.held = ""

    def feed(self, segment):
        """Returns (text safe to send, True when a stop string was hit)."""
        if not self.stops:
            return segment, False
        text = self.held + segment
        hits = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.held = ""
            return text[: min(hits)], True
        keep = 0
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(text)), keep, -1):
                if text.endswith(stop[:k]):
                    keep = k
                    break
        self.held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep], False

    def flush(self):
        text, self.held = self.held, ""
        return text
