"""Language detection of seed and released text: a script-based guess, no model."""

from __future__ import annotations

import re

__all__ = ["detect_language"]

_LATEX_RE = re.compile(r"\\[A-Za-z]+")
# script detection runs once per seed, so it is regex-based (C speed), not a Python loop
# each script, in the order a text is tested for it: its code, what is counted (CJK characters one
# by one, alphabetic scripts word by word), and the share of the counted units it needs
_SCRIPTS = (
    ("ko", re.compile("[\uac00-\ud7af\u1100-\u11ff]"), 0.25),
    ("ja", re.compile("[\u3040-\u30ff]"), 0.1),
    ("zh", re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"), 0.25),
    ("ru", re.compile("[\u0400-\u04ff]+"), 0.5),
    ("ar", re.compile("[\u0600-\u06ff]+"), 0.5),
    ("en", re.compile("[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+"), 0.5),
)


def detect_language(text: str) -> str:
    """Cheap script-based guess: ``zh``/``ja``/``ko``/``ru``/``ar``/``en``, ``und`` otherwise.

    CJK characters are counted one by one and alphabetic scripts word by word (one CJK
    character carries about as much as a word), after dropping LaTeX commands, so a
    Chinese question full of formulas still reads as Chinese. Latin-script text is
    reported as ``en``: telling English from French needs a real language model, and seed
    files in other Latin-script languages can set ``language`` themselves.
    """
    sample = _LATEX_RE.sub(" ", text[:4000])  # a prefix is plenty for a script guess
    counts = [len(pattern.findall(sample)) for _, pattern, _ in _SCRIPTS]
    units = sum(counts)
    if units == 0:
        return "und"
    return next((code for (code, _, share), count in zip(_SCRIPTS, counts, strict=True) if count / units >= share),
                "und")
