"""Scale benchmark: the non-LLM path of the pipeline at N seeds, through Dagster. Prints JSON.

For each N (``--n 10000 100000 1000000``) a generator writes, into a fresh data directory:

* N seed questions as JSONL files of at most 50,000 rows (mixed disciplines, as a real
  dump would be), over the 22 discipline partitions of ``core/taxonomy.py`` with unequal
  shares (∝ 1/rank^0.6), 4 choices each, about 5% Chinese;
* the knowledge points an extraction model would give each seed: 3-6 per seed (uniform),
  85% drawn from the seed discipline's own KPs and 15% from all KPs, both Zipf-like by
  popularity (Zipf-Mandelbrot, P(rank r) ∝ (r + 20)^-1.1: a power-law tail with a
  realistic head, the most popular KP of a discipline in about 4% of its seeds rather
  than in half of them as pure Zipf would put it), over a vocabulary of N/2 KP concepts
  of 1-3 pseudo-words; 15% of mentions
  are surface variants (Title Case, a plural, a leading "the") that canonicalization must
  merge back, and 10% carry the seed's discipline instead of the KP's home discipline;
* an evaluation set of 15,000 items (fixed: evaluation sets do not grow with the seeds),
  0.3% of the seeds (at most 3,000) among them, for decontamination.

Then every stage runs as Dagster materializations (the same assets, IO manager and
resources as ``linksyn run``, on a persistent instance in the data directory), each stage
in its own process so its peak memory is its own: ``seed_qa``, ``seed_kps``, ``synthesized_qa``,
``enhanced_qa`` and ``verified_qa`` once per discipline partition, ``kp_paths`` once per start discipline
the walk plan gave paths to, the global ones (``walk_plan`` among them) once. ``--paths-per-seed`` (0.25) sets
``LINKSYN_WALK__PATHS_TOTAL``, so the release grows with N too.

Measured per stage: wall seconds of its materializations (Dagster's own per-run cost
included: about a second per run, so 22 seconds for a partitioned stage even on tiny data),
the CPU seconds of the process running them (all its threads; not Neo4j's: on a shared
machine CPU time is the steadier measure, and a stage waiting on Neo4j shows wall >> CPU),
and the peak RSS of the process that ran them (VmHWM; it includes about 300 MB of imported
Dagster/polars/litellm). The Neo4j server's own resident memory after ``kp_graph`` and
``walk_plan`` is reported beside them. Per stage, the growth exponent between successive N
is the slope of log(time) over log(N): 1 is linear, N log N shows as about 1.1-1.2 over a
decade, 2 is quadratic.

LLM stages: the assets ``seed_kps``, ``synthesized_qa``, ``enhanced_qa`` and
``verified_qa`` run as they are, prompts built, replies turned into rows,
``llm_usage``/``llm_failures`` written, but the ``llm`` resource is replaced by an
in-process stub whose client answers every request at once from the generator (the planned
KPs of each seed; for paths a question made from a hash of the path id, with planted exact
and near duplicates and benchmark copies so that dedup and decontamination have work; the
item is written at the level its prompt asks for 7 times in 10, else at another, and
carries it in its question; the judge reads that level, off by one 2 times in 10, so the
closed loop reads on, rewrites and drops as with a model; the judge and the verifier pick
the key, marked in its choice's text, 9 times in 10). Neither option of the brief keeps the
measure to our own overhead: the scripted HTTP server would add litellm's ~2.5 ms of CPU
per call and the SQLite result store (one million calls is 40 minutes of litellm alone,
measured separately by ``benchmarks/llm_fanout.py``) and would choose the KPs itself, so
the KP distribution would not be the one generated; writing the assets' tables directly
would skip prompt building and row assembly, which are ours. The stub skips only the LLM
client.

``--skip-graph-load`` leaves Neo4j out: ``kp_graph`` is not run, the CSR cache that
``walk_plan`` reads is written from DuckDB's ``knowledge_points`` and ``kp_cooccurrence``
(so the walk sees the same graph), and a graph stub answers the version and takes the
``visits`` write. Use it when the loader is too slow at a size; its time is then not in
the table.

``--delta D`` (with one ``--n N``) measures an increment instead: the generator draws
N + D×N seeds from the distribution above and holds the D×N back as files of their own
(so they mix disciplines, and most of them touch KPs the first N already have: the counts
are in ``generated``); every stage runs on the N (the full run), the new files are added to
the seed directory and every stage runs again (the increment: each stage does whatever it
does on a re-run, nothing is skipped for it), then the incremented data directory is moved
aside and every stage runs on all the seeds in an empty one at the same path, with its own
Neo4j (the fresh run; the same path because tables hold the paths of the seed and
evaluation files). The walk settings are those of N in all three. Printed: ``full`` and ``increment`` (wall and CPU seconds summed over the stages,
the largest peak RSS of a stage's process), ``increment_vs_full_wall``, the same over the
non-LLM stages (``non_llm_stages``), per stage ``stages.<asset>.{full,increment}`` and
``stages.<asset>.increment_vs_full_wall``, and ``equal_to_fresh_run``. What is compared for
it: every DuckDB table written only by non-LLM stages (its schema, row count and an
order-independent digest of DuckDB's row hashes: every column of every row, floats to the
bit), and the whole Neo4j graph (per label set, every node with all its properties; per
relationship type, every relationship with its properties and the kp_id/seed_id/name of
both ends; the KP nodes' ``visits``, which ``walk_plan`` writes, as a category of their
own). Left out: columns and properties holding a time (a KP's ``first_seen``/``last_seen``,
the graph's ``loaded_at``), which no two runs share. ``equality.by_stage`` says which stage's
tables differ. ``equal_to_fresh_run`` counts the stages up to the graph (``seed_qa``,
``knowledge_points``, ``kp_graph`` and the graph but the KPs' ``visits``): from ``walk_plan``
on, an increment keeps the previous plan's paths whose KPs remain, so that their LLM answers
are not paid again, and new walks start from their coverage; a fresh run walks everything
anew. Those stages' equality is ``equality.path_stages_equal``, reported, not counted. The LLM stages' tables are reported beside (``equality.llm_stage_tables``)
but not counted: their ``llm_usage`` rows record each run's calls, so an increment holds more.

Usage: python benchmarks/scale.py [--n 10000 100000 1000000] [--paths-per-seed 0.25]
[--work-dir DIR] [--skip-graph-load] [--stages all] [--keep] [--delta D]
Environment: the LINKSYN_NEO4J__* settings of the local Neo4j it starts (give it ports of
its own: LINKSYN_NEO4J__BOLT_PORT, LINKSYN_NEO4J__HTTP_PORT); LINKSYN_DATA_DIR is set per N.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("seed_qa", "seed_kps", "knowledge_points", "kp_graph", "walk_plan", "kp_paths", "synthesized_qa",
          "enhanced_qa", "verified_qa", "linkqa_dataset", "distribution_report")
LLM_STAGES = {"seed_kps", "synthesized_qa", "enhanced_qa", "verified_qa"}  # their llm client is the stub
PER_DISCIPLINE = {"seed_qa", "seed_kps"}
PER_START_DISCIPLINE = {"kp_paths", "synthesized_qa", "enhanced_qa", "verified_qa"}
SEEDS_PER_FILE = 50_000
BENCHMARK_ITEMS = 15_000
ZIPF_S = 1.1
ZIPF_OFFSET = 20
CROSS_SHARE = 0.15
SYLLABLES = ("ab ac ad al am an ar as at ba be bi bo bu ca ce ci co cu da de di do du el em en er es et fa fe fi "
             "fo ga ge gi go ha he hi ho id il im in ir is it ka ke ki ko la le li lo lu ma me mi mo mu na ne ni "
             "no nu ob oc od ol om on or os pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu ul um un "
             "ur us va ve vi vo za ze zi zo").split()
HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 2000)]


def _log(message: str) -> None:
    print(f"[scale bench] {message}", file=sys.stderr, flush=True)


def _vm(field: str, pid: int | str = "self") -> float | None:
    """VmHWM/VmRSS of a process in MB (None when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# ------------------------------------------------------------------------------- generator


def _distinct_joins(rng: np.random.Generator, pieces: np.ndarray, count: int,
                    draw_lengths: Callable[[int], np.ndarray], longest: int, sep: str) -> list[str]:
    """``count`` distinct strings of pieces drawn uniformly from ``pieces`` and joined by
    ``sep``, as many pieces each as ``draw_lengths`` (at most ``longest``) draws; drawn
    ``count`` at a time until that many are distinct, in the order first drawn."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        lengths = draw_lengths(count)
        picks = rng.integers(0, len(pieces), (count, longest))
        for length, row in zip(lengths.tolist(), picks.tolist(), strict=True):
            joined = sep.join(pieces[row[:length]])
            if joined not in seen:
                seen.add(joined)
                out.append(joined)
                if len(out) == count:
                    break
    return out


def _words(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` distinct pseudo-words of 2-5 syllables (some 8+ letters, so the single-edit
    near-duplicate rule of canonicalization has work)."""
    words = _distinct_joins(rng, np.array(SYLLABLES), count, lambda n: rng.integers(2, 6, n), 5, "")
    return np.array(words, dtype=object)


def _zipf_cdf(size: int) -> np.ndarray:
    weights = (np.arange(1, size + 1, dtype=np.float64) + ZIPF_OFFSET) ** -ZIPF_S
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def _concept_names(rng: np.random.Generator, words: np.ndarray, count: int) -> list[str]:
    return _distinct_joins(rng, words, count, lambda n: rng.choice([1, 2, 3], size=n, p=[0.2, 0.55, 0.25]), 3, " ")


def generate(n: int, out: Path, seed: int = 7, increment: int = 0) -> dict[str, Any]:
    """Seed files, the KP plan (what extraction returns per seed) and an evaluation set.

    With ``increment`` > 0, ``n + increment`` seeds are drawn from the same distribution
    (so the new ones mix disciplines and most touch KPs the first ``n`` already have) and
    the ``increment`` of them are written to ``<out>/increment/`` instead of ``<out>/seeds``,
    under names that sort after the first ``n``'s files; the KP plan and the evaluation set
    cover all of them."""
    from linksyn_dagster.core.seeds import seed_id_for
    from linksyn_dagster.core.taxonomy import DISCIPLINES, get_taxonomy

    started = time.perf_counter()
    base_n, n = n, n + increment
    rng = np.random.default_rng(seed)
    disciplines = list(DISCIPLINES)
    d = len(disciplines)
    share = 1.0 / np.arange(1, d + 1) ** 0.6
    share = share[rng.permutation(d)]
    share /= share.sum()
    taxonomy = get_taxonomy()
    subjects = [taxonomy.subjects_of(x) or [x] for x in disciplines]
    words = _words(rng, 20_000)

    # KP vocabulary: concepts in global popularity order, each with a home discipline
    vocabulary = max(2_000, n // 2)
    names = np.array(_concept_names(rng, words, vocabulary), dtype=object)
    home = rng.choice(d, vocabulary, p=share)
    global_cdf = _zipf_cdf(vocabulary)
    local_ids = [np.flatnonzero(home == k) for k in range(d)]
    local_cdf = [_zipf_cdf(max(1, len(ids))) for ids in local_ids]

    seed_disc = rng.choice(d, n, p=share)
    k_per_seed = rng.integers(3, 7, n)
    owner = np.repeat(np.arange(n), k_per_seed)
    mention_disc = seed_disc[owner]
    concept = np.empty(owner.size, dtype=np.int64)
    cross = rng.random(owner.size) < CROSS_SHARE
    concept[cross] = np.minimum(np.searchsorted(global_cdf, rng.random(int(cross.sum()))), vocabulary - 1)
    for k in range(d):
        mask = ~cross & (mention_disc == k)
        ids = local_ids[k] if len(local_ids[k]) else np.arange(vocabulary)
        cdf = local_cdf[k] if len(local_ids[k]) else global_cdf
        concept[mask] = ids[np.minimum(np.searchsorted(cdf, rng.random(int(mask.sum()))), len(ids) - 1)]
    mentions = (pl.DataFrame({"seed": owner, "concept": concept, "variant": rng.random(owner.size),
                              "own_label": rng.random(owner.size) < 0.10})
                .unique(["seed", "concept"], keep="first", maintain_order=True))
    base_name = pl.Series(names[mentions.get_column("concept").to_numpy()], dtype=pl.Utf8)
    v = pl.col("variant")
    mentions = mentions.with_columns(name=base_name).with_columns(
        kp_name=pl.when(v < 0.06).then(pl.col("name").str.to_titlecase())
        .when(v < 0.11).then(pl.col("name") + "s")
        .when(v < 0.15).then(pl.lit("the ") + pl.col("name"))
        .otherwise(pl.col("name")),
        kp_discipline=pl.Series(np.array(disciplines, dtype=object)[
            np.where(mentions.get_column("own_label").to_numpy(), seed_disc[mentions.get_column("seed").to_numpy()],
                     home[mentions.get_column("concept").to_numpy()])], dtype=pl.Utf8),
    )

    # seed questions: two of the seed's KP names in a sentence of random words
    first_kps = mentions.group_by("seed", maintain_order=True).agg(pl.col("name").head(2)).sort("seed")
    kp_pairs = first_kps.get_column("name").to_list()
    chinese = rng.random(n) < 0.05
    q_len = rng.integers(14, 32, n)
    q_words = rng.integers(0, len(words), (n, 32))
    c_words = rng.integers(0, len(words), (n, 4, 3))
    answers = np.array(list("ABCD"))[rng.integers(0, 4, n)]
    difficulty = rng.integers(1, 6, n)
    questions, choices, seed_ids = [], [], []
    for i in range(n):
        if chinese[i]:
            chars = rng.integers(0, len(HAN), int(q_len[i]) * 2)
            text = "关于" + "、".join(kp_pairs[i]) + "，" + "".join(HAN[c] for c in chars) + "？"
        else:
            body = " ".join(words[q_words[i, : q_len[i]]])
            text = f"Which statement about {' and '.join(kp_pairs[i])} holds when {body}?"
        opts = [" ".join(words[c_words[i, j, : 1 + (i + j) % 3]]) + f" {j}" for j in range(4)]
        questions.append(text)
        choices.append(opts)
        seed_ids.append(seed_id_for(text, opts, answers[i]))
    seeds = pl.DataFrame({
        "id": np.arange(n), "question": questions, "choices": choices, "answer": answers,
        "discipline": np.array(disciplines, dtype=object)[seed_disc],
        "subject": [subjects[k][i % len(subjects[k])] for i, k in enumerate(seed_disc.tolist())],
        "difficulty": difficulty,
    }, schema_overrides={"discipline": pl.Utf8, "subject": pl.Utf8})

    seed_dir = out / "seeds"
    seed_dir.mkdir(parents=True, exist_ok=True)
    order = rng.permutation(n)  # files mix disciplines
    for f, start in enumerate(range(0, base_n, SEEDS_PER_FILE)):
        seeds[order[start:min(start + SEEDS_PER_FILE, base_n)]].write_ndjson(seed_dir / f"seeds-{f:04d}.jsonl")
    extra: dict[str, Any] = {}
    if increment:
        new_dir = out / "increment"
        new_dir.mkdir(parents=True, exist_ok=True)
        for f, start in enumerate(range(base_n, n, SEEDS_PER_FILE)):
            seeds[order[start:start + SEEDS_PER_FILE]].write_ndjson(new_dir / f"seeds-inc-{f:04d}.jsonl")
        is_new = np.zeros(n, dtype=bool)
        is_new[order[base_n:]] = True
        seed_col = mentions.get_column("seed").to_numpy()
        concepts = mentions.get_column("concept").to_numpy()
        old_concepts = np.unique(concepts[~is_new[seed_col]])
        touching = mentions.filter(pl.Series(is_new[seed_col]) & pl.Series(np.isin(concepts, old_concepts)))
        extra = {"increment_seeds": increment,
                 "increment_seeds_touching_existing_kps": touching.get_column("seed").n_unique(),
                 "increment_kp_concepts_new": int(np.setdiff1d(concepts[is_new[seed_col]], old_concepts).size),
                 "increment_disciplines": int(np.unique(seed_disc[is_new]).size)}

    plan = (mentions.with_columns(seed_id=pl.Series(seed_ids).gather(mentions.get_column("seed")))
            .group_by("seed_id")
            .agg(pl.struct(name="kp_name", discipline="kp_discipline").alias("knowledge_points")))
    plan.write_parquet(out / "kp_plan.parquet")

    # evaluation set: a few seeds copied verbatim, the rest new questions
    copied = rng.choice(n, min(3_000, int(n * 0.003)), replace=False)
    fresh = BENCHMARK_ITEMS - copied.size
    bench_words = rng.integers(0, len(words), (fresh, 24))
    bench = pl.concat([
        seeds[copied].select("question", "choices", "answer", "subject"),
        pl.DataFrame({"question": [" ".join(words[r]) + "?" for r in bench_words],
                      "choices": [[f"option {j} {r[j]}" for j in range(4)] for r in bench_words.tolist()],
                      "answer": np.array(list("ABCD"))[rng.integers(0, 4, fresh)],
                      "subject": ["high_school_physics"] * fresh}),
    ])
    bench_dir = out / "benchmarks"
    bench_dir.mkdir(parents=True, exist_ok=True)
    bench.write_ndjson(bench_dir / "eval.jsonl")
    return {"seeds": base_n, "seed_files": math.ceil(base_n / SEEDS_PER_FILE), **extra, "kp_mentions": mentions.height,
            "kp_concepts": vocabulary, "kp_names_distinct": mentions.get_column("kp_name").n_unique(),
            "benchmark_items": bench.height, "benchmark_copies_of_seeds": int(copied.size),
            "seconds": round(time.perf_counter() - started, 1)}


# ---------------------------------------------------------------------- the LLM stub (worker)


def _stub_resources(plan_path: Path, benchmark_path: Path, settings):
    """The ``llm`` resource with a client that answers from the generator, in process."""
    from linksyn_dagster.llm.types import LLMOutcome
    from linksyn_dagster.llm.store import StoredResult
    from linksyn_dagster.resources.llm import LLMResource

    bench = pl.read_ndjson(benchmark_path).head(2_000)
    bench_rows = bench.select("question", "choices", "answer").to_dicts()

    class StubClient:
        model = "bench/stub"

        def __init__(self) -> None:
            self._plan: dict[str, str] | None = None

        def _kps(self, seed_ids: list[str]) -> dict[str, str]:
            wanted = pl.DataFrame({"seed_id": seed_ids})
            plan = (pl.scan_parquet(plan_path).join(wanted.lazy(), on="seed_id")
                    .select("seed_id", pl.struct("knowledge_points").struct.json_encode().alias("json"))
                    .collect())
            return dict(zip(plan.get_column("seed_id").to_list(), plan.get_column("json").to_list(), strict=True))

        @staticmethod
        def _written_level(item_id: str, asked: int | None) -> int:
            """The level the stub writes: the one asked 7 times in 10, else another (a level
            the judge then reads, so the closed loop rewrites and re-asks as with a model)."""
            h = zlib.crc32(b"level" + item_id.encode())
            if asked is not None and h % 10 < 7:
                return asked
            return 1 + h % 5

        @staticmethod
        def _asked(request, pattern: str) -> int | None:
            found = re.search(pattern, request.messages[-1]["content"])
            return int(found.group(1)) if found else None

        @staticmethod
        def _read_level(request) -> int:
            """The judge's reading: the level the item carries, off by one 2 times in 10."""
            found = re.search(r"\[level (\d)\]", request.messages[-1]["content"])
            level = int(found.group(1)) if found else 3
            h = zlib.crc32(request.item_id.encode())
            if h % 10 < 2:
                level = level + 1 if (h >> 8) % 2 and level < 5 or level == 1 else level - 1
            return level

        @staticmethod
        def _qa(item_id: str, level: int = 3) -> dict[str, Any]:
            h = zlib.crc32(item_id.encode())
            rng = np.random.default_rng(h)
            bucket = h % 1000
            if bucket < 5:  # a copy of an evaluation item
                row = bench_rows[h % len(bench_rows)]
                return {"question": row["question"], "choices": row["choices"], "answer": row["answer"],
                        "explanation": "copied", "knowledge_points_used": ["copied"]}
            if bucket < 30:  # exact (< 15) or near (< 30) duplicate of one of 50 stock questions
                stock = np.random.default_rng(h % 50).integers(0, 9_999, 20)
                tokens = [f"w{t}" for t in stock.tolist()]
                if bucket >= 15:
                    tokens[int(rng.integers(0, 20))] = f"x{int(rng.integers(0, 10**6))}"
            else:
                tokens = [f"w{t}" for t in rng.integers(0, 50_000, int(rng.integers(14, 30))).tolist()]
            # the key's choice reads "(sound)": the stub's judge and verifier find it without the key
            # the written level rides in the question, where the judge's prompt shows it
            return {"question": "Considering " + " ".join(tokens) + f", which is right? [level {level}]",
                    "choices": [f"choice {j} {int(rng.integers(0, 10**6))}" + (" (sound)" if j == h % 4 else "")
                                for j in range(4)],
                    "answer": "ABCD"[h % 4], "explanation": "because " + " ".join(tokens[:5]),
                    "knowledge_points_used": tokens[:3]}

        @staticmethod
        def _solve(request) -> str:
            """The judge's and verifier's answer: the "(sound)" choice 9 times in 10, else a guess."""
            h = zlib.crc32(request.item_id.encode())
            found = re.search(r"^([A-J])\. .* \(sound\)$", request.messages[-1]["content"], re.MULTILINE)
            return found.group(1) if found and h % 10 else "ABCD"[h % 4]

        def run(self, stage: str, prompt_version: str, requests, schema_model) -> list:
            ids = [r.item_id for r in requests]
            if stage == "kp_extraction":
                planned = self._kps(ids)
                replies = [planned.get(i, '{"knowledge_points":[]}') for i in ids]
            elif stage == "difficulty_judge":
                replies = [json.dumps({"answer": self._solve(r), "level": self._read_level(r), "rationale": "stub"})
                           for r in requests]
            elif stage == "answer_verification":
                replies = [json.dumps({"answer": self._solve(r), "justification": "stub"}) for r in requests]
            elif stage == "difficulty_rewrite":
                replies = [json.dumps(self._qa("rewrite" + r.item_id, self._written_level(
                    "rewrite" + r.item_id, self._asked(r, r"to level (\d)\.")))) for r in requests]
            else:
                replies = [json.dumps(self._qa(r.item_id, self._written_level(
                    r.item_id, self._asked(r, r"Target difficulty: level (\d)")))) for r in requests]
            created = time.time()
            outcomes = []
            for item_id, reply in zip(ids, replies, strict=True):
                key = hashlib.blake2b(f"{stage}\0{item_id}".encode(), digest_size=16).hexdigest()
                result = StoredResult(key, stage, item_id, self.model, prompt_version, reply, None, reply,
                                      200, 60, 0, 0.0, 0.0, 1, created)
                outcomes.append(LLMOutcome(item_id, key, result, None, False))
            return outcomes

    class StubLLMResource(LLMResource):
        def client(self, logger=None, model=None):  # one stub for the generator, judge and verifier
            return StubClient()

    return StubLLMResource.from_settings(settings)


def _graph_stub(data_dir: Path, settings):
    """For --skip-graph-load: the CSR cache written from DuckDB, and a graph resource that
    only answers the version and accepts the visits write."""
    import duckdb

    from linksyn_dagster.core.csr_store import cache_file, save_csr
    from linksyn_dagster.core.walker import CSRGraph
    from linksyn_dagster.defs.paths.assets import CSR_CACHE_DIR
    from linksyn_dagster.resources.graph import Neo4jResource

    with duckdb.connect(str(data_dir / "linksyn.duckdb"), read_only=True) as conn:
        kps = conn.execute("SELECT kp_id, frequency, primary_discipline FROM knowledge_points ORDER BY kp_id").pl()
        edges = conn.execute("SELECT kp_a, kp_b, weight FROM kp_cooccurrence").pl()
    version = "bench" + hashlib.sha256(str((kps.height, edges.height)).encode()).hexdigest()[:10]
    path = cache_file(data_dir / CSR_CACHE_DIR, version)
    if not path.exists():
        index = kps.select("kp_id").with_row_index("i")
        coded = (edges.join(index.rename({"kp_id": "kp_a", "i": "a"}), on="kp_a")
                 .join(index.rename({"kp_id": "kp_b", "i": "b"}), on="kp_b"))
        names = sorted(set(kps.get_column("primary_discipline").drop_nulls().to_list()))
        code = {x: k for k, x in enumerate(names)}
        graph = CSRGraph.from_index_edges(
            node_ids=kps.get_column("kp_id").to_numpy(),
            frequency=kps.get_column("frequency").to_numpy().astype(np.float64),
            discipline=np.array([code.get(x, 0) for x in kps.get_column("primary_discipline").to_list()],
                                dtype=np.int32),
            discipline_names=names,
            src=coded.get_column("a").to_numpy().astype(np.int64),
            dst=coded.get_column("b").to_numpy().astype(np.int64),
            weights=coded.get_column("weight").to_numpy().astype(np.float64))
        save_csr(graph, path)

    class GraphStub(Neo4jResource):
        def read(self, name: str, **params):
            if name == "graph_meta_get":
                return [{"version": version}]
            raise RuntimeError(f"--skip-graph-load: {name} needs Neo4j")

        def run_batched(self, name: str, rows, batch_size=None, **params) -> int:
            return sum(1 for _ in rows)  # the rows are still built, as for Neo4j

    return GraphStub.from_settings(settings)


def worker(stage: str, data_dir: Path, skip_graph_load: bool) -> dict[str, Any]:
    """Materialize one stage (all its partitions) in this process; time and peak memory."""
    import dagster as dg
    import duckdb

    from linksyn_dagster.core.taxonomy import DISCIPLINES
    from linksyn_dagster.definitions import build_definitions
    from linksyn_dagster.pipeline import prepare_instance
    from linksyn_dagster.queries import sql
    from linksyn_dagster.settings import load_settings

    settings = load_settings()
    instance = prepare_instance(settings)
    definitions = build_definitions(settings)
    assets = [*(definitions.assets or []), *(definitions.asset_checks or [])]
    resources = dict(definitions.resources)
    resources["llm"] = _stub_resources(data_dir / "kp_plan.parquet", data_dir / "benchmarks" / "eval.jsonl", settings)
    if skip_graph_load and stage == "walk_plan":
        resources["graph"] = _graph_stub(data_dir, settings)
    partitions: list[str | None] = [None]
    if stage in PER_DISCIPLINE:
        partitions = list(DISCIPLINES)
    elif stage in PER_START_DISCIPLINE:
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
            walked = dict(conn.execute(sql("plan_paths_per_discipline")).fetchall())
        partitions = [x for x in DISCIPLINES if walked.get(x, 0) > 0]
    baseline = _vm("VmHWM")
    seconds, cpu, metadata = 0.0, 0.0, {}
    for partition in partitions:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = dg.materialize(assets, selection=[stage], partition_key=partition, instance=instance,
                                resources=resources, raise_on_error=True,
                                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
        seconds += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        if not metadata:
            events = result.get_asset_materialization_events()
            for event in sorted(events, key=lambda e: e.asset_key != dg.AssetKey(stage)):  # the stage's own first
                meta = event.materialization.metadata
                metadata = {k: getattr(v, "value", v) for k, v in meta.items()
                            if k in ("dagster/row_count", "csr_read_seconds", "walk_seconds", "graph_nodes",
                                     "graph_edges", "cooccurrence_edges", "seed_kp_links", "seed_cache",
                                     "seed_files_parsed")}
                if metadata:
                    break
    return {"wall_s": round(seconds, 2), "cpu_s": round(cpu, 2), "runs": len(partitions), "peak_rss_mb": round(_vm("VmHWM") or 0, 1),
            "import_rss_mb": round(baseline or 0, 1), "first_run_metadata": metadata}


# ------------------------------------------------------------------------------- driver


def _neo4j_rss_mb(data_dir: Path) -> float | None:
    pid_file = data_dir / "neo4j" / "neo4j.pid"
    try:
        return _vm("VmRSS", int(pid_file.read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return None


def _env(data_dir: Path, n: int, args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "LINKSYN_DATA_DIR": str(data_dir), "LINKSYN_SEEDS__SOURCE_DIR": str(data_dir / "seeds"),
        "LINKSYN_WALK__PATHS_TOTAL": str(max(24, int(n * args.paths_per_seed))),
        "LINKSYN_DECONTAM__BENCHMARK_PATHS": json.dumps([str(data_dir / "benchmarks")]),
        "LINKSYN_LLM__MODEL": "bench/stub", "LINKSYN_EXECUTOR": "in_process",
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])]),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    })
    return env


