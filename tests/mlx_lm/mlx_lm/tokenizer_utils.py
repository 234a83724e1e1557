"""Test double of `mlx_lm.tokenizer_utils.TokenizerWrapper`.

Prompt text is encoded one token per character (the token id is the code
point); generated words are interned as ids above the Unicode range, so a word
is one token, as with a real BPE vocabulary.
"""
import re

from mlx._double import record

EOS_TOKEN_ID = 0
_FIRST_WORD_ID = 0x110000
_WORD = re.compile(r"\s*\S+|\s+")


class StreamingDetokenizer:
    """Same protocol as mlx-lm's NaiveStreamingDetokenizer."""

    def __init__(self, tokenizer):
        self._tokenizer = tokenizer
        self.reset()

    def reset(self):
        self.tokens = []
        self._text = ""
        self._read = 0

    def add_token(self, token):
        self.tokens.append(token)
        self._text += self._tokenizer.decode([token])

    def finalize(self):
        pass

    @property
    def text(self):
        return self._text

    @property
    def last_segment(self):
        segment = self._text[self._read :]
        self._read = len(self._text)
        return segment


class TokenizerWrapper:
    def __init__(self, chat_template=True):
        self._words = []
        self._word_ids = {}
        self.has_chat_template = chat_template
        self.has_thinking = False
        self.has_tool_calling = False
        self.bos_token = None
        self.eos_token_ids = {EOS_TOKEN_ID}

    def word_ids(self, text):
        """Splits `text` into word tokens (each with its leading space)."""
        ids = []
        for word in _WORD.findall(text):
            if word not in self._word_ids:
                self._word_ids[word] = _FIRST_WORD_ID + len(self._words)
                self._words.append(word)
            ids.append(self._word_ids[word])
        return ids

    def encode(self, text, add_special_tokens=True):
        return [ord(ch) for ch in text]

    def decode(self, tokens):
        out = []
        for token in tokens:
            if token == EOS_TOKEN_ID:
                continue
            out.append(self._words[token - _FIRST_WORD_ID] if token >= _FIRST_WORD_ID else chr(token))
        return "".join(out)

    @property
    def detokenizer(self):
        return StreamingDetokenizer(self)

    def apply_chat_template(self, messages, tokenize=True, add_generation_prompt=False, **kwargs):
        record(
            "apply_chat_template",
            add_generation_prompt=add_generation_prompt,
            tokenize=tokenize,
            roles=[m.get("role") for m in messages],
        )
        if not self.has_chat_template:
            raise ValueError(
                "Cannot use chat template functions because tokenizer.chat_template is not set and no template "
                "argument was passed!"
            )
        text = "".join(f"<|{m['role']}|>\n{m.get('content') or ''}<|end|>\n" for m in messages)
        if add_generation_prompt:
            text += "<|assistant|>\n"
        return self.encode(text) if tokenize else text


def last_user_text(prompt_text):
    """What the double model answers to: the last user message in the templated prompt."""
    start = prompt_text.rfind("<|user|>\n")
    if start < 0:
        return prompt_text.strip()
    start += len("<|user|>\n")
    end = prompt_text.find("<|end|>", start)
    return prompt_text[start : end if end >= 0 else len(prompt_text)]
