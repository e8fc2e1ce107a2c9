"""Knowledge-point canonicalization: many surface forms of one KP become one canonical KP.

Three layers, applied in order:

1. ``canonical_key`` — a pure string normalization (Unicode NFKC, casefold, punctuation and
   quotes stripped, whitespace collapsed, leading English article dropped, English plurals
   singularized; CJK text only gets width/space/punctuation normalization).
2. an alias table — whole-key synonyms ("dna" -> "deoxyribonucleic acid"), built in and
   extendable by the caller.
3. near-duplicate merging (``near_duplicate_groups``) — conservative rules, each found by
   blocking (hash grouping), never by comparing all pairs:

   * R2 *compact*: keys equal once spaces are removed ("x ray" / "xray"), compact form of at
     least 4 characters.
   * R3 *token set*: same multiset of content tokens once a few function words ("of", "the",
     "and", ...) are dropped, with at least 2 content tokens ("conservation of energy" /
     "energy conservation").
   * R4 *single edit*: the keys differ by exactly one character edit inside one alphabetic
     token that is at least 8 characters long in both keys, and the two keys share a
     discipline. Edits that usually change meaning are refused: anything at the first
     character (prefixes: "asymmetric"/"symmetric"), substitutions in the last four
     characters (chemical suffixes: -ane/-ene, -ite/-ate, -ol/-al, nucleotide/nucleoside),
     insertions in the last two characters other than a trailing "s", and a short list of
     known real-word pairs (absorption/adsorption). Candidates come from a deletion
     neighbourhood (every one-character deletion of every long token), grouped by hash, so
     the cost is O(n·L log n) for n keys of length L.

   Merges are transitive (single linkage). The representative of a merged group is its
   shortest key, then the lexicographically smallest, so a KP id only changes when a
   shorter variant joins its group, not whenever counts shift.

``canonicalize_kps`` ties it together over the per-seed extraction rows.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from array import array
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import polars as pl

__all__ = [
    "COUNT_SCHEMA",
    "DEFAULT_ALIASES",
    "add_kps",
    "aggregate_kps",
    "alias_map_for",
    "build_alias_map",
    "canonical_key",
    "canonicalize_kps",
    "canonicalize_mentions",
    "canonicalize_with_names",
    "clean_mentions",
    "deletion_entries",
    "kp_id_for",
    "name_disciplines",
    "near_duplicate_groups",
    "resolve_alias",
    "singularize",
    "surface_form",
]

# --------------------------------------------------------------------------------------------
# string normalization
# --------------------------------------------------------------------------------------------

# Punctuation (Unicode category P*) becomes a space. Built once over the BMP: punctuation
# outside it is historic-script only. '#' and '%' are kept because they carry meaning in
# KP names ("c#", "5% solution"); '&' is spelled out so "acids & bases" == "acids and bases".
_KEEP_PUNCT = frozenset("#%")
_PUNCT_TABLE: dict[int, str] = {
    cp: " "
    for cp in range(0x10000)
    if unicodedata.category(chr(cp)).startswith("P") and chr(cp) not in _KEEP_PUNCT
}
# Quote-like symbols (categories Sk/Sm) that people use as apostrophes or separators.
for _ch in "`´|":
    _PUNCT_TABLE[ord(_ch)] = " "
_PUNCT_TABLE[ord("&")] = " and "

_APOSTROPHES = "'’ʼ‘`´"
# possessive 's is dropped ("newton's law" == "newton law"), other apostrophes vanish
# without splitting the word ("don't" -> "dont").
_POSSESSIVE_RE = re.compile(rf"(?<=\w)[{_APOSTROPHES}]s\b")
_APOSTROPHE_RE = re.compile(rf"[{_APOSTROPHES}]")
# a decimal point between digits is part of a number ("7.4"), protected from the table
_DECIMAL_RE = re.compile(r"(?<=\d)\.(?=\d)")
_DECIMAL_MARK = "\uE000"  # private-use placeholder, not punctuation
# Han ideographs and kana: written without spaces, so spaces between them are noise.
# Hangul is excluded on purpose — Korean separates words with spaces.
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_SPACE_RE = re.compile(rf"(?<=[{_CJK}]) +(?=[{_CJK}])")

_ARTICLES = frozenset({"a", "an", "the"})
# "a priori" is a term, not an article plus a noun
_ARTICLE_TERMS = frozenset({"priori", "posteriori", "fortiori", "cappella"})


def surface_form(name: str) -> str:
    """The display form of a KP name: NFKC (full-width -> ASCII) and collapsed whitespace;
    case and punctuation are kept."""
    return " ".join(unicodedata.normalize("NFKC", name).split())


def canonical_key(name: str) -> str:
    """The canonical matching key of a KP name (see module docstring). Empty when the name
    has no word characters."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _POSSESSIVE_RE.sub("", text)
    text = _APOSTROPHE_RE.sub("", text)
    text = _DECIMAL_RE.sub(_DECIMAL_MARK, text)
    text = text.translate(_PUNCT_TABLE).replace(_DECIMAL_MARK, ".")
    text = " ".join(text.split())
    text = _CJK_SPACE_RE.sub("", text)
    if not text:
        return ""
    tokens = text.split(" ")
    if len(tokens) > 1 and tokens[0] in _ARTICLES and tokens[1] not in _ARTICLE_TERMS:
        tokens = tokens[1:]
    return " ".join(singularize(tok) for tok in tokens)


