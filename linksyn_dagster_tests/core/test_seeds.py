"""Seed loaders: the real MMLU/CMMLU files, planted bad rows of every kind, demo seeds."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linksyn_dagster.core.language import detect_language
from linksyn_dagster.core.seeds import (
    REJECT_SCHEMA,
    SEED_SCHEMA,
    SeedLoad,
    demo_seed_dir,
    load_seed_file,
    load_seed_files,
    seed_id_for,
)
from linksyn_dagster.core.taxonomy import DISCIPLINES, discipline_for_subject

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _shared(folder: str) -> Path:
    directory = SHARED_DATA / folder
    if not directory.is_dir():
        pytest.skip(f"shared seed data not found at {directory}")
    return directory


def _record_starts(path: Path, header: bool) -> list[tuple[int, list[str]]]:
    """Independent reference: (start line, cells) of every CSV record, via the csv module."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        out = []
        previous_end = 0
        for cells in reader:
            out.append((previous_end + 1, cells))
            previous_end = reader.line_num
    return out[1:] if header else out


def _check_schemas(load: SeedLoad) -> None:
    assert load.seeds.schema == pl.Schema(SEED_SCHEMA)
    assert load.rejects.schema == pl.Schema(REJECT_SCHEMA)
    assert load.seeds["seed_id"].is_unique().all()
    assert load.seeds["seed_id"].str.contains(r"^[0-9a-f]{16}$").all()


# --------------------------------------------------------------------------- real data


def test_mmlu_dev_loads_completely() -> None:
    directory = _shared("mmlu/dev")
    load = load_seed_files(directory)
    _check_schemas(load)
    assert load.files == 57
    assert load.rejects.height == 0
    # 285 records; college_physics_dev.csv lists one question twice (lines 1 and 4)
    assert load.seeds.height + load.duplicates == 285
    assert load.duplicates == 1
    assert load.seeds.height == 284
    assert set(load.seeds["source"]) == {"mmlu_csv"}
    assert set(load.seeds["language"]) == {"en"}
    assert load.seeds["discipline"].is_in(DISCIPLINES).all()
    assert "other" not in set(load.seeds["discipline"])

    seeds = {(Path(r["source_file"]).name, r["source_line"]): r for r in load.seeds.iter_rows(named=True)}
    multi_line = 0
    for path in sorted(directory.glob("*_dev.csv")):
        subject = path.name.removesuffix("_dev.csv")
        for line, cells in _record_starts(path, header=False):
            multi_line += any("\n" in c for c in cells)
            row = seeds.get((path.name, line))
            if row is None:  # the duplicate
                assert path.name == "college_physics_dev.csv" and line == 4
                continue
            assert row["subject"] == subject
            assert row["discipline"] == discipline_for_subject(subject)
            assert row["question"] == cells[0].replace("\r\n", "\n").strip()
            assert row["choices"] == [c.strip() for c in cells[1:5]]
            assert row["answer"] == cells[5]
            assert row["answer_text"] == cells[1 + "ABCD".index(cells[5])].strip()
            assert row["seed_id"] == seed_id_for(cells[0], cells[1:5], cells[5])
    assert multi_line > 0  # the line numbers above were checked on quoted multi-line records too

    hyoid = seeds[("anatomy_dev.csv", 1)]
    assert hyoid["question"] == "What is the embryological origin of the hyoid bone?"
    assert (hyoid["answer"], hyoid["answer_text"]) == ("D", "The second and third pharyngeal arches")
    assert hyoid["discipline"] == "medicine"
    assert hyoid["explanation"] is None and hyoid["difficulty"] is None


