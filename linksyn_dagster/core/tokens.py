"""Token counts of released text, with a named tokenizer: tiktoken's ``cl100k_base``.

No download: the BPE file is the copy that litellm (a dependency) ships for offline use,
checked against tiktoken's published SHA-256 of ``cl100k_base.tiktoken``."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import polars as pl

TOKENIZER = "tiktoken cl100k_base"
_BPE_FILE = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"  # sha1 of the file's URL: tiktoken's cache key
_BPE_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|"""
            r"""\s*[\r\n]|\s+(?!\S)|\s""")
_SPECIAL = {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}


@cache
def encoding():
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("counting tokens needs litellm's bundled cl100k_base file: litellm is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers" / _BPE_FILE
    if not path.is_file():
        raise RuntimeError(f"cl100k_base BPE file not found at {path} (litellm's offline copy)")
    ranks = load_tiktoken_bpe(str(path), expected_hash=_BPE_SHA256)
    return tiktoken.Encoding("cl100k_base", pat_str=_PATTERN, mergeable_ranks=ranks, special_tokens=_SPECIAL)


def count_tokens(texts: Iterable[str | None]) -> list[int]:
    """Tokens of each text (None counts 0); special-token text is counted as plain text."""
    enc = encoding()
    # one call per text: encode_ordinary_batch hands each text to a thread pool, and at 220k
    # texts the futures cost more than the encoding (15 s against 8 s)
    return [len(enc.encode_ordinary("" if t is None else t)) for t in texts]


def qa_tokens(items: pl.DataFrame) -> pl.Series:
    """Tokens of each multiple-choice item as released: question, choices, answer letter and
    explanation, one per line (``tokens``, Int64)."""
    if items.is_empty():
        return pl.Series("tokens", [], dtype=pl.Int64)
    text = pl.concat_str([pl.col("question").fill_null(""), pl.col("choices").list.join("\n").fill_null(""),
                          pl.col("answer").fill_null(""), pl.col("explanation").fill_null("")], separator="\n")
    return pl.Series("tokens", count_tokens(items.select(text.alias("text")).get_column("text").to_list()),
                     dtype=pl.Int64)
