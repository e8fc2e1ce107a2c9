"""Near-duplicate removal: MinHash-LSH over shingles of normalized text.

Text → units → shingles → MinHash → LSH candidates → confirmed pairs → clusters.

- **Units**: the text is normalized with :func:`~linksyn_dagster.core.dedup.normalize_text`
  (as the vectorized ``normalized_text_expr``); then every character of a script written
  without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) is one unit and every
  other whitespace-free run is one unit (a word). So an English text is a word sequence, a
  Chinese text a character sequence, and a mixed text both (``"DNA复制"`` → ``dna 复 制``):
  one CJK character carries about as much as a word.
- **Shingles**: all unit n-grams with n in ``ngram_range`` (default 1 and 2: word/character
  unigrams and bigrams). On short QA texts this is the measured sweet spot: bigrams alone
  lose too much to one changed word in a 15-word question, unigrams alone ignore word order.
  A text with units but fewer than ``ngram_range[0]`` of them is one shingle, the whole text.
- **MinHash/LSH**: ``num_perm`` affine permutations of 32-bit values (fixed ``seed``) applied in
  bulk to the shingle hashes (polars + numpy; deterministic for a given polars version,
  never stored; see :func:`minhash_signatures`), and LSH bands chosen for recall (see
  :func:`lsh_params`: a pair at exactly the threshold becomes a candidate with probability
  >= 0.99, where datasketch's default balance gives about 0.44 at 0.7). Candidates are the
  pairs of rows sharing a band key (:func:`lsh_candidates`, a join per band), each once.
- **Confirmation**: a candidate pair counts only if the estimated Jaccard similarity (share of
  equal MinHash values) is >= ``threshold``.
- **Clusters**: connected components of confirmed pairs (union-find). The representative is
  the cluster's first row in the given order, so callers order the input by preference
  (e.g. originals before rewrites); every other member is dropped.

Rows whose text is empty (after normalization) have no shingles: they are never clustered
and always kept (a quality check, not dedup, deals with empty text). A translation is not
a near-duplicate: different scripts share only numbers and formulas. Cost is linear in rows
plus candidate pairs, all of it in numpy and polars (no Python loop per row), and memory is
the signatures (``num_perm`` × 4 bytes a row) plus the band keys and the pairs.

:func:`source_copies` finds the items that copy one of their own source seeds: an item has
only a few, so their similarity is the exact Jaccard of the same shingles (:func:`pair_jaccard`),
with no index.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import polars as pl
from numba import njit, prange

from linksyn_dagster.core.dedup import normalized_text_expr

__all__ = [
    "DEFAULT_NGRAM_RANGE",
    "DEFAULT_NUM_PERM",
    "DEFAULT_THRESHOLD",
    "NEAR_DUP_SCHEMA",
    "SIGNATURE_DTYPE",
    "UNIT_PATTERN",
    "band_keys",
    "estimated_similarity",
    "lsh_candidates",
    "lsh_params",
    "lsh_signatures",
    "minhash_signatures",
    "near_dedup",
    "pair_jaccard",
    "shingle_hashes",
    "source_copies",
    "text_units",
    "units_expr",
]

# Scripts written without spaces between words: one character = one unit.
_CHAR_SCRIPTS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
UNIT_PATTERN = rf"[{_CHAR_SCRIPTS}]|[^\s{_CHAR_SCRIPTS}]+"
CHAR_UNIT_PATTERN = rf"^[{_CHAR_SCRIPTS}]$"

DEFAULT_THRESHOLD = 0.7
DEFAULT_NUM_PERM = 128
DEFAULT_NGRAM_RANGE = (1, 2)
DEFAULT_SEED = 1
LSH_RECALL = 0.99

NEAR_DUP_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "cluster_id": pl.Int64(),  # 0, 1, ... in the order of the clusters' representatives
    "representative_id": pl.String(),  # the kept member of the cluster
    "similarity": pl.Float64(),  # estimated Jaccard with the representative
    "linked_to": pl.String(),  # the member it was linked to most strongly (often the representative)
    "linked_similarity": pl.Float64(),  # estimated Jaccard with linked_to (>= threshold)
    "reason": pl.String(),  # "near_duplicate"
}

_UNIT_HASH_SEED = 0x5EED
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant of the polynomial rolling hash
_WHOLE_TAG = np.uint64(0xA5A5_5A5A_C3C3_3C3C)


# --------------------------------------------------------------------------- units


def units_expr(col: str) -> pl.Expr:
    """The units (words, CJK characters) of a text column as ``list[str]`` (null → ``[]``)."""
    return normalized_text_expr(col).str.extract_all(UNIT_PATTERN).fill_null([])


def text_units(text: str | None) -> list[str]:
    """Python convenience for one text (same rules as :func:`units_expr`)."""
    frame = pl.DataFrame({"t": [text]}, schema={"t": pl.String})
    return frame.select(units_expr("t")).item().to_list()


def _flatten(units: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Stable 64-bit hash of every unit, flattened row after row, and the row offsets."""
    lengths = units.list.len().fill_null(0).to_numpy().astype(np.int64)
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = units.explode().drop_nulls()
    if flat.len() != offsets[-1]:  # pragma: no cover - extract_all yields no null elements
        raise AssertionError("unit flattening lost elements")
    hashes = flat.hash(seed=_UNIT_HASH_SEED).to_numpy().astype(np.uint64, copy=False)
    return hashes, offsets


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: spreads the rolling hash over all 64 bits."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _ngrams(hashes: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, position in row, hash) of every n-gram that lies inside one row."""
    total = hashes.size
    if n < 1 or total < n:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.uint64)
    m = total - n + 1
    acc = hashes[:m].copy()
    with np.errstate(over="ignore"):
        for k in range(1, n):
            acc = acc * _MULT + hashes[k : k + m]
    lengths = np.diff(offsets)
    row = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)[:m]
    pos = np.arange(m, dtype=np.int64) - offsets[row]
    valid = pos + n <= lengths[row]
    return row[valid], pos[valid], _mix(acc[valid] ^ np.uint64(n))


