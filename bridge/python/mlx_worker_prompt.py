"""The prompt of one generation: the chat template with the request's tools and template options,
and the state the model starts in (inside a think block when the template opened one)."""
import json

from mlx_worker_errors import WorkerError, log, short_error


def template_messages(messages):
    """The messages as chat templates expect them: null content as "", tool call arguments as objects
    (most templates `tojson` them, as mlx_lm.server prepares them too)."""
    prepared = []
    for message in messages:
        message = dict(message)
        if message.get("content") is None:
            message["content"] = ""
        calls = message.get("tool_calls")
        if calls:
            message["tool_calls"] = [_with_object_arguments(call) for call in calls]
        prepared.append(message)
    return prepared


def _with_object_arguments(call):
    function = dict(call.get("function") or {})
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            function["arguments"] = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            pass  # not JSON: the template gets the model's own text back
    return {**call, "function": function}


def render_prompt(tokenizer, messages, tools, template_kwargs):
    """Token ids of the prompt. `tools` (OpenAI function tools) need a template with tool support."""
    if tools and not tokenizer.has_tool_calling:
        raise WorkerError(
            "bad_request",
            "this model's chat template has no tool calling (mlx-lm found no tool-call format in it), "
            "so 'tools' cannot be honoured",
            param="tools",
        )
    kwargs = dict(template_kwargs or {})
    if tools:
        kwargs["tools"] = tools
    if not tokenizer.has_chat_template:
        log("the model has no chat template; using a plain transcript")
        return _plain_transcript(tokenizer, messages)
    try:
        return tokenizer.apply_chat_template(template_messages(messages), add_generation_prompt=True, tokenize=True, **kwargs)
    except Exception as error:  # noqa: BLE001 - a template that cannot render this conversation is the caller's 400
        raise WorkerError("bad_request", f"the model's chat template cannot render these messages: {short_error(error)}")


def _plain_transcript(tokenizer, messages):
    text = "".join(f"{m.get('role')}: {m.get('content') or ''}\n" for m in messages) + "assistant: "
    return tokenizer.encode(text)


def initial_state(tokenizer, prompt):
    """"reasoning" when the prompt ends inside an open think block (templates that open it for the
    model), else "normal": as mlx_lm.server decides it."""
    if not tokenizer.has_thinking:
        return "normal"
    start = tokenizer.rfind_think_start(prompt)
    end = tokenizer.rfind_think_end(prompt)
    return "reasoning" if start > end else "normal"
