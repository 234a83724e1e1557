"""`tool_choice: "required"` or a named function, enforced for the `<tool_call>` JSON format
(mlx-lm's json_tools parser): the answer is made to open with a call by putting its start in
the prompt, `<tool_call>\\n{"name":`; a named function's name follows it there too, and
otherwise a logits processor lets the model write only one of the tools' names (and the
`"arguments":` key after it). The call and
its name are guaranteed; its arguments are the model's own (their JSON schema is not enforced).
Other tool-call formats cannot be forced here: a 400 naming tool_choice."""
from mlx_worker_errors import WorkerError
from mlx_worker_tool_stream import streams_arguments

# The forced text stops before the spaces the model writes next: a tokenizer merges a space with
# what follows it (` {"`, ` "get`), so a prompt ending in one would leave the model mid-token.
NAME_START = '\n{"name":'
ARGUMENTS_START = '", "arguments":'


def forced_call_prefix(tokenizer, tool_choice, tools):
    """(text the answer starts with, the tool names still to choose from, or None once named)."""
    if not streams_arguments(tokenizer):
        raise WorkerError(
            "bad_request",
            "this model's tool-call format cannot be forced (only the <tool_call> JSON format can); use tool_choice \"auto\"",
            param="tool_choice",
        )
    names = [tool["function"]["name"] for tool in tools]
    wanted = tool_choice.get("name") if isinstance(tool_choice, dict) else None
    if wanted is None and len(names) == 1:
        wanted = names[0]
    start = tokenizer.tool_call_start + NAME_START
    if wanted is not None:
        return start + ' "' + wanted + ARGUMENTS_START, None
    return start, names


class NameConstraint:
    """A logits processor that lets the generated text be only ` "<name>", "arguments":` (the space
    optional) for one of `names`, then steps aside for the arguments. Token texts are decoded
    once per model (see token_texts)."""

    def __init__(self, mx, tokenizer, names, token_texts):
        self.mx = mx
        self.tokenizer = tokenizer
        self.targets = [quote + name + ARGUMENTS_START for name in names for quote in (' "', '"')]
        self.token_texts = token_texts
        self.start = None  # how many tokens the prompt had
        self.done = False

    def __call__(self, tokens, logits):
        if self.done:
            return logits
        if self.start is None:
            self.start = len(tokens)
        written = self.tokenizer.decode(tokens[self.start :].tolist()) if len(tokens) > self.start else ""
        if any(written.startswith(target) for target in self.targets):
            self.done = True
            return logits
        # What each target still needs; only tokens that start like one of those can fit.
        needs = [target[len(written) :] for target in self.targets if target.startswith(written)]
        allowed = [
            i
            for first in {need[0] for need in needs if need}
            for i, text in self.token_texts.get(first, ())
            if any(need.startswith(text) or text.startswith(need) for need in needs)
        ]
        if not allowed:
            self.done = True  # cannot happen for names the model can spell; never block generation
            return logits
        mask = self.mx.full(logits.shape, -float("inf"), dtype=logits.dtype)
        mask[..., self.mx.array(allowed)] = 0
        return logits + mask


def token_texts(entry):
    """Every token's text for `entry`'s tokenizer by its first character, decoded once and kept on
    the loaded model (a name constraint then looks only at tokens that can start what is needed)."""
    if entry.token_texts is None:
        tokenizer = entry.tokenizer
        index = {}
        for i in range(len(tokenizer)):
            text = tokenizer.decode([i])
            if text:
                index.setdefault(text[0], []).append((i, text))
        entry.token_texts = index
    return entry.token_texts