def _whole_text_hashes(units: pl.Series) -> np.ndarray:
    """One hash per row for the whole unit sequence (a different key space from n-grams)."""
    joined = units.list.join(" ").hash(seed=_UNIT_HASH_SEED).to_numpy().astype(np.uint64, copy=False)
    return _mix(joined ^ _WHOLE_TAG)


def shingle_hashes(
    units: pl.Series, ngram_range: tuple[int, int] = DEFAULT_NGRAM_RANGE
) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of every row: ``(row, hash)`` sorted by row.

    Shingles are the unit n-grams for every n in ``ngram_range`` (inclusive); a row with
    units but fewer than ``ngram_range[0]`` of them gets one shingle, its whole text.
    Hashes are deterministic for a given polars version (they are not meant to be stored).
    """
    rows, values = zip(*_shingle_parts(units, ngram_range), strict=True)
    row = np.concatenate(rows)
    value = np.concatenate(values)
    order = np.argsort(row, kind="stable")
    return row[order], value[order]


def _shingle_parts(units: pl.Series, ngram_range: tuple[int, int]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The shingles of :func:`shingle_hashes` a part at a time, ``(row, hash)`` each sorted
    by row: the n-grams of each n, then the whole texts of the rows shorter than the least n."""
    low, high = ngram_range
    if not 1 <= low <= high:
        raise ValueError(f"ngram_range must satisfy 1 <= low <= high, got {ngram_range}")
    hashes, offsets = _flatten(units)
    for n in range(low, high + 1):
        row, _, value = _ngrams(hashes, offsets, n)
        yield row, value
    lengths = np.diff(offsets)
    short = np.flatnonzero((lengths > 0) & (lengths < low))
    yield short, (_whole_text_hashes(units.gather(short)) if short.size else np.zeros(0, dtype=np.uint64))


def pair_jaccard(left: pl.Series, right: pl.Series,
                 ngram_range: tuple[int, int] = DEFAULT_NGRAM_RANGE) -> np.ndarray:
    """The exact Jaccard similarity of the shingle sets (:func:`shingle_hashes`) of
    ``left[i]`` and ``right[i]`` (unit lists), for every i: 0.0 when either has no units."""
    if left.len() != right.len():
        raise ValueError(f"left has {left.len()} rows, right {right.len()}")
    bounds, values = [], []
    for units in (left, right):
        rows, hashes = shingle_hashes(units, ngram_range)
        bounds.append(np.searchsorted(rows, np.arange(units.len() + 1)))
        values.append(hashes)
    out = np.zeros(left.len(), dtype=np.float64)
    _pair_jaccard(bounds[0], values[0], bounds[1], values[1], out)
    return out


