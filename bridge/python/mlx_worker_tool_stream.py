"""Streaming the arguments of a tool call while the model writes them, for the `<tool_call>` JSON
format (mlx-lm's json_tools parser: Qwen, Hermes and the like). mlx-lm's parsers read a closed
block only; for this one format the name and the start of the arguments object can be read as
soon as they appear, so a client sees a long call build up, as with the online providers. Every
other format is sent whole when its block closes."""
import re

# `{"name": "<name>", "arguments": {` (the canonical order); anything else waits for the whole block.
_PREFIX = re.compile(r'\s*\{\s*"name"\s*:\s*"([^"\\]{1,256})"\s*,\s*"arguments"\s*:\s*(?=\{)')
# A call the worker opened itself (a forced tool_choice): named before its arguments begin.
_FORCED_PREFIX = re.compile(r'\s*\{\s*"name"\s*:\s*"([^"\\]{1,256})"\s*,\s*"arguments"\s*:\s*')
# What may follow the arguments object before the block closes: the outer object's brace.
_HELD_TAIL = re.compile(r"\s*\}?\s*$")


def streams_arguments(tokenizer):
    """True when the model's tool parser is mlx-lm's json_tools (whose format this module reads)."""
    parser = getattr(tokenizer, "tool_parser", None)
    return getattr(parser, "__module__", "") == "mlx_lm.tool_parsers.json_tools"


class ToolCallStream:
    """One tool block's text as it grows: `start` once the name is known, then argument pieces.
    The object's last `}` and trailing whitespace are held back, since they may close the outer
    object rather than the arguments."""

    def __init__(self, forced=False):
        self.prefix = _FORCED_PREFIX if forced else _PREFIX
        self.name = None
        self.sent = 0  # tool_text[:sent] has been accounted for
        self.leading = True  # no argument text seen yet

    @property
    def started(self):
        return self.name is not None

    def advance(self, tool_text):
        """(name when it has just become known or None, the arguments text that is now safe)."""
        started_now = None
        if self.name is None:
            match = self.prefix.match(tool_text)
            if match is None:
                return None, ""
            self.name = started_now = match.group(1)
            self.sent = match.end()
        pending = tool_text[self.sent :]
        if self.leading:
            skipped = len(pending) - len(pending.lstrip())  # the space before the arguments is not theirs
            self.sent += skipped
            pending = pending[skipped:]
            self.leading = not pending
        safe = pending[: _HELD_TAIL.search(pending).start()]
        self.sent += len(safe)
        return started_now, safe

    def close(self, tool_text):
        """The arguments text still held when the block closes (the outer brace dropped)."""
        rest = tool_text[self.sent :].rstrip()
        return rest[:-1].rstrip() if rest.endswith("}") and rest.count("}") > rest.count("{") else rest