# --------------------------------------------------------------------------------------------
# singularization
# --------------------------------------------------------------------------------------------

# Words that end in "s" but are not plurals (or whose plural form is the usual name).
_INVARIANT = frozenset(
    """
    news series species means aids diabetes rabies scabies caries herpes measles mumps rickets
    shingles headquarters crossroads barracks gallows whereabouts innings odds thanks clothes
    scissors trousers pants goods savings earnings proceeds surroundings outskirts premises
    remains riches humanities always perhaps towards afterwards sometimes besides nowadays
    whereas unless this does goes hers ours yours theirs chaos cosmos ethos pathos logos kudos
    asbestos rhinoceros christmas texas kansas arkansas paris athens wales brussels netherlands
    philippines bahamas maldives mars pythagoras archimedes socrates euripides sophocles
    pericles hercules achilles xerxes descartes bayes hermes ares
    """.split()
)
# Singular nouns ending in "s" whose plural adds "es" (gas/gases, virus/viruses).
_S_SINGULARS = frozenset(
    """
    gas bias atlas canvas alias lens iris pancreas bus virus campus status bonus census fetus
    sinus consensus focus octopus walrus apparatus cactus calculus syllabus surplus chorus
    thesaurus uterus rhombus abacus isthmus plexus nexus hiatus impetus prospectus corpus
    stimulus radius nucleus fungus genus locus onus torus humerus esophagus oesophagus
    """.split()
)
_IRREGULAR: dict[str, str] = {
    # Germanic
    "children": "child", "men": "man", "women": "woman", "feet": "foot", "teeth": "tooth",
    "mice": "mouse", "geese": "goose", "lice": "louse", "oxen": "ox",
    # -f/-fe -> -ves
    "leaves": "leaf", "wolves": "wolf", "halves": "half", "knives": "knife", "lives": "life",
    "wives": "wife", "midwives": "midwife", "shelves": "shelf", "calves": "calf",
    "loaves": "loaf", "thieves": "thief", "scarves": "scarf", "hooves": "hoof",
    "selves": "self", "elves": "elf", "sheaves": "sheaf", "wharves": "wharf",
    # Latin / Greek
    "bacteria": "bacterium", "criteria": "criterion", "phenomena": "phenomenon",
    "strata": "stratum", "curricula": "curriculum", "spectra": "spectrum",
    "maxima": "maximum", "minima": "minimum", "optima": "optimum", "quanta": "quantum",
    "mitochondria": "mitochondrion", "ganglia": "ganglion", "automata": "automaton",
    "stomata": "stoma", "genera": "genus", "corpora": "corpus",
    "larvae": "larva", "vertebrae": "vertebra", "antennae": "antenna", "formulae": "formula",
    "nebulae": "nebula", "supernovae": "supernova",
    "fungi": "fungus", "nuclei": "nucleus", "radii": "radius", "stimuli": "stimulus",
    "alumni": "alumnus", "cacti": "cactus", "foci": "focus", "loci": "locus",
    "bacilli": "bacillus", "octopi": "octopus", "syllabi": "syllabus", "termini": "terminus",
    "matrices": "matrix", "vertices": "vertex", "indices": "index", "appendices": "appendix",
    "apices": "apex", "cortices": "cortex", "helices": "helix", "simplices": "simplex",
    "vortices": "vortex",
    "axes": "axis", "diagnoses": "diagnosis", "prognoses": "prognosis",
    "neuroses": "neurosis", "psychoses": "psychosis", "metamorphoses": "metamorphosis",
    "symbioses": "symbiosis", "thromboses": "thrombosis", "crises": "crisis",
    "quizzes": "quiz",
}
# -ies plurals of -ie nouns (not -y)
_IES_TO_IE = frozenset(
    "calories movies cookies zombies prairies rookies brownies genies smoothies neckties "
    "hippies aunties goalies hoodies selfies".split()
)
# -ches/-xes/-oes plurals that only add "s"
_ADD_S_ONLY = frozenset(
    "caches headaches aches niches avalanches moustaches mustaches psyches cliches quiches "
    "creches shoes canoes oboes toes floes aloes sloes throes foes hoes horseshoes tiptoes "
    "mistletoes snowshoes".split()
)