@njit(parallel=True, cache=True)
def _pair_jaccard(bounds_a: np.ndarray, values_a: np.ndarray, bounds_b: np.ndarray, values_b: np.ndarray,
                  out: np.ndarray) -> None:
    """``out[i]``: the Jaccard similarity of the sets ``values_a[bounds_a[i]:bounds_a[i+1]]``
    and ``values_b[bounds_b[i]:bounds_b[i+1]]`` (0 when either is empty)."""
    for i in prange(out.size):
        a = np.sort(values_a[bounds_a[i]:bounds_a[i + 1]])
        b = np.sort(values_b[bounds_b[i]:bounds_b[i + 1]])
        if a.size == 0 or b.size == 0:
            continue
        x, y, shared, union = 0, 0, 0, 0
        while x < a.size or y < b.size:  # a merge of the two sorted runs, each value once
            if y == b.size or (x < a.size and a[x] < b[y]):
                value = a[x]
            else:
                value = b[y]
            in_a, in_b = False, False
            while x < a.size and a[x] == value:
                x += 1
                in_a = True
            while y < b.size and b[y] == value:
                y += 1
                in_b = True
            union += 1
            if in_a and in_b:
                shared += 1
        out[i] = shared / union


PAIR_SLICE = 50_000  # (item, seed) pairs scored at once by source_copies


def source_copies(items: pl.DataFrame, seeds: pl.DataFrame, *, threshold: float,
                  ngram_range: tuple[int, int] = DEFAULT_NGRAM_RANGE) -> pl.DataFrame:
    """The items that are near-copies of one of their own source seeds.

    ``items``: ``qa_id``, ``source_seed_ids`` (list) and ``text``; ``seeds``: ``seed_id`` and
    ``text`` (question and answer, shingled as the release dedup does). An item is a copy
    when the exact Jaccard similarity of its shingles and a source seed's is at least
    ``threshold``. Only an item's own seeds are compared (a few per item), so no index is
    needed. Returns ``qa_id``, ``seed_id`` (the most similar copied seed) and ``similarity``.
    """
    pairs = (items.select("qa_id", "text", pl.col("source_seed_ids").alias("seed_id")).explode("seed_id")
             .drop_nulls("seed_id")
             .join(seeds.select("seed_id", pl.col("text").alias("seed_text")), on="seed_id"))
    if pairs.is_empty():
        return pl.DataFrame(schema={"qa_id": pl.Utf8, "seed_id": pl.Utf8, "similarity": pl.Float64})
    # a slice of pairs at a time: every pair is scored on its own, and the shingle tables of
    # all pairs at once (800k pairs at 1M seeds) held 18 GB at the release's peak
    similarity = np.zeros(pairs.height, dtype=np.float64)
    for start in range(0, pairs.height, PAIR_SLICE):
        units = pairs.slice(start, PAIR_SLICE).select(units_expr("text").alias("a"), units_expr("seed_text").alias("b"))
        similarity[start:start + units.height] = pair_jaccard(units.get_column("a"), units.get_column("b"),
                                                              ngram_range)
    return (pairs.select("qa_id", "seed_id").with_columns(similarity=pl.Series(similarity))
            .filter(pl.col("similarity") >= threshold)
            .sort(["qa_id", "similarity", "seed_id"], descending=[False, True, False])
            .unique("qa_id", keep="first", maintain_order=True))


# --------------------------------------------------------------------------- MinHash


