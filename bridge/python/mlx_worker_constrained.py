"""Structured output by constrained decoding: a request's `response_format` (`json_object`, or
`json_schema` with its schema), or a `tool_choice` that forces a tool call, as an mlx-lm logits
processor that masks, at every step, each token the grammar does not allow, so the answer parses
and validates whatever the model would have said. The grammar engine is llguidance (why:
docs/bridge.md, "Structured output"): it computes each mask lazily from the tokenizer's token
trie, with no per-schema index to build, and refuses schema keywords it cannot enforce instead of
ignoring them."""
import json
import weakref

from mlx_worker_errors import WorkerError, log
from mlx_worker_prompt import initial_state
from mlx_worker_tool_stream import streams_arguments

# One llguidance tokenizer per loaded model's tokenizer (building one walks the whole vocabulary).
_TOKENIZERS = weakref.WeakKeyDictionary()

# At most one space where JSON allows whitespace: a model writes in its own style (`", "` and
# `": "`, as json.dumps does), but cannot pad forever and never close the value.
_COMPILE_OPTIONS = {"whitespace_flexible": True, "whitespace_pattern": "[ ]?"}


def constrained_processors(tokenizer, command, prompt):
    """[] when the generate command asks for nothing constrained, else [processor] for the answer
    to `prompt` (token ids). A forced tool call wins over a response_format (the answer is the
    call, as online)."""
    if command.get("tool_choice") is not None:
        body, param = _tool_calls_rules(tokenizer, command.get("tools") or [], command["tool_choice"]), "tool_choice"
    else:
        response_format = command.get("response_format")
        if not response_format or response_format.get("type") not in ("json_object", "json_schema"):
            return []
        body, param = _json_rule(response_format), "response_format"
    return _processors(tokenizer, _with_thinking(tokenizer, body, prompt), param)


def _json_rule(response_format):
    """`body`: a JSON value of the schema; `json_object` (or a json_schema without one) any object."""
    schema = response_format.get("schema") if response_format["type"] == "json_schema" else None
    if not isinstance(schema, dict):
        schema = {"type": "object"}
    return f"body: %json {json.dumps({**schema, 'x-guidance': _COMPILE_OPTIONS})}\n"