def singularize(word: str) -> str:
    """English singular of one lower-case token; anything not plainly an ASCII word (CJK,
    numbers, formulas) and words shorter than 4 letters are returned unchanged."""
    irregular = _IRREGULAR.get(word)
    if irregular is not None:
        return irregular
    if len(word) < 4 or not word.endswith("s") or not (word.isascii() and word.isalpha()):
        return word
    if word in _INVARIANT or word in _S_SINGULARS:
        return word
    # -ss (class, process), -us (status, various), -is (analysis), -ics (physics)
    if word.endswith(("ss", "us", "is", "ics")):
        return word
    if word in _ADD_S_ONLY:
        return word[:-1]
    if word.endswith("ies"):
        if len(word) <= 4 or word in _IES_TO_IE:  # ties, pies, calories
            return word[:-1]
        return word[:-3] + "y"  # theories
    if word.endswith("yses") or word.endswith("theses"):
        return word[:-2] + "is"  # analyses, hypotheses
    if word.endswith("sses"):
        return word[:-2]  # processes
    if word.endswith("ses"):
        stem = word[:-2]
        return stem if stem in _S_SINGULARS else word[:-1]  # gases / phases
    if word.endswith(("xes", "ches", "shes", "zzes", "oes")):
        return word[:-2]  # boxes, branches, dishes, buzzes, potatoes
    return word[:-1]


# --------------------------------------------------------------------------------------------
# ids and aliases
# --------------------------------------------------------------------------------------------


def kp_id_for(key: str) -> str:
    """Stable short id of a canonical key: ``kp_`` + 64-bit BLAKE2b hex."""
    return "kp_" + hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


# Whole-phrase synonyms, surface forms on both sides (keys are computed from them). Kept
# small on purpose: only abbreviations and names that are unambiguous in a QA corpus.
DEFAULT_ALIASES: dict[str, str] = {
    "DNA": "deoxyribonucleic acid",
    "RNA": "ribonucleic acid",
    "mRNA": "messenger RNA",
    "ATP": "adenosine triphosphate",
    "PCR": "polymerase chain reaction",
    "HIV": "human immunodeficiency virus",
    "AIDS": "acquired immunodeficiency syndrome",
    "CO2": "carbon dioxide",
    "H2O": "water",
    "NaCl": "sodium chloride",
    "GDP": "gross domestic product",
    "GNP": "gross national product",
    "CPI": "consumer price index",
    "EMF": "electromotive force",
    "AI": "artificial intelligence",
    "CPU": "central processing unit",
    "GCD": "greatest common divisor",
    "HCF": "greatest common divisor",
    "highest common factor": "greatest common divisor",
    "LCM": "least common multiple",
    "ODE": "ordinary differential equation",
    "PDE": "partial differential equation",
    "Pythagoras' theorem": "Pythagorean theorem",
    "Pythagoras theorem": "Pythagorean theorem",
    "Newton's second law": "Newton's second law of motion",
    "Newton's first law": "Newton's first law of motion",
    "Newton's third law": "Newton's third law of motion",
    "F=ma": "Newton's second law of motion",
    "WWII": "World War II",
    "WW2": "World War II",
    "Second World War": "World War II",
    "WWI": "World War I",
    "WW1": "World War I",
    "First World War": "World War I",
    "1st law of thermodynamics": "first law of thermodynamics",
    "2nd law of thermodynamics": "second law of thermodynamics",
    "脱氧核糖核酸": "deoxyribonucleic acid",
    "国内生产总值": "gross domestic product",
}