def lsh_params(threshold: float, num_perm: int, recall: float = LSH_RECALL) -> tuple[int, int]:
    """LSH bands ``(b, r)`` with ``b * r <= num_perm`` such that a pair with Jaccard exactly
    ``threshold`` becomes a candidate with probability ``1 - (1 - t^r)^b >= recall``.

    The largest such ``r`` (fewest false candidates), with the smallest ``b`` that reaches
    the recall; if no ``r`` does, ``r = 1`` with every permutation a band.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    for r in range(num_perm, 0, -1):
        p = threshold**r
        if p <= 0.0:
            continue
        b = math.ceil(math.log(1.0 - recall) / math.log1p(-p)) if p < 1.0 else 1
        if b * r <= num_perm:
            return max(b, 1), r
    return num_perm, 1


SIGNATURE_DTYPE = np.dtype(np.uint32)
_SLOT_EMPTY = np.uint32(0xFFFF_FFFF)  # a slot no shingle reached: a row without units
SIGNATURE_ROWS = 50_000  # rows whose shingles are made at once (a row's signature is its own)
PAIR_CHUNK = 1 << 16  # candidate pairs compared at once (8 MB of slot comparisons at 128 permutations)


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` of ``num_perm`` affine maps ``h -> a*h + b mod 2^32``; ``a`` odd, so each
    map is a bijection of 32-bit values (the permutation adds no collisions)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1 << 31, num_perm, dtype=np.uint64).astype(np.uint32) * np.uint32(2) + np.uint32(1)
    b = rng.integers(0, 1 << 32, num_perm, dtype=np.uint64).astype(np.uint32)
    return a, b


def minhash_signatures(
    units: pl.Series,
    *,
    ngram_range: tuple[int, int] = DEFAULT_NGRAM_RANGE,
    num_perm: int = DEFAULT_NUM_PERM,
    seed: int = DEFAULT_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """The MinHash signature of every row of ``units``: ``(signatures, has_shingles)``.

    ``signatures[i, k]`` is the least image of row i's shingles (the upper 32 bits of their
    :func:`shingle_hashes`, already mixed) under the k-th affine permutation; a row without
    units has no shingles (``has_shingles`` False, every slot 2^32-1). The shingles of
    :data:`SIGNATURE_ROWS` rows at a time, each part in one compiled pass (rows in parallel),
    so memory is the signatures and one slice's shingles.
    """
    a, b = _permutations(num_perm, seed)
    signatures = np.full((units.len(), num_perm), _SLOT_EMPTY, dtype=SIGNATURE_DTYPE)
    for start in range(0, units.len(), SIGNATURE_ROWS):
        part = units.slice(start, SIGNATURE_ROWS)
        bounds = np.arange(part.len() + 1)
        for rows, values in _shingle_parts(part, ngram_range):  # a part at a time: no sort of all shingles
            _min_images((values >> np.uint64(32)).astype(np.uint32), np.searchsorted(rows, bounds), a, b,
                        signatures[start:start + part.len()])
    return signatures, units.list.len().fill_null(0).to_numpy() > 0


@njit(parallel=True, cache=True)
def _min_images(h: np.ndarray, bounds: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out[i, k]``: the least ``a[k]*h + b[k] mod 2^32`` over row i's values
    ``h[bounds[i]:bounds[i+1]]`` (rows without values keep what ``out`` holds)."""
    for i in prange(out.shape[0]):
        for j in range(bounds[i], bounds[i + 1]):
            value = h[j]
            for k in range(a.size):
                image = np.uint32(a[k] * value + b[k])
                if image < out[i, k]:
                    out[i, k] = image


