"""Planting edited copies of real benchmark questions, and an exact measure of similarity,
for the near-duplicate and decontamination tests.

Everything is deterministic (``random.Random`` with a fixed seed) and reads the real
MMLU/CMMLU files from ``../shared/data``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import polars as pl

from linksyn_dagster.core.neardup import text_units
from linksyn_dagster.core.seeds import demo_seed_dir, load_seed_files
from linksyn_dagster_tests.conftest import SHARED_DATA

MMLU_DEV = SHARED_DATA / "mmlu" / "dev"
MMLU_VAL = SHARED_DATA / "mmlu" / "val"
CMMLU_DEV = SHARED_DATA / "cmmlu" / "dev"
LABELS = "ABCDEFGHIJ"
CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
LATIN_WORD = re.compile("[A-Za-z]+")
ENGLISH_WORD = re.compile(r"^[A-Za-z]+[,.;:?!]?$")
# ASCII punctuation and its full-width forms: normalization must treat them alike
_TO_FULL_WIDTH = str.maketrans({",": "，", "?": "？", ":": "：", ";": "；", "(": "（", ")": "）", "!": "！"})
_FROM_FULL_WIDTH = str.maketrans({"，": ",", "？": "?", "：": ":", "；": ";", "（": "(", "）": ")", "！": "!", "。": "."})


@lru_cache(maxsize=None)
def _load(path: str) -> pl.DataFrame:
    load = load_seed_files(path)
    assert load.rejects.is_empty(), load.rejects
    return load.seeds


def mmlu_dev() -> pl.DataFrame:
    return _load(str(MMLU_DEV))


def mmlu_val() -> pl.DataFrame:
    return _load(str(MMLU_VAL))


def cmmlu_dev() -> pl.DataFrame:
    return _load(str(CMMLU_DEV))


def demo_seeds() -> pl.DataFrame:
    return _load(str(demo_seed_dir()))


def is_chinese(text: str) -> bool:
    """Mostly Chinese characters (counted one by one) rather than Latin words."""
    return len(CJK.findall(text)) >= len(LATIN_WORD.findall(text))


# --------------------------------------------------------------------------- edits


def change_case(text: str, rng: random.Random) -> str:
    """English: upper / lower / title case. Chinese: ASCII punctuation <-> full width."""
    if is_chinese(text):
        swapped = text.translate(_FROM_FULL_WIDTH)
        return swapped if swapped != text else text.translate(_TO_FULL_WIDTH)
    return rng.choice([str.upper, str.lower, str.title])(text)


def change_punctuation(text: str, rng: random.Random) -> str:
    """Drop, double or swap sentence punctuation (normalization maps it all to spaces).

    Punctuation inside a word or formula ("NSC-68", "f(x)", "3.5") is left alone: deleting
    it glues two words into a new one, which is a word change, not a punctuation change.
    """
    choice = rng.randrange(3)
    if choice == 0:
        return re.sub(r"[,.;:?!，。；：？！、](?=\s|$)|[，。；：？！、]", "", text)
    if choice == 1:
        return re.sub(r"([?？.。,，])", r"\1\1", text) + " !!"
    return text.replace(",", ";").replace("，", "；").replace("?", " ?").replace("？", "?")


def _tokens(text: str) -> list[str]:
    # Chinese: one character per token (as the units), English: whitespace words
    return list(text) if is_chinese(text) else text.split()


def _join(tokens: list[str], chinese: bool) -> str:
    return "".join(tokens) if chinese else " ".join(tokens)


def change_words(text: str, rng: random.Random, vocabulary: Sequence[str], count: int = 1) -> str:
    """Replace ``count`` random words (Chinese: characters) by other words of the vocabulary
    (English words are replaced by alphabetic words)."""
    chinese = is_chinese(text)
    tokens = _tokens(text)
    # a word is a word: Chinese characters, or English letters with trailing punctuation
    # (a whitespace token can be a whole formula, "$$\\sqrt{...}$$", which is not a word)
    word = CJK if chinese else ENGLISH_WORD
    positions = [i for i, t in enumerate(tokens) if word.match(t)]
    for i in rng.sample(positions, min(count, len(positions))):
        replacement = tokens[i]
        while replacement == tokens[i]:
            replacement = rng.choice(vocabulary)
        tokens[i] = replacement
    return _join(tokens, chinese)


def paraphrase_edit(text: str, rng: random.Random, vocabulary: Sequence[str], fraction: float) -> str:
    """``round(fraction * words)`` (at least 1) random edits: substitute, delete, insert a
    word, or swap two neighbours (Chinese: characters)."""
    chinese = is_chinese(text)
    tokens = _tokens(text)
    edits = max(1, round(fraction * len(text_units(text))))
    for _ in range(edits):
        op = rng.choice(("substitute", "delete", "insert", "swap"))
        i = rng.randrange(len(tokens))
        if op == "substitute":
            tokens[i] = rng.choice(vocabulary)
        elif op == "delete" and len(tokens) > 3:
            del tokens[i]
        elif op == "swap" and i + 1 < len(tokens):
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
        else:
            tokens.insert(i, rng.choice(vocabulary))
    return _join(tokens, chinese)


def reorder_choices(choices: list[str], answer: str, rng: random.Random) -> tuple[list[str], str]:
    """The same choices in another order, with the answer label following its choice."""
    order = list(range(len(choices)))
    while order == list(range(len(choices))) and len(set(choices)) > 1:
        rng.shuffle(order)
    correct = choices[LABELS.index(answer)]
    shuffled = [choices[i] for i in order]
    return shuffled, LABELS[shuffled.index(correct)]


def vocabulary(texts: Sequence[str]) -> list[str]:
    """The words of the texts (Chinese: the characters), with repeats: sampling follows usage."""
    words: list[str] = []
    for text in texts:
        words += CJK.findall(text) if is_chinese(text) else [w for w in text.split() if ENGLISH_WORD.match(w)]
    return words


# --------------------------------------------------------------------------- similarity


def unigram_jaccard_max(left: Sequence[str], right: Sequence[str], exclude_self: bool = False) -> np.ndarray:
    """For every text of ``left``: its largest exact Jaccard similarity of unit sets with a
    text of ``right`` (``exclude_self``: left and right are the same list, skip i == i).

    An independent yardstick (exact sets, no hashing, no MinHash, no n-grams) to decide
    which real questions are distinct from each other.
    """
    sets_l = [set(text_units(t)) for t in left]
    sets_r = sets_l if exclude_self else [set(text_units(t)) for t in right]
    vocab = {u: i for i, u in enumerate(sorted(set().union(*sets_l, *sets_r)))}
    incidence = np.zeros((len(sets_r), len(vocab)), dtype=np.float32)
    for j, s in enumerate(sets_r):
        incidence[j, [vocab[u] for u in s]] = 1.0
    sizes_r = incidence.sum(axis=1)
    best = np.zeros(len(sets_l))
    for i, s in enumerate(sets_l):
        if not s:
            continue
        shared = incidence[:, [vocab[u] for u in s]].sum(axis=1)
        jaccard = shared / (len(s) + sizes_r - shared)
        if exclude_self:
            jaccard[i] = 0.0
        best[i] = float(jaccard.max()) if jaccard.size else 0.0
    return best
