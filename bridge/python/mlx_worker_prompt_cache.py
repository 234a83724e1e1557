"""Prompt-cache reuse: the next turn of a conversation starts from the KV cache of the longest
matching prefix it has seen, as mlx_lm.server does, on mlx-lm's own LRUPromptCache (a trie of
token prefixes, least recently used dropped first). One cache per loaded model, bounded in
entries and bytes; it goes with the model when the model is unloaded, and is dropped first when
memory is needed for a load."""
from mlx_worker_errors import log

#: mlx_lm.server's --prompt-cache-size default.
DEFAULT_ENTRIES = 10
#: Bytes of KV cache kept per model (an 8B model's fp16 KV cache for about 8k tokens).
DEFAULT_BYTES = 1 << 30


class PromptCaches:
    """Makes, finds and keeps prompt caches for the models of one worker; None parts of mlx-lm
    (an mlx-lm without them, the test double) turn reuse off."""

    def __init__(self, max_entries=DEFAULT_ENTRIES, max_bytes=DEFAULT_BYTES):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        try:
            from mlx_lm.models.cache import LRUPromptCache, can_trim_prompt_cache, make_prompt_cache, trim_prompt_cache
        except ImportError:
            self.available = False
            return
        self.available = max_entries > 0 and max_bytes > 0
        self._lru = LRUPromptCache
        self._make = make_prompt_cache
        self._can_trim = can_trim_prompt_cache
        self._trim = trim_prompt_cache

    def new_store(self):
        """The per-model store (None when reuse is off)."""
        return self._lru(self.max_entries, self.max_bytes) if self.available else None

    def fetch(self, entry, prompt):
        """(cache, tokens still to process, tokens reused) for `prompt` on `entry`'s model."""
        store = entry.prompt_cache
        if store is None:
            return None, prompt, 0
        cache, rest = store.fetch_nearest_cache(entry.model_id, list(prompt))
        if cache is None:
            return self._make(entry.model), prompt, 0
        if not rest:
            # The whole prompt is cached: the model still needs its last token to predict the next.
            if not self._can_trim(cache):
                return self._make(entry.model), prompt, 0
            self._trim(cache, 1)
            rest = prompt[-1:]
        return cache, rest, len(prompt) - len(rest)

    def save(self, entry, tokens, cache):
        """Keeps `cache`, which holds exactly `tokens` (the prompt and every generated token)."""
        if entry.prompt_cache is None or cache is None:
            return
        entry.prompt_cache.insert_cache(entry.model_id, list(tokens), cache)

    @staticmethod
    def nbytes(entries):
        return sum(e.prompt_cache.nbytes for e in entries if e.prompt_cache is not None)

    @staticmethod
    def drop(entries):
        """Frees every kept cache of `entries` (the caller clears MLX's buffer pool)."""
        freed = PromptCaches.nbytes(entries)
        for e in entries:
            if e.prompt_cache is not None:
                e.prompt_cache.trim_to(n_sequences=0)
        if freed:
            log(f"dropped {freed} bytes of prompt caches to make room")
        return freed