def estimated_similarity(signatures: np.ndarray, left: np.ndarray, right: np.ndarray,
                         others: np.ndarray | None = None) -> np.ndarray:
    """Estimated Jaccard of row pairs: the share of equal MinHash values of
    ``signatures[left]`` and ``(others if given else signatures)[right]``; a slice of
    :data:`PAIR_CHUNK` pairs at a time."""
    others = signatures if others is None else others
    out = np.zeros(left.size, dtype=np.float64)
    for start in range(0, left.size, PAIR_CHUNK):
        stop = start + PAIR_CHUNK
        out[start:stop] = (signatures[left[start:stop]] == others[right[start:stop]]).mean(axis=1)
    return out


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """LSH band keys, ``(len(signatures), bands)``: band j hashes slots ``j*rows`` to
    ``(j+1)*rows - 1`` into 64 bits. Two rows share a key when those slots are equal (or,
    about once in 2^64, by chance: candidates are confirmed on their signatures anyway)."""
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"{bands} bands of {rows} rows need {bands * rows} slots, signatures have "
                         f"{signatures.shape[1]}")
    keys = np.zeros((signatures.shape[0], bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(bands):
            acc = np.zeros(signatures.shape[0], dtype=np.uint64)
            for slot in range(j * rows, (j + 1) * rows):
                acc = _mix(acc * _MULT + signatures[:, slot].astype(np.uint64))
            keys[:, j] = acc
    return keys


def lsh_signatures(units: pl.Series, *, threshold: float, ngram_range: tuple[int, int] = DEFAULT_NGRAM_RANGE,
                   num_perm: int = DEFAULT_NUM_PERM, seed: int = DEFAULT_SEED
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(signatures, rows, keys)``: the :func:`minhash_signatures` of ``units``, the rows
    that have shingles, and their band keys (:func:`band_keys`, bands of :func:`lsh_params`
    for ``threshold``): what :func:`lsh_candidates` pairs."""
    signatures, has = minhash_signatures(units, ngram_range=ngram_range, num_perm=num_perm, seed=seed)
    rows = np.flatnonzero(has)
    return signatures, rows, band_keys(signatures[rows], *lsh_params(threshold, num_perm))


def lsh_candidates(keys: np.ndarray, ids: np.ndarray, others: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs of LSH: ``(left, right)`` id pairs that share a key in some band
    (:func:`band_keys`), each pair once, sorted. Without ``others``: pairs within ``ids``
    with left < right; with ``others = (other_keys, other_ids)``: pairs of an id with an
    other id."""
    n_right = int((others[1] if others is not None else ids).max(initial=-1)) + 1
    codes: list[np.ndarray] = []
    for j in range(keys.shape[1]):
        left = pl.DataFrame({"id": ids, "key": keys[:, j]})
        if others is None:
            left = left.filter(pl.len().over("key") > 1)
            right = left
        else:
            right = pl.DataFrame({"id": others[1], "key": others[0][:, j]})
        pairs = left.join(right, on="key", suffix="_r")
        if others is None:
            pairs = pairs.filter(pl.col("id") < pl.col("id_r"))
        if pairs.height:
            codes.append(pairs.get_column("id").to_numpy().astype(np.int64) * n_right
                         + pairs.get_column("id_r").to_numpy().astype(np.int64))
    if not codes:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    unique = np.unique(np.concatenate(codes))
    return unique // n_right, unique % n_right


# --------------------------------------------------------------------------- clustering


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Root of every row after union-find over the pairs; a root is its component's
    smallest row index, so the representative is the first row in the given order."""
    parent: dict[int, int] = {}

    def find(i: int) -> int:
        root = i
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(i, i) != root:  # path compression
            parent[i], i = root, parent[i]
        return root

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.arange(n, dtype=np.int64)
    for i in parent:
        roots[i] = find(i)
    return roots


def near_dedup(
    df: pl.DataFrame,
    text_cols: Sequence[str],
    id_col: str,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    num_perm: int = DEFAULT_NUM_PERM,
    ngram_range: tuple[int, int] = DEFAULT_NGRAM_RANGE,
    seed: int = DEFAULT_SEED,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep one representative per cluster of near-duplicate rows.

    The text of a row is its ``text_cols`` joined with spaces (nulls skipped). Returns
    ``(kept, dropped)``: ``kept`` has the input columns and the surviving rows in input order;
    ``dropped`` follows :data:`NEAR_DUP_SCHEMA`, one row per removed row, in input order.
    """
    if not text_cols:
        raise ValueError("near_dedup: text_cols is empty")
    missing = [c for c in (*text_cols, id_col) if c not in df.columns]
    if missing:
        raise ValueError(f"near_dedup: missing columns {missing}")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"near_dedup: threshold must be in (0, 1), got {threshold}")
    n = df.height
    empty = pl.DataFrame(schema=NEAR_DUP_SCHEMA)
    if n == 0:
        return df, empty

    text = pl.concat_str([pl.col(c).cast(pl.String) for c in text_cols], separator=" ", ignore_nulls=True)
    units = df.select(text.alias("__text")).select(units_expr("__text")).to_series()
    signatures, rows, keys = lsh_signatures(units, threshold=threshold, ngram_range=ngram_range, num_perm=num_perm,
                                            seed=seed)
    left_a, right_a = lsh_candidates(keys, rows)
    similarity = estimated_similarity(signatures, left_a, right_a)
    confirmed = similarity >= threshold
    left_a, right_a, similarity = left_a[confirmed], right_a[confirmed], similarity[confirmed]
    if not left_a.size:
        return df, empty

    root = _components(n, left_a, right_a)
    dropped_rows = np.flatnonzero(root != np.arange(n))
    # strongest link of every dropped row (ties: the earliest partner)
    partner = np.concatenate([left_a, right_a])
    member = np.concatenate([right_a, left_a])
    sim2 = np.concatenate([similarity, similarity])
    order = np.lexsort((partner, -sim2, member))
    member, partner, sim2 = member[order], partner[order], sim2[order]
    first = np.unique(member, return_index=True)[1]
    best_partner = dict(zip(member[first].tolist(), partner[first].tolist(), strict=True))
    best_sim = dict(zip(member[first].tolist(), sim2[first].tolist(), strict=True))

    representatives = np.unique(root[dropped_rows])
    cluster_of = {int(r): k for k, r in enumerate(representatives.tolist())}
    ids = df.get_column(id_col).cast(pl.String).to_list()
    rep = root[dropped_rows]
    rep_similarity = estimated_similarity(signatures, dropped_rows, rep)
    dropped = pl.DataFrame(
        {
            "id": [ids[i] for i in dropped_rows.tolist()],
            "cluster_id": [cluster_of[r] for r in rep.tolist()],
            "representative_id": [ids[r] for r in rep.tolist()],
            "similarity": rep_similarity.tolist(),
            "linked_to": [ids[best_partner[i]] for i in dropped_rows.tolist()],
            "linked_similarity": [best_sim[i] for i in dropped_rows.tolist()],
            "reason": ["near_duplicate"] * dropped_rows.size,
        },
        schema=NEAR_DUP_SCHEMA,
    )
    keep = np.ones(n, dtype=bool)
    keep[dropped_rows] = False
    return df.filter(pl.Series(keep)), dropped