def build_alias_map(aliases: Mapping[str, str]) -> dict[str, str]:
    """Alias surface forms -> key-to-key map, chains resolved ("ww2" -> "world war ii").
    Raises ValueError on a cycle or an alias whose key is empty."""
    raw: dict[str, str] = {}
    for alias, target in aliases.items():
        a_key, t_key = canonical_key(alias), canonical_key(target)
        if not a_key or not t_key:
            raise ValueError(f"alias {alias!r} -> {target!r} has an empty canonical key")
        if a_key != t_key:
            raw[a_key] = t_key
    resolved: dict[str, str] = {}
    for start in raw:
        seen = {start}
        cur = raw[start]
        while cur in raw:
            if cur in seen:
                raise ValueError(f"alias cycle through {start!r}")
            seen.add(cur)
            cur = raw[cur]
        resolved[start] = cur
    return resolved


_DEFAULT_ALIAS_MAP = build_alias_map(DEFAULT_ALIASES)


def resolve_alias(key: str, alias_map: Mapping[str, str] | None = None) -> str:
    """The alias target of a canonical key (itself when it is no alias)."""
    table = _DEFAULT_ALIAS_MAP if alias_map is None else alias_map
    return table.get(key, key)


# --------------------------------------------------------------------------------------------
# near-duplicate merging
# --------------------------------------------------------------------------------------------

_STOPWORDS = frozenset({"of", "the", "a", "an", "and", "in", "on", "for", "to", "by", "with", "at", "from"})
_MIN_COMPACT_LEN = 4
_MIN_EDIT_TOKEN_LEN = 8
_SUFFIX_ZONE = 4  # substitutions in a token's last 4 characters are refused (R4)
_MAX_BLOCK = 64  # a deletion-variant block larger than this is pathological; skipped
# Real, different words one edit apart that the R4 guards do not already refuse.
_NEVER_MERGE = frozenset(
    frozenset(p) for p in [("absorption", "adsorption"), ("absorbent", "adsorbent"), ("absorbate", "adsorbate")]
)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller index wins so the result does not depend on union order
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def _union_groups(uf: _UnionFind, signatures: Sequence[object | None]) -> None:
    """Union all indices that share a non-None signature (hash blocking)."""
    first: dict[object, int] = {}
    for i, sig in enumerate(signatures):
        if sig is None:
            continue
        j = first.setdefault(sig, i)
        if j != i:
            uf.union(j, i)


def _compact_signature(key: str) -> str | None:
    if " " not in key:
        return key if len(key) >= _MIN_COMPACT_LEN else None  # lets "xray" meet "x ray"
    compact = key.replace(" ", "")
    return compact if len(compact) >= _MIN_COMPACT_LEN else None


def _token_set_signature(key: str) -> tuple[str, ...] | None:
    content = sorted(t for t in key.split(" ") if t not in _STOPWORDS)
    return tuple(content) if len(content) >= 2 else None


def _safe_single_edit(a: str, b: str) -> bool:
    """R4 guard: a and b differ by one edit inside one long alphabetic token, away from the
    prefix and the suffix zone (see module docstring)."""
    ta_all, tb_all = a.split(" "), b.split(" ")
    if len(ta_all) != len(tb_all):
        return False
    diff = [i for i, (x, y) in enumerate(zip(ta_all, tb_all, strict=True)) if x != y]
    if len(diff) != 1:
        return False
    ta, tb = ta_all[diff[0]], tb_all[diff[0]]
    if not (ta.isascii() and tb.isascii() and ta.isalpha() and tb.isalpha()):
        return False
    if min(len(ta), len(tb)) < _MIN_EDIT_TOKEN_LEN or frozenset((ta, tb)) in _NEVER_MERGE:
        return False
    if len(ta) == len(tb):
        mismatch = [k for k, (x, y) in enumerate(zip(ta, tb, strict=True)) if x != y]
        return len(mismatch) == 1 and 0 < mismatch[0] < len(ta) - _SUFFIX_ZONE
    longer, shorter = (ta, tb) if len(ta) > len(tb) else (tb, ta)
    if len(longer) - len(shorter) != 1:
        return False
    k = next((i for i, (x, y) in enumerate(zip(longer, shorter)) if x != y), len(shorter))
    if longer[:k] + longer[k + 1 :] != shorter or k == 0:
        return False
    if k >= len(longer) - 2:
        return k == len(longer) - 1 and longer[k] == "s"
    return True