def test_cmmlu_dev_loads_completely() -> None:
    directory = _shared("cmmlu/dev")
    load = load_seed_files(directory)
    _check_schemas(load)
    assert (load.files, load.seeds.height, load.rejects.height, load.duplicates) == (67, 335, 0, 0)
    assert set(load.seeds["source"]) == {"cmmlu_csv"}
    assert set(load.seeds["language"]) == {"zh"}
    assert "other" not in set(load.seeds["discipline"])
    assert load.seeds["source_line"].min() == 2  # line 1 is the header

    seeds = {(Path(r["source_file"]).name, r["source_line"]): r for r in load.seeds.iter_rows(named=True)}
    for path in sorted(directory.glob("*.csv")):
        for line, cells in _record_starts(path, header=True):
            row = seeds[(path.name, line)]
            assert row["subject"] == path.stem
            assert row["question"] == cells[1].strip()
            assert row["seed_id"] == seed_id_for(cells[1], cells[2:6], cells[6])

    beef = seeds[("agronomy.csv", 2)]
    assert beef["question"] == "肉牛屠宰后，胴体的哪个部位肉质较好"
    assert (beef["answer"], beef["answer_text"], beef["discipline"]) == ("C", "大腿", "agriculture")


def test_mmlu_val_counts() -> None:
    load = load_seed_files(_shared("mmlu/val"))
    assert load.rejects.height == 0
    # the data README says 1,531 questions; the files hold 1,542 records, 2 of them repeats
    assert load.seeds.height + load.duplicates == 1542
    assert load.seeds.height == 1540


# --------------------------------------------------------------------------- planted bad rows

MAX = 400  # max_field_chars for the planted files: small so oversize rows are cheap


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _jsonl(*records: Any) -> bytes:
    out = io.BytesIO()
    for record in records:
        if isinstance(record, bytes):
            out.write(record.rstrip(b"\n") + b"\n")
        elif isinstance(record, str):
            out.write(record.encode("utf-8") + b"\n")
        else:
            out.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    return out.getvalue()


# A QA that appears in the MMLU CSV, the JSONL and the Parquet file: one seed, two duplicates.
SHARED_QA = ("What is the SI unit of force?", ["joule", "newton", "watt", "pascal"], "B")