def run_stage(stage: str, data_dir: Path, env: dict[str, str], skip_graph_load: bool) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", stage, "--work-dir", str(data_dir)]
    if skip_graph_load:
        cmd.append("--skip-graph-load")
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        _log(f"{stage} failed:\n{proc.stderr[-4000:]}")
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed",
                "process_s": round(time.perf_counter() - started, 1)}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = round(time.perf_counter() - started, 1)
    return result


def measure(n: int, args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(args.work_dir) / f"n{n}"
    shutil.rmtree(data_dir, ignore_errors=True)  # Neo4j's home too: each N starts from an empty graph
    data_dir.mkdir(parents=True, exist_ok=True)
    _log(f"N={n}: generating ...")
    generated = generate(n, data_dir)
    _log(f"N={n}: generated {generated}")
    env = _env(data_dir, n, args)
    neo4j = not args.skip_graph_load and bool({"kp_graph", "walk_plan"} & set(args.stages))
    if neo4j:  # started before kp_graph so its start-up is not in the stage's time
        _neo4j(env, "start")
    stages: dict[str, Any] = {}
    try:
        _run_stages(n, data_dir, env, args, stages)
    finally:
        if neo4j:
            _neo4j(env, "stop")
    return {"n": n, "generated": generated, "stages": stages,
            "total_wall_s": round(sum(s.get("wall_s", 0.0) for s in stages.values()), 1)}


def _neo4j(env: dict[str, str], action: str) -> None:
    subprocess.run([sys.executable, "-m", "linksyn_dagster.cli", "neo4j", action], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def _run_stages(n: int, data_dir: Path, env: dict[str, str], args: argparse.Namespace,
                stages: dict[str, Any]) -> None:
    for stage in args.stages:
        if stage == "kp_graph" and args.skip_graph_load:
            stages[stage] = {"skipped": "--skip-graph-load"}
            continue
        _log(f"N={n}: {stage} ...")
        stages[stage] = run_stage(stage, data_dir, env, args.skip_graph_load)
        if stage in ("kp_graph", "walk_plan") and not args.skip_graph_load:
            stages[stage]["neo4j_rss_mb"] = _neo4j_rss_mb(data_dir)
        _log(f"N={n}: {stage} {stages[stage]}")
        if "error" in stages[stage]:
            break


def exponents(rows: list[dict[str, Any]], stages: list[str], measure: str = "wall_s") -> dict[str, dict[str, float | None]]:
    """Per stage, slope of log(measure) over log(N) between successive N."""
    out: dict[str, dict[str, float | None]] = {}
    for stage in stages:
        slopes: dict[str, float | None] = {}
        for a, b in zip(rows, rows[1:]):
            ta, tb = a["stages"].get(stage, {}).get(measure), b["stages"].get(stage, {}).get(measure)
            key = f"{a['n']}->{b['n']}"
            slopes[key] = round(math.log(tb / ta) / math.log(b["n"] / a["n"]), 2) if ta and tb else None
        out[stage] = slopes
    return out


# -------------------------------------------------------------------------------- --delta


def _stage_tables(settings) -> dict[str, set[str]]:
    """DuckDB table -> the stages writing it (an asset's own table, and its side tables)."""
    from linksyn_dagster.definitions import build_definitions

    writers: dict[str, set[str]] = {}
    for spec in build_definitions(settings).resolve_all_asset_specs():
        table = spec.metadata.get("dagster/table_name")
        writer = spec.metadata.get("written_by")
        if table is None:
            table, writer = spec.key.path[0], spec.key.path[0]
        writers.setdefault(str(table), set()).add(str(writer))
    return writers


def snapshot(data_dir: Path, out: Path, graph: bool) -> None:
    """Order-independent digests of every DuckDB table (schema, row count, sum and xor of
    DuckDB's row hashes) and of the Neo4j graph (per label set: the nodes with all their
    properties, their ``visits`` apart; per relationship type: its properties and the
    kp_id/seed_id/name of both ends), written as JSON to ``out``. Columns and properties
    holding a time (when a KP was extracted, when the graph was loaded) are left out: no two
    runs share them. Streams: at 1M seeds the graph holds ~11M edges."""
    import duckdb

    from linksyn_dagster.settings import load_settings

    settings = load_settings()
    writers = _stage_tables(settings)
    tables: dict[str, Any] = {}
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        present = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        for table in present:
            columns = [(c[0], c[1]) for c in conn.execute(f'DESCRIBE "{table}"').fetchall()]
            times = [name for name, kind in columns if kind.startswith(("TIMESTAMP", "DATE", "TIME"))]
            kept = ", ".join(f'"{name}"' for name, _ in columns if name not in times)
            count, total, xor = conn.execute(
                f'SELECT count(*), coalesce(sum(hash(t)), 0)::VARCHAR, coalesce(bit_xor(hash(t)), 0)::VARCHAR '
                f'FROM (SELECT {kept} FROM "{table}") t').fetchone()
            def entry(writers_of: list[str], count: int, total: str, xor: str) -> dict[str, Any]:
                return {"writers": writers_of, "rows": count, "times_left_out": times,
                        "digest": hashlib.sha256(repr((columns, total, xor)).encode()).hexdigest()[:16]}

            tables[table] = entry(sorted(writers.get(table, [])), count, total, xor)
            if len(writers.get(table, [])) > 1 and "stage" in dict(columns):  # each writer's rows apart
                for stage, count, total, xor in conn.execute(
                        f'SELECT stage, count(*), coalesce(sum(hash(t)), 0)::VARCHAR, '
                        f'coalesce(bit_xor(hash(t)), 0)::VARCHAR FROM (SELECT {kept} FROM "{table}") t '
                        f'GROUP BY stage').fetchall():
                    tables[f"{table}[{stage}]"] = entry([stage], count, total, xor)
    result: dict[str, Any] = {"tables": tables}
    if graph:
        import neo4j.time

        from linksyn_dagster.resources.graph import connect

        _NEO4J_TIMES = (neo4j.time.DateTime, neo4j.time.Date, neo4j.time.Time, neo4j.time.Duration)

        def key(node: str) -> str:
            return f"coalesce({node}.kp_id, {node}.seed_id, {node}.name, elementId({node}))"

        parts: dict[str, list[int]] = {}

        def fold(category: str, row: Any) -> None:
            h = int.from_bytes(hashlib.blake2b(repr(row).encode(), digest_size=8).digest(), "little")
            acc = parts.setdefault(category, [0, 0, 0])
            acc[0] += 1
            acc[1] = (acc[1] + h) % 2**64
            acc[2] ^= h

        def props(values: dict[str, Any]) -> list[tuple[str, Any]]:
            return sorted((k, v) for k, v in values.items()
                          if not isinstance(v, _NEO4J_TIMES) and k not in RUN_BOOKKEEPING)

        driver, _ = connect(settings)
        try:
            with driver.session() as session:
                for record in session.run("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props, "
                                          f"{key('n')} AS key"):
                    labels = ":".join(sorted(record["labels"]))
                    values = dict(record["props"])
                    if "visits" in values:  # the walk's counters: their own category
                        fold("node_visits:" + labels, (record["key"], values.pop("visits")))
                    fold("nodes:" + labels, props(values))
                for record in session.run(f"MATCH (a)-[r]->(b) RETURN type(r) AS type, {key('a')} AS a, "
                                          f"{key('b')} AS b, properties(r) AS props"):
                    fold("edges:" + record["type"], (record["a"], record["b"], props(record["props"])))
        finally:
            driver.close()
        result["graph"] = {k: {"count": v[0], "digest": f"{v[1]:016x}{v[2]:016x}"} for k, v in sorted(parts.items())}
    out.write_text(json.dumps(result, indent=1))


def _snapshot(data_dir: Path, env: dict[str, str], graph: bool) -> dict[str, Any]:
    out = data_dir / "snapshot.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--snapshot", str(out), "--work-dir", str(data_dir)]
    if not graph:
        cmd.append("--skip-graph-load")
    subprocess.run(cmd, env=env, check=True)
    return json.loads(out.read_text())


# the stages from the walk plan on: an increment keeps the previous plan's paths (see compare)
PLAN_STAGES = {"walk_plan", "kp_paths", "linkqa_dataset", "distribution_report"}
# what records the runs rather than the data, left out of the comparison: kp_changes, the log
# of what knowledge_points changed for kp_graph (a full run's is one "state" row, an
# increment's its changes, both named by run id), and the graph's `knowledge_state` (the id
# of the knowledge_points run it was loaded from)
RUN_LOGS = {"kp_changes"}
RUN_BOOKKEEPING = {"knowledge_state"}


def compare(after: dict[str, Any], fresh: dict[str, Any], stages: list[str]) -> dict[str, Any]:
    """Which tables and graph parts are equal. Compared for equality: every table written
    only by non-LLM stages that ran, and the whole graph; the LLM stages' tables are listed
    beside (their llm_usage rows record each run's calls, so an increment has more)."""
    run = set(stages)
    compared, llm, other = {}, {}, []
    names = set(after["tables"]) | set(fresh["tables"])
    for table in sorted(names):
        a, b = after["tables"].get(table), fresh["tables"].get(table)
        info = a or b
        same = a is not None and b is not None and (a["rows"], a["digest"]) == (b["rows"], b["digest"])
        writers = set(info["writers"])
        if table in RUN_LOGS:
            other.append(table)
        elif any(name.startswith(f"{table}[") for name in names):
            other.append(table)  # its rows are compared per writer, as table[stage]
        elif writers and writers <= run - LLM_STAGES:
            compared[table] = same
        elif writers & run:
            llm[table] = same
        else:
            other.append(table)
    graph_equal = None
    if "graph" in after or "graph" in fresh:
        graph_equal = {k: after.get("graph", {}).get(k) == fresh.get("graph", {}).get(k)
                       for k in sorted(set(after.get("graph", {})) | set(fresh.get("graph", {})))}
    by_stage = {stage: all(same for table, same in compared.items() if stage in after["tables"].get(
        table, fresh["tables"].get(table, {})).get("writers", [])) for stage in stages if stage not in LLM_STAGES}
    if graph_equal is not None:
        by_stage["kp_graph"] = all(v for k, v in graph_equal.items() if not k.startswith("node_visits:"))
        by_stage["walk_plan"] = by_stage.get("walk_plan", True) and all(
            v for k, v in graph_equal.items() if k.startswith("node_visits:"))  # it writes the visits
    # the walk plan extends the previous plan when the graph grows (paths whose KPs remain are
    # kept, so their LLM answers are not paid again: the control loop's design), so from
    # walk_plan on an increment is not meant to equal a fresh run; its equality is reported
    # (path_stages_equal), not counted
    equal = all(same for stage, same in by_stage.items() if stage not in PLAN_STAGES)
    path_stages = {stage: same for stage, same in by_stage.items() if stage in PLAN_STAGES}
    return {"equal": equal, "by_stage": by_stage, "tables": compared, "graph": graph_equal,
            "path_stages_equal": all(path_stages.values()) if path_stages else None,
            "llm_stage_tables": llm, "not_compared": other}


def _totals(stages: dict[str, Any], names: list[str]) -> dict[str, Any]:
    ran = [stages[x] for x in names if "wall_s" in stages.get(x, {})]
    return {"wall_s": round(sum(x["wall_s"] for x in ran), 2), "cpu_s": round(sum(x["cpu_s"] for x in ran), 2),
            "peak_rss_mb": max((x["peak_rss_mb"] for x in ran), default=None)}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 4) if a is not None and b else None