def deletion_entries(key: str) -> list[tuple[int, str]]:
    """The entries R4 blocks ``key`` by: (offset, key without the character at offset) for
    every character but the first of every long alphabetic token, and (-1, key) when the
    key has such a token (the side of an insertion)."""
    entries = []
    offset = 0
    for tok in key.split(" "):
        if len(tok) >= _MIN_EDIT_TOKEN_LEN and tok.isascii() and tok.isalpha():
            # the first character is never edited (guard), so never deleted here
            entries.extend((p, key[:p] + key[p + 1:]) for p in range(offset + 1, offset + len(tok)))
        offset += len(tok) + 1
    if entries:
        entries.append((-1, key))
    return entries


def _deletion_candidates(keys: Sequence[str]) -> list[tuple[int, int]]:
    """Pairs of key indices that may be one edit apart: they share a one-character deletion
    of a long token (substitution), or one is such a deletion of the other (insertion).
    Variants are grouped by hash after a sort — O(total variants · log)."""
    # machine integers, not lists of Python ints: at 1M seeds there are about 10M entries,
    # which as lists held some 800 MB more at the run's peak
    owner, position, hashes = array("q"), array("q"), array("q")  # position -1 = the key itself
    for idx, key in enumerate(keys):
        for p, variant in deletion_entries(key):
            owner.append(idx)
            position.append(p)
            hashes.append(hash(variant))
    if not hashes:
        return []
    h = np.frombuffer(hashes, dtype=np.int64)
    own = np.frombuffer(owner, dtype=np.int64)
    pos = np.frombuffer(position, dtype=np.int64)
    order = np.argsort(h, kind="stable")
    h, own, pos = h[order], own[order], pos[order]
    starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
    ends = np.r_[starts[1:], len(h)]
    pairs: set[tuple[int, int]] = set()
    for s, e in zip(starts[(ends - starts) > 1], ends[(ends - starts) > 1], strict=True):
        if e - s > _MAX_BLOCK:
            continue
        members = list(zip(own[s:e].tolist(), pos[s:e].tolist(), strict=True))
        for i in range(len(members)):
            oi, pi = members[i]
            for j in range(i + 1, len(members)):
                oj, pj = members[j]
                # same-position deletions = substitution; key vs deletion = insertion
                if oi != oj and (pi == pj or pi == -1 or pj == -1):
                    pairs.add((min(oi, oj), max(oi, oj)))
    return sorted(pairs)


def near_duplicate_groups(
    keys: Sequence[str], disciplines: Sequence[Iterable[str]] | None = None
) -> dict[str, str]:
    """Map every key to the representative key of its near-duplicate group (rules R2–R4 of
    the module docstring). ``disciplines[i]`` are the disciplines of ``keys[i]``; when given,
    R4 (single edit) only merges keys that share one."""
    uniq = sorted(set(keys))
    index = {k: i for i, k in enumerate(uniq)}
    uf = _UnionFind(len(uniq))
    _union_groups(uf, [_compact_signature(k) for k in uniq])
    _union_groups(uf, [_token_set_signature(k) for k in uniq])
    disc_sets: list[frozenset[str]] | None = None
    if disciplines is not None:
        merged: dict[str, set[str]] = {}
        for k, ds in zip(keys, disciplines, strict=True):
            merged.setdefault(k, set()).update(d for d in ds if d)
        disc_sets = [frozenset(merged.get(k, ())) for k in uniq]
    for i, j in _deletion_candidates(uniq):
        if disc_sets is not None and not (disc_sets[i] & disc_sets[j]):
            continue
        if _safe_single_edit(uniq[i], uniq[j]):
            uf.union(i, j)
    groups: dict[int, list[str]] = {}
    for k in uniq:
        groups.setdefault(uf.find(index[k]), []).append(k)
    result: dict[str, str] = {}
    for members in groups.values():
        rep = min(members, key=lambda m: (len(m), m))
        for m in members:
            result[m] = rep
    return result


# --------------------------------------------------------------------------------------------
# the table-level entry point
# --------------------------------------------------------------------------------------------

_REQUIRED = ("seed_id", "seed_discipline", "kp_name", "kp_discipline")


def _clean_discipline(col: str) -> pl.Expr:
    stripped = pl.col(col).cast(pl.Utf8).str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped).alias(col)


