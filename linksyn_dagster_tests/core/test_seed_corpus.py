"""A generated corpus of over a thousand malformed seed rows in every format, mixed with
valid ones: every valid row loads, every bad row is a reject with a reason, nothing
crashes, and memory stays bounded even with 10 MB fields."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import polars as pl

from linksyn_dagster.core.seeds import load_seed_files

PER_KIND = 60
BIG = "x" * 10_000_000  # a 10 MB field


def _valid(tag: str, i: int) -> dict:
    return {"question": f"Valid {tag} question number {i}: which organelle makes ATP?",
            "choices": ["Mitochondrion", "Ribosome", f"Golgi {i}", "Lysosome"], "answer": "A",
            "subject": "high_school_biology"}


class Corpus:
    def __init__(self, root: Path):
        self.root = root
        self.valid_questions: set[str] = set()
        self.bad = 0

    def valid(self, tag: str, i: int) -> dict:
        row = _valid(tag, i)
        self.valid_questions.add(row["question"])
        return row


def _jsonl(corpus: Corpus) -> None:
    lines: list[bytes] = []
    good = lambda i: json.dumps(corpus.valid("jsonl", i)).encode()  # noqa: E731
    bad_rows: list[bytes] = []
    for i in range(PER_KIND):
        base = _valid("bad-jsonl", i)
        bad_rows += [
            b'{"question": "cut off',                                            # not JSON
            b"[1, 2, 3]",                                                        # not an object
            json.dumps({k: v for k, v in base.items() if k != "question"}).encode(),  # missing question
            json.dumps({k: v for k, v in base.items() if k != "answer"}).encode(),    # missing answer
            json.dumps({**base, "question": 12345}).encode(),                   # wrong type
            json.dumps({**base, "difficulty": "3"}).encode(),                   # wrong type (strict)
            json.dumps({**base, "answer": "F"}).encode(),                       # answer beyond the choices
            json.dumps({**base, "answer": "Chloroplast"}).encode(),             # answer not a choice
            json.dumps({**base, "question": f"nul \u0000 byte {i}"}).encode(),  # NUL
            json.dumps({**base, "question": "   "}).encode(),                   # empty
            json.dumps({**base, "choices": ["only one"]}).encode(),             # too few choices
            json.dumps({**base, "discipline": "astrology"}).encode(),           # unknown discipline
            b'{"question": "bad \xff\xfe utf8", "answer": "A"}',                # invalid UTF-8
        ]
    bad_rows += [json.dumps({**_valid("big", k), "question": BIG}).encode() for k in range(3)]  # 10 MB fields
    for i, bad in enumerate(bad_rows):
        lines += [good(i), bad]
    corpus.bad += len(bad_rows)
    # an exact duplicate of a valid row is not a reject: counted as a duplicate, one kept
    lines.append(good(0))
    (corpus.root / "mixed.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    # a file whose last line was cut off mid-record
    (corpus.root / "truncated.jsonl").write_bytes(
        json.dumps(corpus.valid("trunc", 0)).encode() + b"\n" + json.dumps(_valid("trunc", 1)).encode()[:40])
    corpus.bad += 1


def _mmlu_csv(corpus: Corpus) -> None:
    rows: list[bytes] = []
    for i in range(PER_KIND):
        q = corpus.valid("csv", i)
        rows.append(f'"{q["question"]}",Mitochondrion,Ribosome,Golgi {i},Lysosome,A'.encode())
        rows += [
            f"short row {i},a,b,c,A".encode(),                                    # 5 columns
            f"long row {i},a,b,c,d,A,extra,more".encode(),                        # 8 columns
            f"answer out of range {i},a,b,c,d,E".encode(),                        # answer E
            b",a,b,c,d,A",                                                         # empty question
            f"nul \x00 in question {i},a,b,c,d,A".encode(),                      # NUL
            b"invalid \xc3\x28 utf8 " + str(i).encode() + b",a,b,c,d,A",        # invalid UTF-8
        ]
    corpus.bad += PER_KIND * 6
    (corpus.root / "high_school_biology_dev.csv").write_bytes(b"\n".join(rows) + b"\n")


def _cmmlu_csv(corpus: Corpus) -> None:
    lines = [",Question,A,B,C,D,Answer"]
    for i in range(PER_KIND):
        q = corpus.valid("cmmlu", i)
        lines.append(f'{i},"{q["question"]}",Mitochondrion,Ribosome,Golgi {i},Lysosome,A')
        lines.append(f"{i},缺少答案的问题 {i},甲,乙,丙,丁,")                          # missing answer
        lines.append(f"{i},答案不在选项中 {i},甲,乙,丙,丁,Z")                       # answer not a label
    corpus.bad += PER_KIND * 2
    (corpus.root / "college_biology.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _parquet(corpus: Corpus) -> None:
    questions, choices, answers = [], [], []
    for i in range(PER_KIND):
        q = corpus.valid("parquet", i)
        questions.append(q["question"]), choices.append(q["choices"]), answers.append("A")
        for question, answer in ((None, "A"), (f"parquet answer beyond {i}", "G"), (f"parquet empty answer {i}", "")):
            questions.append(question), choices.append(["a", "b", "c", "d"]), answers.append(answer)
    corpus.bad += PER_KIND * 3
    pl.DataFrame({"question": questions, "choices": choices, "answer": answers,
                  "subject": ["high_school_biology"] * len(questions)}).write_parquet(corpus.root / "seeds.parquet")
    # wrong column types: difficulty as text in every row
    pl.DataFrame({"question": [f"typed wrong {i}" for i in range(PER_KIND)], "answer": ["x"] * PER_KIND,
                  "difficulty": ["3"] * PER_KIND}).write_parquet(corpus.root / "wrong_types.parquet")
    corpus.bad += PER_KIND
    # a truncated Parquet file and an empty file: one file-level reject each
    whole = (corpus.root / "seeds.parquet").read_bytes()
    (corpus.root / "truncated.parquet").write_bytes(whole[: len(whole) // 2])
    (corpus.root / "empty.jsonl").write_bytes(b"")
    corpus.bad += 2


def test_a_thousand_bad_rows_are_rejected_and_every_valid_row_loads(tmp_path):
    corpus = Corpus(tmp_path)
    _jsonl(corpus)
    _mmlu_csv(corpus)
    _cmmlu_csv(corpus)
    _parquet(corpus)
    assert corpus.bad >= 1000

    tracemalloc.start()
    try:
        load = load_seed_files(tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    loaded = set(load.seeds.get_column("question").to_list())
    assert loaded == corpus.valid_questions  # every valid row, and nothing else
    assert load.duplicates == 1
    rejects = load.rejects
    assert rejects.height == corpus.bad, rejects.group_by("source_file").len()
    assert rejects.filter(pl.col("reason").str.strip_chars() == "").height == 0
    assert rejects.filter(pl.col("source_file").is_null()).height == 0
    # row-level rejects name their line; 10 MB fields are refused with the limit, not stored
    assert rejects.filter(pl.col("reason").str.contains("over the limit")).height >= 3
    assert rejects.get_column("raw").str.len_chars().max() < 10_000
    assert peak < 400 * 2**20, f"peak {peak / 2**20:.0f} MiB"