def measure_delta(n: int, args: argparse.Namespace) -> dict[str, Any]:
    """A full run at ``n`` seeds, one increment of ``delta * n`` new seed files, then a fresh
    run on all the seeds in a second data directory, compared (see :func:`compare`)."""
    added = max(1, round(n * args.delta))
    data_dir = Path(args.work_dir) / f"n{n}-delta"  # the fresh run's in the end
    incremented_dir = Path(args.work_dir) / f"n{n}-incremented"  # where the incremented one goes then
    for d in (data_dir, incremented_dir):
        shutil.rmtree(d, ignore_errors=True)
    data_dir.mkdir(parents=True)
    _log(f"N={n} +{added}: generating ...")
    generated = generate(n, data_dir, increment=added)
    _log(f"N={n}: generated {generated}")
    env = _env(data_dir, n, args)  # the same walk settings (paths from n) in all three runs
    neo4j = not args.skip_graph_load and bool({"kp_graph", "walk_plan"} & set(args.stages))
    runs: dict[str, dict[str, Any]] = {"full": {}, "increment": {}, "fresh": {}}
    if neo4j:
        _neo4j(env, "start")
    try:
        _run_stages(n, data_dir, env, args, runs["full"])
        for file in sorted((data_dir / "increment").iterdir()):
            file.rename(data_dir / "seeds" / file.name)
        _run_stages(n, data_dir, env, args, runs["increment"])
        after = _snapshot(data_dir, env, neo4j)
    finally:
        if neo4j:
            _neo4j(env, "stop")
    # the fresh run: the same seeds, KP plan and evaluation set in an empty data directory at
    # the same path (tables hold the paths of the seed and evaluation files), the incremented
    # one moved aside
    data_dir.rename(incremented_dir)
    data_dir.mkdir()
    for part in ("seeds", "benchmarks"):
        shutil.copytree(incremented_dir / part, data_dir / part)
    shutil.copy2(incremented_dir / "kp_plan.parquet", data_dir / "kp_plan.parquet")
    if neo4j:
        _neo4j(env, "start")
    try:
        _run_stages(n, data_dir, env, args, runs["fresh"])
        fresh = _snapshot(data_dir, env, neo4j)
    finally:
        if neo4j:
            _neo4j(env, "stop")

    stages: dict[str, Any] = {}
    for stage in args.stages:
        full, inc = runs["full"].get(stage, {}), runs["increment"].get(stage, {})
        stages[stage] = {"full": full, "increment": inc,
                         "increment_vs_full_wall": _ratio(inc.get("wall_s"), full.get("wall_s")),
                         "increment_vs_full_cpu": _ratio(inc.get("cpu_s"), full.get("cpu_s"))}
    full, inc = _totals(runs["full"], args.stages), _totals(runs["increment"], args.stages)
    non_llm = [x for x in args.stages if x not in LLM_STAGES]
    full_nl, inc_nl = _totals(runs["full"], non_llm), _totals(runs["increment"], non_llm)
    equality = compare(after, fresh, args.stages)
    failed = [f"{run}:{stage}" for run, by_stage in runs.items() for stage, r in by_stage.items() if "error" in r]
    return {
        "n": n, "delta": args.delta, "increment_seeds": added, "generated": generated,
        "full": full, "increment": inc,
        "increment_vs_full_wall": _ratio(inc["wall_s"], full["wall_s"]),
        "increment_vs_full_cpu": _ratio(inc["cpu_s"], full["cpu_s"]),
        "non_llm_stages": {"stages": non_llm, "full": full_nl, "increment": inc_nl,
                           "increment_vs_full_wall": _ratio(inc_nl["wall_s"], full_nl["wall_s"]),
                           "increment_vs_full_cpu": _ratio(inc_nl["cpu_s"], full_nl["cpu_s"])},
        "stages": stages,
        "fresh": {**_totals(runs["fresh"], args.stages), "stages": runs["fresh"]},
        "equal_to_fresh_run": equality["equal"] and not failed,
        "equality": equality,
        "failed_stages": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--paths-per-seed", type=float, default=0.25)
    parser.add_argument("--work-dir", default=str(Path(os.environ.get("TMPDIR", "/tmp")) / "linksyn-scale-bench"))
    parser.add_argument("--skip-graph-load", action="store_true",
                        help="leave Neo4j out: walk_plan reads a CSR cache written from DuckDB")
    parser.add_argument("--stages", default="all", help=f"comma-separated subset of {','.join(STAGES)}")
    parser.add_argument("--keep", action="store_true", help="keep each N's data directory")
    parser.add_argument("--delta", type=float,
                        help="a full run at N, one increment of DELTA x N new seeds, a fresh run on all "
                             "seeds to compare with (one --n)")
    parser.add_argument("--worker", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--snapshot", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, Path(args.work_dir), args.skip_graph_load)))
        return
    if args.snapshot:
        snapshot(Path(args.work_dir), Path(args.snapshot), graph=not args.skip_graph_load)
        return
    args.stages = list(STAGES) if args.stages == "all" else [s for s in STAGES if s in args.stages.split(",")]
    if args.delta is not None:
        if len(args.n) != 1 or not 0 < args.delta <= 1:
            parser.error("--delta takes one --n and a share in (0, 1]")
        row = measure_delta(args.n[0], args)
        if not args.keep:
            for suffix in ("delta", "incremented"):
                shutil.rmtree(Path(args.work_dir) / f"n{args.n[0]}-{suffix}", ignore_errors=True)
        print(json.dumps({
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
            "settings": {"paths_per_seed": args.paths_per_seed, "skip_graph_load": args.skip_graph_load},
            **row,
        }, indent=2))
        return
    rows = []
    for n in sorted(args.n):
        rows.append(measure(n, args))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)  # partial results, in case a later N fails
        if not args.keep:
            shutil.rmtree(Path(args.work_dir) / f"n{n}", ignore_errors=True)
    print(json.dumps({
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "settings": {"paths_per_seed": args.paths_per_seed, "skip_graph_load": args.skip_graph_load,
                     "zipf_s": ZIPF_S, "zipf_offset": ZIPF_OFFSET, "cross_discipline_share": CROSS_SHARE},
        "measurements": rows,
        "growth_exponents": exponents(rows, args.stages),
        "growth_exponents_cpu": exponents(rows, args.stages, "cpu_s"),
    }, indent=2))


if __name__ == "__main__":
    main()