@pytest.fixture()
def planted(tmp_path: Path) -> tuple[Path, list[tuple[str, int, str | None, str]], list[tuple[str, int]]]:
    """A directory of seed files with valid rows and one planted bad row of every kind.

    Returns the directory, the expected rejects (file, line, field, reason fragment) and the
    expected seeds (file, line).
    """
    root = tmp_path / "seeds"
    rejects: list[tuple[str, int | None, str | None, str]] = []
    seeds: list[tuple[str, int]] = []

    # MMLU CSV: no header, subject from the file name
    mmlu = (
        b'What is the SI unit of force?,joule,newton,watt,pascal,B\n'                       # 1 valid
        b'"A ball is thrown upward.\nWhich quantity is constant?",speed,velocity,"accel\n'  # 2-4 valid, quoted
        b'eration",height,C\n'
        b'Too few columns,a,b,c,A\n'                                                        # 5 column count
        b'   ,a,b,c,d,A\n'                                                                  # 6 empty question
        b'Answer out of range?,a,b,c,d,E\n'                                                 # 7 answer E
        b'Bad bytes \xff\xfe here,a,b,c,d,A\n'                                              # 8 invalid UTF-8
        b'NUL \x00 inside,a,b,c,d,A\n'                                                      # 9 NUL byte
        + b"Oversize " + b"x" * MAX + b",a,b,c,d,A\n"                                       # 10 oversize question
        + b"Oversize choice?,a," + b"y" * (MAX + 1) + b",c,d,A\n"                           # 11 oversize choice B
        + b'\n'                                                                             # 12 blank: skipped
        b'Which law says F = ma?,Newton\'s first,Newton\'s second,Hooke\'s,Ohm\'s,b\r\n'   # 13 valid, CRLF, "b"
    )
    _write(root / "college_physics_dev.csv", mmlu)
    # line 1 is SHARED_QA, already loaded from a_rows.parquet (sorted first): a duplicate
    seeds += [("college_physics_dev.csv", 2), ("college_physics_dev.csv", 13)]
    rejects += [
        ("college_physics_dev.csv", 5, None, "wrong column count: expected 6"),
        ("college_physics_dev.csv", 6, "question", "question is empty"),
        ("college_physics_dev.csv", 7, "answer", "answer 'E' is beyond the 4 choices"),
        ("college_physics_dev.csv", 8, None, "invalid UTF-8 at line 8"),
        ("college_physics_dev.csv", 9, None, "NUL byte at line 9"),
        ("college_physics_dev.csv", 10, "question", f"over the limit of {MAX}"),
        ("college_physics_dev.csv", 11, "B", f"over the limit of {MAX}"),
    ]

    # CMMLU CSV: header with an unnamed index column; a BOM in front
    cmmlu = (
        "\ufeff,Question,A,B,C,D,Answer\n"                   # 1 header
        "0,水的化学式是,H2O,CO2,O2,NaCl,A\n"                  # 2 valid
        "1,列数不对,甲,乙,丙,A\n"                              # 3 column count
        "2,答案不存在,甲,乙,丙,丁,Z\n"                         # 4 answer Z
        "3,,甲,乙,丙,丁,B\n"                                  # 5 empty question
    ).encode("utf-8") + (
        "4,坏字节".encode("utf-8") + b"\xc3\x28" + ",甲,乙,丙,丁,A\n".encode("utf-8")  # 6 invalid UTF-8
    ) + (
        '5,"多行\n题目",甲,乙,丙,丁,D\n'                       # 7-8 valid, quoted newline
        "6,氢气燃烧生成什么,水,二氧化碳,氨,甲烷,A\n"             # 9 valid
    ).encode("utf-8")
    _write(root / "high_school_chemistry.csv", cmmlu)
    seeds += [("high_school_chemistry.csv", 2), ("high_school_chemistry.csv", 7), ("high_school_chemistry.csv", 9)]
    rejects += [
        ("high_school_chemistry.csv", 3, None, "wrong column count: expected 7"),
        ("high_school_chemistry.csv", 4, "Answer", "answer 'Z' is not a label A-D"),
        ("high_school_chemistry.csv", 5, "Question", "Question is empty"),
        ("high_school_chemistry.csv", 6, None, "invalid UTF-8 at line 6"),
    ]

    # CMMLU-style file with three choices: answer D is beyond them
    _write(root / "three_choices.csv", ",Question,A,B,C,Answer\n0,Pick one,x,y,z,D\n1,Pick two,x,y,z,C\n")
    seeds += [("three_choices.csv", 3)]
    rejects += [("three_choices.csv", 2, "Answer", "answer 'D' is beyond the 3 choices")]

    good = {"question": "What is 2 + 2?", "choices": ["3", "4", "5", "6"], "answer": "B", "subject": "elementary_mathematics",
            "explanation": "Adding two and two gives four.", "difficulty": 1}
    lines = [
        good,                                                                                  # 1 valid
        {"question": "Name the process by which plants make glucose from light.",
         "answer": "Photosynthesis", "subject": "high_school_biology"},                          # 2 valid, open
        '{"question": "cut off", "answer":',                                                     # 3 invalid JSON
        {"question": "Numeric answer?", "answer": 4},                                            # 4 wrong type
        {"question": "Choices as a string?", "choices": "a,b,c", "answer": "A"},                 # 5 wrong type
        [1, 2, 3],                                                                               # 6 not an object
        {"question": "", "choices": ["a", "b"], "answer": "A"},                                  # 7 empty question
        {"question": "No answer here", "choices": ["a", "b"]},                                   # 8 missing answer
        {"question": "Three choices", "choices": ["a", "b", "c"], "answer": "D"},                # 9 beyond choices
        {"question": "Answer text not a choice", "choices": ["red", "blue"], "answer": "green"},  # 10 not a choice
        b'{"question": "bad \xe9 byte", "answer": "x"}',                                         # 11 invalid UTF-8
        b'{"question": "nul\x00", "answer": "x"}',                                               # 12 NUL byte
        {"question": "escaped nul\u0000", "answer": "x"},                                        # 13 NUL character
        {"question": "Long explanation", "answer": "x", "explanation": "z" * (MAX + 1)},         # 14 oversize
        {"question": "Too hard", "answer": "x", "difficulty": 7},                                # 15 out of range
        {"question": "String difficulty", "answer": "x", "difficulty": "3"},                     # 16 wrong type
        {"question": "Unknown discipline", "answer": "x", "discipline": "alchemy"},              # 17 unknown
        {"question": "One choice", "choices": ["only"], "answer": "A"},                          # 18 too few
        {"question": "Which colour is the sky on a clear day?", "choices": ["green", "blue"],
         "answer": "blue", "discipline": "Earth and Space Science"},                            # 19 valid, text
        "",                                                                                      # 20 blank: skipped
        {**good, "subject": "other_subject", "id": 42},                                          # 21 duplicate of 1
        {"question": SHARED_QA[0], "choices": SHARED_QA[1], "answer": "newton",
         "subject": "conceptual physics"},                                                       # 22 dup of MMLU 1
        {"question": "Eleven choices", "choices": [str(i) for i in range(11)], "answer": "A"},   # 23 too many
    ]
    _write(root / "mixed.jsonl", _jsonl(*lines))
    seeds += [("mixed.jsonl", 1), ("mixed.jsonl", 2), ("mixed.jsonl", 19)]
    rejects += [
        ("mixed.jsonl", 3, None, "invalid JSON"),
        ("mixed.jsonl", 4, "answer", "Input should be a valid string"),
        ("mixed.jsonl", 5, "choices", "Input should be a valid list"),
        ("mixed.jsonl", 6, None, "wrong JSON type: expected an object, got list"),
        ("mixed.jsonl", 7, "question", "question is empty"),
        ("mixed.jsonl", 8, "answer", "Field required"),
        ("mixed.jsonl", 9, "answer", "answer 'D' is beyond the 3 choices"),
        ("mixed.jsonl", 10, "answer", "is not a label A-B or the text of a choice"),
        ("mixed.jsonl", 11, None, "invalid UTF-8"),
        ("mixed.jsonl", 12, None, "NUL byte"),
        ("mixed.jsonl", 13, "question", "contains a NUL character"),
        ("mixed.jsonl", 14, "explanation", f"over the limit of {MAX}"),
        ("mixed.jsonl", 15, "difficulty", "less than or equal to 5"),
        ("mixed.jsonl", 16, "difficulty", "Input should be a valid integer"),
        ("mixed.jsonl", 17, "discipline", "unknown discipline 'alchemy'"),
        ("mixed.jsonl", 18, "choices", "expected 2-10 choices, got 1"),
        ("mixed.jsonl", 23, "choices", "expected 2-10 choices, got 11"),
    ]

    # a nested directory is walked too
    _write(root / "nested" / "more.jsonl", _jsonl({"question": "What is the capital of France?", "answer": "Paris"}))
    seeds += [("more.jsonl", 1)]

    # Parquet: valid rows, bad rows, and the shared QA once more (sorted first: "a_" prefix)
    table = pa.Table.from_pylist(
        [
            {"question": SHARED_QA[0], "choices": SHARED_QA[1], "answer": SHARED_QA[2], "subject": "high_school_physics",
             "difficulty": 2},                                                                   # 1 valid (first!)
            {"question": "  ", "choices": ["a", "b"], "answer": "A", "subject": None, "difficulty": None},      # 2 empty
            {"question": "Missing choice", "choices": ["a", "b"], "answer": "zebra", "subject": None,
             "difficulty": None},                                                                # 3 not a choice
            {"question": "nul\x00", "choices": None, "answer": "x", "subject": None, "difficulty": None},     # 4 NUL
            {"question": "q" * (MAX + 1), "choices": None, "answer": "x", "subject": None, "difficulty": None},  # 5
            {"question": "Open one", "choices": [], "answer": "yes", "subject": "philosophy", "difficulty": 5},  # 6 ok
            {"question": "Bad difficulty", "choices": None, "answer": "x", "subject": None, "difficulty": 0},  # 7
        ],
        schema=pa.schema(
            [("question", pa.string()), ("choices", pa.list_(pa.string())), ("answer", pa.string()),
             ("subject", pa.string()), ("difficulty", pa.int64())]
        ),
    )
    pq.write_table(table, root / "a_rows.parquet")
    seeds += [("a_rows.parquet", 1), ("a_rows.parquet", 6)]
    rejects += [
        ("a_rows.parquet", 2, "question", "question is empty"),
        ("a_rows.parquet", 3, "answer", "is not a label A-B or the text of a choice"),
        ("a_rows.parquet", 4, "question", "contains a NUL character"),
        ("a_rows.parquet", 5, "question", f"over the limit of {MAX}"),
        ("a_rows.parquet", 7, "difficulty", "greater than or equal to 1"),
    ]

    # Parquet whose question column has the wrong type: every row is rejected
    pq.write_table(pa.table({"question": [1, 2], "answer": ["a", "b"]}), root / "int_questions.parquet")
    rejects += [
        ("int_questions.parquet", 1, "question", "Input should be a valid string"),
        ("int_questions.parquet", 2, "question", "Input should be a valid string"),
    ]

    # truncated Parquet, a Parquet without the answer column, empty files, unknown types
    buffer = io.BytesIO()
    pq.write_table(pa.table({"question": ["q"] * 50, "answer": ["a"] * 50}), buffer)
    _write(root / "truncated.parquet", buffer.getvalue()[: len(buffer.getvalue()) // 2])
    pq.write_table(pa.table({"question": ["q"]}), root / "no_answer.parquet")
    _write(root / "empty.jsonl", b"")
    _write(root / "blank.jsonl", b"\n  \n")
    _write(root / "empty_dev.csv", b"")
    _write(root / "header_only.csv", b",Question,A,B,C,D,Answer\n")
    _write(root / "notes.txt", "not seeds")
    rejects += [
        ("truncated.parquet", None, None, "unreadable Parquet file"),
        ("no_answer.parquet", None, None, "missing required column(s): answer"),
        ("empty.jsonl", None, None, "file is empty"),
        ("blank.jsonl", None, None, "file is empty"),
        ("empty_dev.csv", None, None, "file is empty"),
        ("header_only.csv", None, None, "file has a header but no data rows"),
        ("notes.txt", None, None, "unsupported file type '.txt'"),
    ]

    # skipped on directory walks: documentation and hidden files
    _write(root / "README.md", "# seeds\n")
    _write(root / "LICENSE", "MIT\n")
    _write(root / ".cache" / "hidden.jsonl", _jsonl(good))
    return root, rejects, seeds


def test_planted_rows(planted: tuple[Path, list[tuple[str, int | None, str | None, str]], list[tuple[str, int]]]) -> None:
    root, expected_rejects, expected_seeds = planted
    load = load_seed_files(root, max_field_chars=MAX)
    _check_schemas(load)
    assert load.files == 14  # README, LICENSE and the hidden folder are not seed files

    got_seeds = sorted((Path(f).name, line) for f, line in load.seeds.select("source_file", "source_line").rows())
    assert got_seeds == sorted(expected_seeds)

    got_rejects = [(Path(r["source_file"]).name, r["source_line"], r["field"], r["reason"], r["raw"])
                   for r in load.rejects.iter_rows(named=True)]
    for file, line, field, fragment in expected_rejects:
        matches = [r for r in got_rejects if r[0] == file and r[1] == line]
        assert len(matches) == 1, (file, line, matches)
        assert matches[0][2] == field, (file, line, matches[0])
        assert fragment in matches[0][3], (file, line, matches[0])
    assert len(got_rejects) == len(expected_rejects), got_rejects
    assert all(len(r[4]) <= 300 for r in got_rejects)

    # duplicates: JSONL line 21 repeats line 1; SHARED_QA is in Parquet, MMLU CSV and JSONL
    assert load.duplicates == 3
    shared = load.seeds.filter(pl.col("question") == SHARED_QA[0])
    assert shared.height == 1
    assert Path(shared["source_file"][0]).name == "a_rows.parquet"  # first in sorted order wins
    assert shared["seed_id"][0] == seed_id_for(*SHARED_QA)


def test_planted_row_contents(planted: tuple[Path, Any, Any]) -> None:
    root = planted[0]
    rows = {(Path(r["source_file"]).name, r["source_line"]): r
            for r in load_seed_files(root, max_field_chars=MAX).seeds.iter_rows(named=True)}

    thrown = rows[("college_physics_dev.csv", 2)]
    assert thrown["question"] == "A ball is thrown upward.\nWhich quantity is constant?"
    assert thrown["choices"] == ["speed", "velocity", "accel\neration", "height"]
    assert (thrown["answer"], thrown["source"], thrown["discipline"]) == ("C", "mmlu_csv", "physics")

    newton = rows[("college_physics_dev.csv", 13)]
    assert (newton["answer"], newton["answer_text"]) == ("B", "Newton's second")  # "b" + CRLF

    water = rows[("high_school_chemistry.csv", 2)]
    assert (water["source"], water["discipline"], water["language"], water["answer_text"]) == (
        "cmmlu_csv", "chemistry", "zh", "H2O")
    assert rows[("high_school_chemistry.csv", 7)]["question"] == "多行\n题目"

    two = rows[("mixed.jsonl", 1)]
    assert (two["source"], two["discipline"], two["answer"], two["answer_text"], two["difficulty"]) == (
        "jsonl", "mathematics", "B", "4", 1)
    assert two["explanation"] == "Adding two and two gives four."

    open_q = rows[("mixed.jsonl", 2)]
    assert (open_q["choices"], open_q["answer"], open_q["answer_text"]) == ([], "Photosynthesis", "Photosynthesis")
    assert open_q["discipline"] == "biology"

    sky = rows[("mixed.jsonl", 19)]  # answer given as the choice text, discipline by display name
    assert (sky["answer"], sky["answer_text"], sky["discipline"], sky["subject"]) == (
        "B", "blue", "earth_science", "earth_science")

    paris = rows[("more.jsonl", 1)]
    assert (paris["discipline"], paris["subject"], paris["language"]) == ("other", "unspecified", "en")

    parquet_open = rows[("a_rows.parquet", 6)]
    assert (parquet_open["source"], parquet_open["choices"], parquet_open["difficulty"]) == ("parquet", [], 5)


def test_same_qa_same_id_across_formats(tmp_path: Path) -> None:
    csv_load = load_seed_file(_write(tmp_path / "x_dev.csv", "What is 1+1?,1,2,3,4,B\n"))
    jsonl_load = load_seed_file(_write(tmp_path / "x.jsonl", _jsonl(
        {"question": "  What is  1+1? ", "choices": ["1", "2", "3", "4"], "answer": "2"})))
    assert csv_load.seeds["seed_id"][0] == jsonl_load.seeds["seed_id"][0]
    assert seed_id_for("ｗhat", [], "x") == seed_id_for("what", [], "x")  # NFKC folds full-width letters


def test_single_file_edge_cases(tmp_path: Path) -> None:
    missing = load_seed_file(tmp_path / "nope.jsonl")
    assert missing.seeds.height == 0
    assert "cannot read file" in missing.rejects["reason"][0]
    assert missing.files == 1

    readme = load_seed_file(_write(tmp_path / "README.md", "# hi\n"))  # named explicitly: rejected
    assert "unsupported file type '.md'" in readme.rejects["reason"][0]

    array = load_seed_file(_write(tmp_path / "array.json", '[{"question": "q", "answer": "a"}]\n'))
    assert "JSON array is not supported" in array.rejects["reason"][0]

    # Parquet recognised by its magic bytes whatever the extension
    pq.write_table(pa.table({"question": ["Is this Parquet?"], "answer": ["yes"]}), tmp_path / "seeds.bin")
    sniffed = load_seed_file(tmp_path / "seeds.bin")
    assert (sniffed.seeds.height, sniffed.seeds["source"][0]) == (1, "parquet")

    # an unterminated quote swallows the rest of the file into one bad record, not a crash
    broken = load_seed_file(_write(tmp_path / "broken_dev.csv", 'ok?,a,b,c,d,A\n"never closed,a,b,c,d,A\nmore,a,b,c,d,B\n'))
    assert broken.seeds.height == 1
    assert broken.rejects.height == 1 and broken.rejects["source_line"][0] == 2

    # a headed CSV in another spelling: no index column, two choices, an explanation column
    headed = load_seed_file(_write(tmp_path / "logic.csv",
                                   "question,a,b,answer,explanation\nIs P or not P a tautology?,yes,no,Ａ,Excluded middle.\n"
                                   "Empty choice?,,no,B,\n"))
    assert headed.seeds.rows(named=True)[0] | {"seed_id": None, "source_file": None} == {
        "seed_id": None, "discipline": "philosophy", "subject": "logic", "question": "Is P or not P a tautology?",
        "choices": ["yes", "no"], "answer": "A", "answer_text": "yes", "explanation": "Excluded middle.",
        "source": "cmmlu_csv", "source_file": None, "source_line": 2, "language": "en", "difficulty": None}
    assert headed.rejects.rows() == [(str(tmp_path / "logic.csv"), 3, "a", "a is empty", "Empty choice?,,no,B,")]

    explicit = load_seed_files([tmp_path / "x_missing_dev.csv", str(tmp_path / "seeds.bin")])
    assert (explicit.files, explicit.seeds.height, explicit.rejects.height) == (2, 1, 1)

    with pytest.raises(ValueError, match="max_field_chars"):
        load_seed_files(tmp_path, max_field_chars=0)


def test_detect_language() -> None:
    assert detect_language("What is the derivative of x^2?") == "en"
    assert detect_language("函数 f(x) = e^(2x) 的导数是") == "zh"
    assert detect_language(r"已知 $S(x)=1-\frac{x}{100}， 0 \leqslant x \leqslant 100$， 则 $f_{30}=(\quad)$ 。") == "zh"
    assert detect_language("ひらがなとカタカナ") == "ja"
    assert detect_language("한국어 문장입니다") == "ko"
    assert detect_language("12 + 30 = ?") == "und"


# --------------------------------------------------------------------------- demo seeds


def test_demo_seeds() -> None:
    directory = demo_seed_dir()
    assert directory.is_dir()
    load = load_seed_files(directory)
    _check_schemas(load)
    assert load.rejects.height == 0
    assert load.duplicates == 0
    counts = dict(load.seeds.group_by("discipline").len().rows())
    assert len(counts) >= 8
    assert all(n >= 8 for n in counts.values()), counts
    assert "other" not in counts
    languages = dict(load.seeds.group_by("language").len().rows())
    assert languages.get("zh", 0) >= load.seeds.height // 5  # about a quarter is Chinese
    # every demo seed is a complete multiple-choice item
    assert (load.seeds["choices"].list.len() == 4).all()
    assert load.seeds["explanation"].is_not_null().all()
    assert load.seeds["difficulty"].is_between(1, 5).all()
    # the stated language matches what the cheap detector sees
    for row in load.seeds.iter_rows(named=True):
        assert detect_language(" ".join([row["question"], *row["choices"]])) == row["language"], row["question"]