def _disciplines_by(df: pl.DataFrame, col: str) -> pl.DataFrame:
    """Distinct (``col``, d): each discipline a ``col`` value is seen with, as the KP's own
    (kp_discipline) or its seed's (seed_discipline)."""
    return pl.concat([df.select(col, pl.col(side).alias("d")).drop_nulls("d").unique()  # each side small first
                      for side in ("kp_discipline", "seed_discipline")]).unique()


def canonicalize_kps(
    rows: pl.DataFrame, aliases: Mapping[str, str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-seed KP mentions -> (knowledge_points, seed_kp_links).

    ``rows``: seed_id, seed_discipline, kp_name, kp_discipline[, extracted_at]. ``aliases``
    (surface form -> surface form) extend and override ``DEFAULT_ALIASES``. Rows with a null
    seed_id/kp_name or a name with no word characters (empty key) are ignored.

    knowledge_points (sorted by kp_id): kp_id, name (most frequent surface form by distinct
    seeds; ties: shorter, then lexicographic), key, frequency (distinct seeds), disciplines
    (sorted, from kp_discipline and seed_discipline), primary_discipline (the discipline of
    most distinct seeds, taking kp_discipline and falling back to seed_discipline; ties
    lexicographic), aliases (sorted distinct surface forms), first_seen, last_seen (min/max
    extracted_at, null when the column is absent).

    seed_kp_links (sorted): seed_id, kp_id — distinct pairs.
    """
    kps, links, _, _ = canonicalize_with_names(rows, aliases)
    return kps, links


def alias_map_for(aliases: Mapping[str, str] | None) -> Mapping[str, str]:
    # one table so chains across the built-in and the caller's entries resolve too
    return build_alias_map({**DEFAULT_ALIASES, **aliases}) if aliases else _DEFAULT_ALIAS_MAP


def clean_mentions(rows: pl.DataFrame) -> pl.DataFrame:
    """The mention rows canonicalization reads: seed_id, seed_discipline, kp_name,
    kp_discipline, extracted_at (null when absent); rows without seed or name dropped."""
    missing = [c for c in _REQUIRED if c not in rows.columns]
    if missing:
        raise ValueError(f"canonicalize_kps: missing columns {missing}")
    has_time = "extracted_at" in rows.columns
    time_dtype = rows.schema["extracted_at"] if has_time else pl.Datetime("us", "UTC")
    return (
        rows.select(
            pl.col("seed_id").cast(pl.Utf8),
            _clean_discipline("seed_discipline"),
            pl.col("kp_name").cast(pl.Utf8),
            _clean_discipline("kp_discipline"),
            (pl.col("extracted_at") if has_time else pl.lit(None, dtype=time_dtype)).alias("extracted_at"),
        )
        .filter(pl.col("seed_id").is_not_null() & pl.col("kp_name").is_not_null())
    )


def name_disciplines(df: pl.DataFrame) -> pl.DataFrame:
    """kp_name, disciplines (sorted list): every discipline a name is seen with."""
    return _disciplines_by(df, "kp_name").group_by("kp_name").agg(pl.col("d").sort().alias("disciplines"))


def canonicalize_with_names(
    rows: pl.DataFrame, aliases: Mapping[str, str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``canonicalize_kps``, the name map it used (kp_name, key, kp_id; names with an empty
    key left out) and the KPs' seed counts (``aggregate_kps``), which an increment
    (``core/kp_increment.py``) starts from."""
    return canonicalize_mentions(clean_mentions(rows), aliases)


def canonicalize_mentions(
    df: pl.DataFrame, aliases: Mapping[str, str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``canonicalize_with_names`` of mention rows cleaned already (``clean_mentions``): a
    caller that holds only the cleaned rows lets go of the raw ones first."""
    alias_map = alias_map_for(aliases)
    # Python string work happens once per distinct name, not per row; the row table is
    # joined once (name -> surface form, kp_id) and then only aggregated.
    names = df.get_column("kp_name").unique().sort().to_list()
    keys = [resolve_alias(canonical_key(n), alias_map) for n in names]
    name_disc = _disciplines_by(df, "kp_name")
    # disciplines per key as one join and group-by, not a Python step per (name, discipline)
    key_disc = (
        name_disc.join(pl.DataFrame({"kp_name": names, "key": keys}, schema={"kp_name": pl.Utf8, "key": pl.Utf8}),
                       on="kp_name")
        .group_by("key")
        .agg(pl.col("d").unique())
    )
    disc_of = dict(zip(key_disc.get_column("key").to_list(), key_disc.get_column("d").to_list(), strict=True))
    uniq_keys = sorted({k for k in keys if k})
    rep_of = near_duplicate_groups(uniq_keys, [disc_of.get(k, ()) for k in uniq_keys])
    kp_of_key = {k: kp_id_for(rep_of[k]) for k in uniq_keys}
    name_map = pl.DataFrame(
        {"kp_name": names, "key": keys, "kp_id": [kp_of_key.get(k) for k in keys]},  # None for an empty key
        schema={"kp_name": pl.Utf8, "key": pl.Utf8, "kp_id": pl.Utf8},
    ).drop_nulls("kp_id")
    rep_keys = pl.DataFrame(
        {"kp_id": list(kp_of_key.values()), "key": [rep_of[k] for k in kp_of_key]},
        schema={"kp_id": pl.Utf8, "key": pl.Utf8},
    ).unique("kp_id")
    kps, links, counts = aggregate_kps(df, name_map, rep_keys)
    return kps, links, name_map, counts


def aggregate_kps(df: pl.DataFrame, name_map: pl.DataFrame, rep_keys: pl.DataFrame
                  ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(knowledge_points, seed_kp_links, kp_counts) of the mentions ``df``
    (``clean_mentions``), each name given its KP by ``name_map`` (kp_name, kp_id) and each KP
    its key by ``rep_keys`` (kp_id, key). Every KP's row depends on its own mentions only.
    kp_counts (COUNT_SCHEMA) holds the distinct seeds per surface form and per discipline
    of each KP, which its name and primary discipline are chosen by (``add_kps``)."""
    time_dtype = df.schema["extracted_at"]
    surfaces_of = name_map.select("kp_name", "kp_id").with_columns(
        pl.Series("surface", [surface_form(n) for n in name_map.get_column("kp_name").to_list()], dtype=pl.Utf8))
    # The mention rows (4.5M at 1M seeds) are aggregated on integer codes, not strings (which
    # held 1.8 GB more at the peak): each code is the string's rank among its sorted distinct
    # values, so sorting codes sorts the strings, and every result is decoded at the end.
    kp_ids = surfaces_of.get_column("kp_id").unique().sort()
    surfaces = surfaces_of.get_column("surface").unique().sort()
    seed_ids = df.get_column("seed_id").unique().sort()
    names = surfaces_of.select("kp_name", kp=kp_ids.search_sorted(surfaces_of.get_column("kp_id")),
                               surface=surfaces.search_sorted(surfaces_of.get_column("surface")))
    disciplines = pl.concat([df.get_column(c).drop_nulls().unique() for c in ("kp_discipline", "seed_discipline")]
                            ).unique().sort()
    code_of = {d: i for i, d in enumerate(disciplines.to_list())}
    df = (df.select(pl.Series("seed", seed_ids.search_sorted(df.get_column("seed_id"))), "kp_name",
                    *(pl.col(f"{side}_discipline").replace_strict(code_of, default=None, return_dtype=pl.UInt32)
                      .alias(f"{side}_d") for side in ("kp", "seed")), "extracted_at")
          .join(names, on="kp_name", how="inner").drop("kp_name"))

    def decoded(frame: pl.DataFrame, **columns: pl.Series) -> pl.DataFrame:
        """``frame`` with each code column named in ``columns`` replaced by its string."""
        return frame.with_columns(values.gather(frame.get_column(name)).alias(name) for name, values in columns.items())

    def seeds_per(kind: str, value: pl.Expr, values: pl.Series) -> pl.DataFrame:
        """distinct seeds per (kp, value), sorted, the value decoded"""
        per = (df.lazy().select("kp", value.alias("value"), "seed").drop_nulls().unique()
               .group_by("kp", "value").agg(pl.len().cast(pl.Int64).alias("seeds")).sort("kp", "value")
               .collect(engine="streaming"))
        return decoded(per, value=values).select("kp", pl.lit(kind).alias("kind"), "value", "seeds")

    base = decoded(df.group_by("kp").agg(
        pl.col("seed").n_unique().cast(pl.Int64).alias("frequency"),
        pl.col("extracted_at").min().alias("first_seen"),
        pl.col("extracted_at").max().alias("last_seen"),
    ), kp=kp_ids).rename({"kp": "kp_id"})

    def listed(pairs: pl.DataFrame, values: pl.Series, out: str) -> pl.DataFrame:
        """kp_id, ``out``: the sorted distinct values of each KP, from (kp, value) code pairs"""
        return (decoded(pairs.unique().sort("kp", "value"), kp=kp_ids, value=values)
                .group_by("kp", maintain_order=True).agg(pl.col("value").alias(out)).rename({"kp": "kp_id"}))

    base = base.join(listed(df.select("kp", pl.col("surface").alias("value")), surfaces, "aliases"), on="kp_id",
                     how="left")
    kp_disciplines = listed(pl.concat([df.select("kp", pl.col(side).alias("value")).drop_nulls().unique()
                                       for side in ("kp_d", "seed_d")]), disciplines, "disciplines")
    # per KP: its discipline rows, then its surface rows (the kinds' order), each by value
    counts = decoded(pl.concat([seeds_per("discipline", pl.coalesce("kp_d", "seed_d"), disciplines),
                                seeds_per("surface", pl.col("surface"), surfaces)]).sort("kp", maintain_order=True),
                     kp=kp_ids).rename({"kp": "kp_id"})
    # sort seeds (fewer) rather than all pairs, then expand
    links = decoded(df.group_by("seed").agg(pl.col("kp").unique().sort()).sort("seed").explode("kp"),
                    seed=seed_ids, kp=kp_ids).select(pl.col("seed").alias("seed_id"), pl.col("kp").alias("kp_id"))
    return _assemble(base, kp_disciplines, counts, rep_keys, time_dtype), links, counts


COUNT_SCHEMA = {"kp_id": pl.Utf8, "kind": pl.Utf8, "value": pl.Utf8, "seeds": pl.Int64}


def _assemble(base: pl.DataFrame, disciplines: pl.DataFrame, counts: pl.DataFrame, rep_keys: pl.DataFrame,
              time_dtype: pl.DataType) -> pl.DataFrame:
    """knowledge_points rows from their parts: name = the surface form of most seeds (ties:
    shorter, then lexicographic), primary_discipline = the discipline of most seeds (ties
    lexicographic)."""
    def top(kind: str, tie: list[pl.Expr], out: str) -> pl.DataFrame:
        return (
            counts.filter(pl.col("kind") == kind)
            .sort([pl.col("kp_id"), -pl.col("seeds"), *tie])
            .group_by("kp_id", maintain_order=True)
            .agg(pl.col("value").first().alias(out))
        )

    name = top("surface", [pl.col("value").str.len_chars(), pl.col("value")], "name")
    primary = top("discipline", [pl.col("value")], "primary_discipline")
    return (
        base.join(rep_keys.select("kp_id", "key"), on="kp_id", how="left")
        .join(name, on="kp_id", how="left")
        .join(disciplines, on="kp_id", how="left")
        .join(primary, on="kp_id", how="left")
        .select(
            "kp_id",
            "name",
            "key",
            "frequency",
            pl.col("disciplines").fill_null([]).cast(pl.List(pl.Utf8)),
            "primary_discipline",
            pl.col("aliases").cast(pl.List(pl.Utf8)),
            pl.col("first_seen").cast(time_dtype),
            pl.col("last_seen").cast(time_dtype),
        )
        .sort("kp_id")
    )


def add_kps(old: pl.DataFrame, old_counts: pl.DataFrame, new: pl.DataFrame, new_counts: pl.DataFrame
            ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """KPs whose mentions grew by seeds they did not have (``new``, ``new_counts``: the
    aggregate of those mentions alone) from their rows before (``old``, ``old_counts``):
    equal to aggregating all their mentions at once, since the seeds are disjoint."""
    rows = pl.concat([old.select(new.columns).cast(new.schema), new])
    counts = (pl.concat([old_counts.cast(COUNT_SCHEMA), new_counts.cast(COUNT_SCHEMA)])
              .group_by("kp_id", "kind", "value").agg(pl.col("seeds").sum()).sort("kp_id", "kind", "value"))
    base = rows.group_by("kp_id").agg(
        pl.col("frequency").sum(),
        pl.col("aliases").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
        pl.col("first_seen").min(),
        pl.col("last_seen").max(),
    )
    disciplines = rows.group_by("kp_id").agg(
        pl.col("disciplines").list.explode(keep_nulls=False, empty_as_null=False).unique().sort())
    return _assemble(base, disciplines, counts, old.select("kp_id", "key"), new.schema["first_seen"]), counts
