"""The model's text split into what the client sees: answer text, reasoning and tool calls.

mlx-lm's own TextStateMachine (make_text_state_machine) finds the family's markers (<think>…</think>,
<tool_call>…</tool_call>, or whatever the tokenizer inferred from the chat template) and strips them;
a finished tool block is parsed by mlx-lm's tool parser for the family (tokenizer.tool_parser), as
mlx_lm.server does. The whitespace that templates put around the markers (the newline after <think>,
the blank line after </think>) is not part of either text, as with the online providers.
"""
import json
import uuid

from mlx_worker_errors import log
from mlx_worker_tool_stream import ToolCallStream, streams_arguments


def new_call_id():
    """An OpenAI-style tool call id (`call_` and 24 hex digits)."""
    return "call_" + uuid.uuid4().hex[:24]


class OutputSplitter:
    """Feeds decoded text through the state machine; returns ("text"|"reasoning", str) and
    ("tool_call", {"index", "call_id"?, "name"?, "arguments"}) parts in order. Not thread-safe (one per generation)."""

    def __init__(self, tokenizer, text_state_machine, initial_state, tools, parse_tools):
        self.tokenizer = tokenizer
        self.tools = tools
        # Without tools in the request (or with tool_choice "none") a tool block is plain text.
        self.parse_tools = parse_tools and tokenizer.has_tool_calling
        self.machine = text_state_machine
        self.state = text_state_machine.make_state(initial_state)
        self.current = initial_state
        self.tool_text = ""
        self.tool_calls = 0
        self.stream_tools = self.parse_tools and streams_arguments(tokenizer)
        self.tool_stream = ToolCallStream()
        self.tool_call_id = None
        # Whitespace at the edges of a reasoning block, and before the answer that follows it or a tool
        # call, is dropped; whitespace inside reasoning is held until more reasoning text follows.
        self.skip_leading = initial_state == "reasoning"
        self.held_reasoning = ""

    @property
    def in_reasoning(self):
        return self.current == "reasoning"

    @property
    def in_answer(self):
        """True while the model writes answer text (not reasoning, not a tool call)."""
        return self.current == "normal"

    @property
    def skipping(self):
        """True while the whitespace after a block is being dropped."""
        return self.skip_leading

    def feed(self, text):
        """The parts `text` completes (markers stripped, partial markers held back)."""
        from mlx_lm.generate import TextStateMachine

        self.state, segments = TextStateMachine.split(self.state, text)
        return self._route(segments)

    def finish(self):
        """The parts still held: a partial marker's text, a tool block that never closed."""
        from mlx_lm.generate import TextStateMachine

        self.state, rest, state = TextStateMachine.flush(self.state)
        parts = self._route([(state, rest)])
        if self.current == "tool" and self.tool_text:
            parts.extend(self._close_tool())
        return parts

    def _route(self, segments):
        parts = []
        for state, text in segments:
            if state != self.current:
                parts.extend(self._leave(self.current, state))
                self.current = state
            if not text:
                continue
            if state == "reasoning":
                parts.extend(self._reasoning(text))
            elif state == "tool":
                self.tool_text += text
                if self.stream_tools:
                    parts.extend(self._stream_tool())
            else:
                parts.extend(self._text(text))
        return parts

    def _leave(self, old, new):
        parts = []
        if old == "tool":
            parts.extend(self._close_tool())
        if old == "reasoning":
            self.held_reasoning = ""
        if new == "reasoning" or old in ("reasoning", "tool"):
            self.skip_leading = True
        return parts

    def _unskipped(self, text):
        """`text` without the whitespace still to be dropped at the start of a block."""
        if self.skip_leading:
            text = text.lstrip()
            self.skip_leading = not text
        return text

    def _reasoning(self, text):
        text = self._unskipped(text)
        if not text:
            return []
        text = self.held_reasoning + text
        body = text.rstrip()
        self.held_reasoning = text[len(body) :]
        return [("reasoning", body)] if body else []

    def _text(self, text):
        text = self._unskipped(text)
        return [("text", text)] if text else []

    def _stream_tool(self):
        """The call's start (id and name) once known, then its argument pieces."""
        name, safe = self.tool_stream.advance(self.tool_text)
        parts = []
        if name is not None:
            self.tool_call_id = new_call_id()
            parts.append(("tool_call", {"index": self.tool_calls, "call_id": self.tool_call_id, "name": name, "arguments": ""}))
        if safe:
            parts.append(("tool_call", {"index": self.tool_calls, "arguments": safe}))
        return parts

    def _close_streamed_tool(self, raw):
        rest = self.tool_stream.close(raw)
        parts = [("tool_call", {"index": self.tool_calls, "arguments": rest})] if rest else []
        try:
            self.tokenizer.tool_parser(raw, self.tools)
        except Exception as error:  # noqa: BLE001 - already streamed: the client judges the arguments
            log(f"the model's streamed tool call does not parse ({type(error).__name__}); its arguments were sent as written")
        self.tool_calls += 1
        self.tool_stream = ToolCallStream()
        return parts

    def _close_tool(self):
        raw, self.tool_text = self.tool_text, ""
        if self.tool_stream.started:
            return self._close_streamed_tool(raw)
        if not self.parse_tools:
            start, end = self.tokenizer.tool_call_start or "", self.tokenizer.tool_call_end or ""
            return self._text(start + raw + end)
        try:
            parsed = self.tokenizer.tool_parser(raw, self.tools)
        except Exception as error:  # noqa: BLE001 - a model's malformed call is its answer, not a crash
            log(f"the model's tool call does not parse ({type(error).__name__}); sent as text")
            return self._text((self.tokenizer.tool_call_start or "") + raw)
        calls = parsed if isinstance(parsed, list) else [parsed]
        parts = []
        for call in calls:
            if not isinstance(call, dict) or not isinstance(call.get("name"), str):
                log("the model's tool call has no function name; sent as text")
                return self._text((self.tokenizer.tool_call_start or "") + raw)
            arguments = call.get("arguments", {})
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments, ensure_ascii=False)
            call_id = call.get("id") or new_call_id()
            parts.append(("tool_call", {"index": self.tool_calls, "call_id": call_id, "name": call["name"], "arguments": arguments}))
            self.tool_calls += 1
        return parts


class PlainOutput:
    """For a model without reasoning or tool markers (or an mlx-lm without the marker machine): all text."""

    in_reasoning = False
    in_answer = True
    skipping = False
    tool_calls = 0

    def feed(self, text):
        return [("text", text)]

    def finish(self):
        return []
