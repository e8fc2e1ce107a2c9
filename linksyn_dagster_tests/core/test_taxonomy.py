"""The discipline taxonomy: coverage of the benchmark subjects and YAML validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from linksyn_dagster.core.taxonomy import (
    DISCIPLINES,
    OTHER,
    TaxonomyError,
    discipline_for_subject,
    display_name,
    get_taxonomy,
    load_taxonomy,
    normalize_subject,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _subjects(folder: str, suffix: str) -> list[str]:
    directory = SHARED_DATA / folder
    if not directory.is_dir():
        pytest.skip(f"shared seed data not found at {directory}")
    return sorted(p.name[: -len(suffix)] for p in directory.glob(f"*{suffix}"))


def test_discipline_list_shape() -> None:
    assert 15 <= len(DISCIPLINES) <= 25
    assert len(set(DISCIPLINES)) == len(DISCIPLINES)
    assert DISCIPLINES[-1] == OTHER
    for core in ("mathematics", "physics", "chemistry", "biology", "medicine", "computer_science", "economics",
                 "history", "law", "philosophy"):
        assert core in DISCIPLINES
    taxonomy = get_taxonomy()
    for discipline in taxonomy.disciplines:
        assert discipline.name and discipline.description


def test_every_mmlu_subject_has_a_real_discipline() -> None:
    subjects = _subjects("mmlu/dev", "_dev.csv")
    assert len(subjects) == 57
    taxonomy = get_taxonomy()
    for subject in subjects:
        assert discipline_for_subject(subject) != OTHER, subject
        info = taxonomy.subjects[subject]
        assert "mmlu" in info.benchmarks
        assert info.mmlu_category in {"STEM", "humanities", "social sciences", "other"}, subject


def test_every_cmmlu_subject_has_a_real_discipline() -> None:
    subjects = _subjects("cmmlu/dev", ".csv")
    assert len(subjects) == 67
    taxonomy = get_taxonomy()
    for subject in subjects:
        assert discipline_for_subject(subject) != OTHER, subject
        assert "cmmlu" in taxonomy.subjects[subject].benchmarks


def test_known_mappings() -> None:
    assert discipline_for_subject("college_physics") == "physics"
    assert discipline_for_subject("high_school_us_history") == "history"
    assert discipline_for_subject("traditional_chinese_medicine") == "medicine"
    assert discipline_for_subject("machine_learning") == "computer_science"
    assert discipline_for_subject("ancient_chinese") == "linguistics_literature"
    assert get_taxonomy().mmlu_category("abstract_algebra") == "STEM"
    assert get_taxonomy().mmlu_category("agronomy") is None  # CMMLU only


def test_subject_normalization_and_aliases() -> None:
    assert normalize_subject("  High School-Biology ") == "high_school_biology"
    assert discipline_for_subject("High School Biology") == "biology"
    assert discipline_for_subject("high-school-biology") == "biology"
    assert discipline_for_subject("HIGH_SCHOOL_BIOLOGY") == "biology"
    assert discipline_for_subject("Computer Science") == "computer_science"  # discipline name
    assert discipline_for_subject("数学") == "mathematics"  # alias
    assert discipline_for_subject("maths") == "mathematics"
    assert discipline_for_subject("underwater basket weaving") == OTHER
    assert discipline_for_subject("") == OTHER
    assert get_taxonomy().resolve_discipline("Law") == "law"
    assert get_taxonomy().resolve_discipline("no such thing") is None


def test_display_names() -> None:
    assert display_name("computer_science") == "Computer Science"
    assert display_name("other") == "Other"
    with pytest.raises(KeyError, match="unknown discipline"):
        display_name("alchemy")


_VALID = """
disciplines:
  - {id: physics, name: Physics, description: Matter and energy.}
  - {id: other, name: Other, description: Unknown.}
subjects:
  mmlu:
    college_physics: {discipline: physics, category: STEM}
"""


def test_load_taxonomy_accepts_a_small_valid_file() -> None:
    taxonomy = load_taxonomy(_VALID)
    assert taxonomy.ids == ["physics", "other"]
    assert taxonomy.discipline_for_subject("College Physics") == "physics"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_VALID.replace("college_physics: {discipline: physics", "college_physics: {discipline: alchemy"),
         "maps to unknown discipline 'alchemy'"),
        (_VALID.replace("  - {id: other, name: Other, description: Unknown.}\n", ""), "'other' must be listed"),
        (_VALID.replace("id: physics", "id: Physics Dept"), "must be a snake_case string"),
        (_VALID.replace("category: STEM", "category: science"), "has category 'science'"),
        (_VALID + "  cmmlu:\n    college_physics: other\n", "maps to 'physics' in mmlu but to 'other' in cmmlu"),
        (_VALID.replace("name: Other", "name: Physics"), "already used by 'physics'"),
        ("disciplines: []\n", "'disciplines' must be a non-empty list"),
        ("[unclosed", "does not parse"),
    ],
)
def test_load_taxonomy_rejects_inconsistent_files(text: str, message: str) -> None:
    with pytest.raises(TaxonomyError, match=re.escape(message)):
        load_taxonomy(text)
