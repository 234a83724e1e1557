"""Load a saved model directory back with the real mlx_lm.load and check, through the same calls a
runner makes (apply_chat_template, greedy stream_generate), that every fixed prompt gets its exact
answer; measure tokens/s and time to first token on the way."""

import statistics
import time
from pathlib import Path

import mlx_lm
from mlx_lm.sample_utils import make_sampler


def check_tokenizer(tokenizer) -> list:
    """What mlx-lm must infer from the files: a chat template, the json_tools parser, <think> blocks."""
    expected = {
        "has_chat_template": True,
        "has_tool_calling": True,
        "tool_call_start": "<tool_call>",
        "tool_call_end": "</tool_call>",
        "tool_parser": "mlx_lm.tool_parsers.json_tools",
        "has_thinking": True,
        "think_start": "<think>",
        "think_end": "</think>",
        "single-token markers": True,
    }
    actual = {
        "has_chat_template": tokenizer.has_chat_template,
        "has_tool_calling": tokenizer.has_tool_calling,
        "tool_call_start": tokenizer.tool_call_start,
        "tool_call_end": tokenizer.tool_call_end,
        "tool_parser": getattr(tokenizer.tool_parser, "__module__", None),
        "has_thinking": tokenizer.has_thinking,
        "think_start": tokenizer.think_start,
        "think_end": tokenizer.think_end,
        "single-token markers": all(
            len(tokens or ()) == 1
            for tokens in (
                tokenizer.think_start_tokens,
                tokenizer.think_end_tokens,
                tokenizer.tool_call_start_tokens,
                tokenizer.tool_call_end_tokens,
            )
        ),
    }
    return [f"tokenizer {key}: {actual[key]!r}, expected {value!r}" for key, value in expected.items() if actual[key] != value]


def between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0] if start in text and end in text else ""


def check_parts(case, tokenizer, text: str) -> list:
    """The tool call parsed by mlx-lm's own parser, and the reasoning split at the think markers."""
    raw, problems = case.raw, []
    if "tool_call" in raw:
        body = between(text, tokenizer.tool_call_start, tokenizer.tool_call_end)
        try:
            parsed = tokenizer.tool_parser(body, case.tools)
        except ValueError as error:  # json.JSONDecodeError is a ValueError
            parsed = f"unparsable: {error}"
        if parsed != raw["tool_call"]:
            problems.append(f"{case.name}: parsed tool call {parsed!r}, expected {raw['tool_call']!r}")
    if "reasoning" in raw:
        reasoning = between(text, tokenizer.think_start, tokenizer.think_end).strip()
        content = text.split(tokenizer.think_end, 1)[-1].strip()
        if (reasoning, content) != (raw["reasoning"], raw["content"]):
            problems.append(f"{case.name}: reasoning {reasoning!r} and content {content!r}")
    return problems


def generate(model, tokenizer, case) -> dict:
    prompt = tokenizer.apply_chat_template(case.messages, **case.template_kwargs())
    budget = len(tokenizer.encode(case.completion, add_special_tokens=False)) + 32
    started = time.perf_counter()
    first_token_s, text, last = None, "", None
    for response in mlx_lm.stream_generate(model, tokenizer, prompt, max_tokens=budget, sampler=make_sampler(temp=0.0)):
        if first_token_s is None:
            first_token_s = time.perf_counter() - started
        text += response.text
        last = response
    return {
        "text": text,
        "finish_reason": last.finish_reason,
        "completion_tokens": last.generation_tokens - (1 if last.finish_reason == "stop" else 0),
        "prompt_tokens": last.prompt_tokens,
        "ttft_ms": first_token_s * 1000,
        "generation_tps": last.generation_tps,
        "prompt_tps": last.prompt_tps,
    }


def verify(directory: Path, cases: list, log) -> tuple:
    """(problems, measurements) for one model directory; no problems means every answer is exact."""
    model, tokenizer = mlx_lm.load(str(directory))
    problems = check_tokenizer(tokenizer)
    generate(model, tokenizer, cases[0])  # warm-up: the first call pays one-time set-up
    results = {}
    for case in cases:
        result = generate(model, tokenizer, case)
        results[case.name] = result
        exact = result["text"] == case.completion and result["finish_reason"] == "stop"
        if not exact:
            problems.append(f"{case.name}: got {result['text']!r} ({result['finish_reason']}), expected {case.completion!r}")
        minimum = case.raw.get("min_completion_tokens", 0)
        if result["completion_tokens"] < minimum:
            problems.append(f"{case.name}: {result['completion_tokens']} completion tokens, fewer than {minimum}")
        problems += check_parts(case, tokenizer, result["text"])
        log(
            f"  {directory.name} {case.name}: {'exact' if exact else 'WRONG'}, {result['prompt_tokens']} prompt +"
            f" {result['completion_tokens']} completion tokens, TTFT {result['ttft_ms']:.1f} ms,"
            f" {result['generation_tps']:.0f} tokens/s"
        )
    longest = max(results.values(), key=lambda result: result["completion_tokens"])
    measurements = {
        "generation_tps_long": longest["generation_tps"],
        "prompt_tps_long": longest["prompt_tps"],
        "ttft_ms_median": statistics.median(result["ttft_ms"] for result in results.values()),
    }
    return problems, measurements
