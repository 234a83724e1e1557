"""The fixed prompts of the tiny test model, read from tiny-chat-answers.json (the one list of them)."""

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ANSWERS_FILE = HERE / "tiny-chat-answers.json"
TEMPLATE_FILE = HERE / "tiny-chat-template.jinja"


@dataclass(frozen=True)
class Case:
    """One prompt (as apply_chat_template takes it) and the exact completion greedy decoding must give."""

    name: str
    messages: list
    tools: Optional[list]
    enable_thinking: bool
    completion: str
    raw: dict

    def template_kwargs(self) -> dict:
        kwargs: dict[str, Any] = {"add_generation_prompt": True, "enable_thinking": self.enable_thinking}
        if self.tools is not None:
            kwargs["tools"] = self.tools
        return kwargs


def load_cases() -> list:
    document = json.loads(ANSWERS_FILE.read_text(encoding="utf-8"))
    return [
        Case(
            name=raw["name"],
            messages=copy.deepcopy(raw["messages"]),
            tools=copy.deepcopy(raw.get("tools")),
            enable_thinking=bool(raw["enable_thinking"]),
            completion=raw["completion"],
            raw=raw,
        )
        for raw in document["cases"]
    ]


def chat_template() -> str:
    return TEMPLATE_FILE.read_text(encoding="utf-8")
