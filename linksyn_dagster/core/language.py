"""Language detection of seed and released text: a script-based guess, no model."""

from __future__ import annotations

import re

__all__ = ["detect_language"]

_LATEX_RE = re.compile(r"\\[A-Za-z]+")
# script detection runs once per seed, so it is regex-based (C speed), not a Python loop
_HAN_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_KANA_RE = re.compile("[\u3040-\u30ff]")
_HANGUL_RE = re.compile("[\uac00-\ud7af\u1100-\u11ff]")
_LATIN_WORD_RE = re.compile("[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+")
_CYRILLIC_WORD_RE = re.compile("[\u0400-\u04ff]+")
_ARABIC_WORD_RE = re.compile("[\u0600-\u06ff]+")


def detect_language(text: str) -> str:
    """Cheap script-based guess: ``zh``/``ja``/``ko``/``ru``/``ar``/``en``, ``und`` otherwise.

    CJK characters are counted one by one and alphabetic scripts word by word (one CJK
    character carries about as much as a word), after dropping LaTeX commands, so a
    Chinese question full of formulas still reads as Chinese. Latin-script text is
    reported as ``en``: telling English from French needs a real language model, and seed
    files in other Latin-script languages can set ``language`` themselves.
    """
    sample = _LATEX_RE.sub(" ", text[:4000])  # a prefix is plenty for a script guess
    han = len(_HAN_RE.findall(sample))
    kana = len(_KANA_RE.findall(sample))
    hangul = len(_HANGUL_RE.findall(sample))
    latin = len(_LATIN_WORD_RE.findall(sample))
    cyrillic = len(_CYRILLIC_WORD_RE.findall(sample))
    arabic = len(_ARABIC_WORD_RE.findall(sample))
    units = han + kana + hangul + latin + cyrillic + arabic
    if units == 0:
        return "und"
    if hangul / units >= 0.25:
        return "ko"
    if kana / units >= 0.1:
        return "ja"
    if han / units >= 0.25:
        return "zh"
    if cyrillic / units >= 0.5:
        return "ru"
    if arabic / units >= 0.5:
        return "ar"
    if latin / units >= 0.5:
        return "en"
    return "und"