def _tool_calls_rules(tokenizer, tools, tool_choice):
    """`"required"` (one call or more, to any of the tools) or `{"name"}` (one call to that one) as
    the model's own tool-call blocks, each call's arguments held to its parameters' schema. Only
    the `<tool_call>` JSON format (mlx-lm's json_tools parser: Qwen, Hermes and their kin) has a
    grammar here; any other is the caller's 400 naming tool_choice."""
    if not tokenizer.has_tool_calling or not streams_arguments(tokenizer):
        raise WorkerError(
            "bad_request",
            "forcing a tool call needs the <tool_call> JSON tool format, and this model's template has another; use tool_choice \"auto\"",
            param="tool_choice",
        )
    functions = [tool.get("function") or {} for tool in tools]
    if isinstance(tool_choice, dict):
        functions = [f for f in functions if f.get("name") == tool_choice.get("name")]
    if not functions:
        raise WorkerError("bad_request", "tool_choice names no tool of this request", param="tool_choice")
    calls = [
        {
            "type": "object",
            "properties": {"name": {"const": f.get("name")}, "arguments": f.get("parameters") or {"type": "object"}},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for f in functions
    ]
    schema = {"anyOf": calls} if len(calls) > 1 else calls[0]
    start, end = _marker(tokenizer, tokenizer.tool_call_start), _marker(tokenizer, tokenizer.tool_call_end)
    repeat = "" if isinstance(tool_choice, dict) else ' ("\\n" call)*'
    return (
        f"body: call{repeat}\n"
        f'call: {start} "\\n" call_json "\\n" {end}\n'
        f"call_json: %json {json.dumps({**schema, 'x-guidance': _COMPILE_OPTIONS})}\n"
    )


def _with_thinking(tokenizer, body, prompt):
    """The whole answer. When the template opened a think block in the prompt, the model's own
    reasoning comes first (any token but the end of the turn, up to the end marker), then the body;
    otherwise the body from the first token: a model that would open a block itself is not let
    (an untrained one may never close it, and the guarantee is a finished answer)."""
    if initial_state(tokenizer, prompt) != "reasoning":
        return "start: body\n" + body
    end_id = _single_token(tokenizer, "think_end")
    if end_id is None:
        raise WorkerError("bad_request", "this model starts inside a think block whose end marker is not one token; constrained output cannot follow it")
    banned = ",".join(str(token) for token in [end_id, *tokenizer.eos_token_ids])
    return f'start: <[^{banned}]>* <[{end_id}]> ("\\n" | "\\n\\n")? body\n' + body


def _single_token(tokenizer, attribute):
    text = getattr(tokenizer, attribute, None)
    if not text:
        return None
    ids = tokenizer.encode(text, add_special_tokens=False)
    return ids[0] if len(ids) == 1 else None


def _marker(tokenizer, text):
    """The marker as its single token when it has one (the output splitter sees the marker token,
    as when the model writes it), else as text."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    return f"<[{ids[0]}]>" if len(ids) == 1 else json.dumps(text)


def _processors(tokenizer, lark, param):
    """[processor] for the grammar; one llguidance cannot enforce is the caller's 400 naming `param`."""
    try:
        from llguidance import LLMatcher
    except ImportError:
        raise WorkerError("bad_request", f"this bridge's Python has no llguidance, so '{param}' cannot be enforced; run `npm run bridge -- setup`", param=param)
    grammar = LLMatcher.grammar_from_lark(lark)
    ll_tokenizer = _ll_tokenizer(tokenizer)
    problem = LLMatcher.validate_grammar(grammar, ll_tokenizer)
    if problem and not problem.startswith("WARNING"):
        raise WorkerError("bad_request", f"the '{param}' schema cannot be enforced here: {_first_line(problem)}", param=param)
    return [JsonMaskProcessor(LLMatcher(ll_tokenizer, grammar, log_level=0), ll_tokenizer.vocab_size, list(tokenizer.eos_token_ids))]


def _ll_tokenizer(tokenizer):
    cached = _TOKENIZERS.get(tokenizer)
    if cached is None:
        import llguidance.hf

        # The Hugging Face fast tokenizer under mlx-lm's TokenizerWrapper; every end-of-turn id ends the answer.
        cached = llguidance.hf.from_tokenizer(tokenizer._tokenizer, eos_token=list(tokenizer.eos_token_ids))
        _TOKENIZERS[tokenizer] = cached
    return cached


def _first_line(text):
    return text.strip().splitlines()[0][:300] if text.strip() else "unknown reason"


class JsonMaskProcessor:
    """mlx-lm calls it with (tokens so far, logits) before each sample. The first call sees the
    prompt; each later one first feeds the matcher the token sampled last. mlx-lm computes one step
    ahead, so a call can come after the end-of-turn token: the matcher has stopped, only an
    end-of-turn token is allowed."""

    def __init__(self, matcher, vocab_size, eos_token_ids):
        import mlx.core as mx
        import numpy as np

        self.mx, self.np = mx, np
        self.matcher = matcher
        self.eos = eos_token_ids
        self.started = False
        self.words = np.zeros(((vocab_size + 31) // 32,), dtype=np.int32)

    def __call__(self, tokens, logits):
        matcher = self.matcher
        if self.started and not matcher.is_stopped():
            if not matcher.consume_token(int(tokens[-1])) and matcher.is_error():
                log(f"constrained decoding: {matcher.get_error()}")  # cannot happen with our own mask; ends the answer
        self.started = True
        if matcher.is_stopped() or matcher.is_error():
            return self._only(self.eos, logits)
        matcher.unsafe_compute_mask_ptr(self.words.ctypes.data, self.words.nbytes)
        np = self.np
        allowed = np.unpackbits(self.words.view(np.uint8), bitorder="little")
        width = logits.shape[-1]
        # The model's output may be wider than the tokenizer's vocabulary (padding rows): never allowed.
        allowed = allowed[:width] if allowed.size >= width else np.pad(allowed, (0, width - allowed.size))
        return self.mx.where(self.mx.array(allowed.astype(bool)), logits, -self.mx.inf)

    def _only(self, token_ids, logits):
        np = self.np
        allowed = np.zeros((logits.shape[-1],), dtype=bool)
        allowed[[t for t in token_ids if t < allowed.size]] = True
        return self.mx.where(self.mx.array(allowed), logits, -self.mx.inf)
