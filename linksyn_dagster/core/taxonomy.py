"""The discipline taxonomy: which disciplines exist and which subject belongs to which.

The taxonomy lives in ``linksyn_dagster/data/disciplines.yaml`` (shipped as package data)
and is loaded and validated once, on first import. Disciplines are the partition keys of
the pipeline and the unit of the discipline controls, so everything that names a
discipline should go through :func:`discipline_for_subject` or
:meth:`Taxonomy.resolve_discipline` rather than comparing raw strings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

import yaml

__all__ = [
    "DISCIPLINES",
    "MMLU_CATEGORIES",
    "OTHER",
    "Discipline",
    "SubjectInfo",
    "Taxonomy",
    "TaxonomyError",
    "discipline_for_subject",
    "display_name",
    "get_taxonomy",
    "load_taxonomy",
    "normalize_subject",
]

OTHER = "other"
MMLU_CATEGORIES = ("STEM", "humanities", "social sciences", "other")

_ID_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_SEPARATORS_RE = re.compile(r"[\s\-./]+")
_UNDERSCORES_RE = re.compile(r"_+")


class TaxonomyError(ValueError):
    """The taxonomy YAML is malformed or inconsistent."""


def normalize_subject(subject: str) -> str:
    """Canonical key for a subject or discipline name.

    ``"High School Biology"``, ``"high-school-biology"`` and ``" high_school_biology "``
    all become ``"high_school_biology"``. NFKC folds full-width characters so Chinese
    input typed with full-width spaces/letters matches too.
    """
    text = unicodedata.normalize("NFKC", subject).strip().lower()
    text = _SEPARATORS_RE.sub("_", text)
    return _UNDERSCORES_RE.sub("_", text).strip("_")


@dataclass(frozen=True)
class Discipline:
    id: str
    name: str
    description: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubjectInfo:
    subject: str  # normalized subject key
    discipline: str
    benchmarks: tuple[str, ...]  # which benchmark files use this subject name
    mmlu_category: str | None = None


@dataclass(frozen=True)
class Taxonomy:
    disciplines: tuple[Discipline, ...]
    subjects: Mapping[str, SubjectInfo]
    # normalized discipline id / display name / alias -> discipline id
    _names: Mapping[str, str] = field(repr=False)

    @property
    def ids(self) -> list[str]:
        return [d.id for d in self.disciplines]

    def get(self, discipline_id: str) -> Discipline:
        for discipline in self.disciplines:
            if discipline.id == discipline_id:
                return discipline
        raise KeyError(f"unknown discipline {discipline_id!r}; known: {', '.join(self.ids)}")

    def display_name(self, discipline_id: str) -> str:
        return self.get(discipline_id).name

    def resolve_discipline(self, name: str) -> str | None:
        """A discipline id from an id, display name or alias (any case/spacing); None if unknown."""
        return self._names.get(normalize_subject(name))

    def discipline_for_subject(self, subject: str) -> str:
        """The discipline of a subject: benchmark mapping first, then discipline names/aliases.

        Unknown subjects map to ``"other"`` (never raises) so an unfamiliar seed file still
        loads; its rows can be re-mapped later by extending the YAML.
        """
        key = normalize_subject(subject)
        info = self.subjects.get(key)
        if info is not None:
            return info.discipline
        return self._names.get(key, OTHER)

    def subjects_of(self, discipline_id: str) -> list[str]:
        return sorted(s for s, info in self.subjects.items() if info.discipline == discipline_id)

    def mmlu_category(self, subject: str) -> str | None:
        info = self.subjects.get(normalize_subject(subject))
        return None if info is None else info.mmlu_category


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise TaxonomyError(message)


def load_taxonomy(text: str) -> Taxonomy:
    """Parse and validate taxonomy YAML; raises :class:`TaxonomyError` naming the problem."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"taxonomy YAML does not parse: {exc}") from exc
    _require(isinstance(doc, dict), "taxonomy YAML must be a mapping with 'disciplines' and 'subjects'")
    raw_disciplines = doc.get("disciplines")
    _require(
        isinstance(raw_disciplines, list) and len(raw_disciplines) > 0,
        "taxonomy: 'disciplines' must be a non-empty list",
    )

    disciplines: list[Discipline] = []
    names: dict[str, str] = {}

    def claim(name: str, discipline_id: str, what: str) -> None:
        key = normalize_subject(name)
        _require(key != "", f"taxonomy: empty {what} for discipline {discipline_id!r}")
        owner = names.get(key)
        _require(
            owner is None or owner == discipline_id,
            f"taxonomy: {what} {name!r} of discipline {discipline_id!r} is already used by {owner!r}",
        )
        names[key] = discipline_id

    for index, entry in enumerate(raw_disciplines):
        _require(isinstance(entry, dict), f"taxonomy: disciplines[{index}] must be a mapping")
        did = entry.get("id")
        name = entry.get("name")
        description = entry.get("description")
        aliases = entry.get("aliases") or []
        _require(
            isinstance(did, str) and _ID_RE.match(did) is not None,
            f"taxonomy: disciplines[{index}].id {did!r} must be a snake_case string",
        )
        _require(all(d.id != did for d in disciplines), f"taxonomy: discipline id {did!r} is listed twice")
        _require(isinstance(name, str) and name.strip() != "", f"taxonomy: discipline {did!r} needs a 'name'")
        _require(
            isinstance(description, str) and description.strip() != "",
            f"taxonomy: discipline {did!r} needs a 'description'",
        )
        _require(
            isinstance(aliases, list) and all(isinstance(a, str) for a in aliases),
            f"taxonomy: discipline {did!r} 'aliases' must be a list of strings",
        )
        claim(did, did, "id")
        claim(name, did, "name")
        for alias in aliases:
            claim(alias, did, "alias")
        disciplines.append(Discipline(did, name.strip(), description.strip(), tuple(aliases)))

    ids = {d.id for d in disciplines}
    _require(OTHER in ids, f"taxonomy: the fallback discipline {OTHER!r} must be listed")

    raw_subjects = doc.get("subjects")
    _require(isinstance(raw_subjects, dict), "taxonomy: 'subjects' must be a mapping benchmark -> subject -> entry")
    subjects: dict[str, SubjectInfo] = {}
    for benchmark, mapping in raw_subjects.items():
        _require(isinstance(mapping, dict), f"taxonomy: subjects.{benchmark} must be a mapping")
        for subject, entry in mapping.items():
            where = f"subjects.{benchmark}.{subject}"
            _require(isinstance(subject, str), f"taxonomy: {where}: subject names must be strings")
            if isinstance(entry, str):  # shorthand `subject: discipline`
                entry = {"discipline": entry}
            _require(isinstance(entry, dict), f"taxonomy: {where} must be a discipline id or a mapping")
            did = entry.get("discipline")
            _require(
                did in ids,
                f"taxonomy: {where} maps to unknown discipline {did!r}; known: {', '.join(sorted(ids))}",
            )
            category = entry.get("category")
            _require(
                category is None or category in MMLU_CATEGORIES,
                f"taxonomy: {where} has category {category!r}; expected one of {MMLU_CATEGORIES}",
            )
            key = normalize_subject(subject)
            previous = subjects.get(key)
            if previous is not None:
                _require(
                    previous.discipline == did,
                    f"taxonomy: subject {key!r} maps to {previous.discipline!r} in "
                    f"{'/'.join(previous.benchmarks)} but to {did!r} in {benchmark}",
                )
                subjects[key] = SubjectInfo(
                    key, did, (*previous.benchmarks, str(benchmark)), previous.mmlu_category or category
                )
            else:
                subjects[key] = SubjectInfo(key, did, (str(benchmark),), category)
            # a subject spelled like a discipline alias must agree with it, or lookups would
            # depend on which table is consulted first
            alias_owner = names.get(key)
            _require(
                alias_owner is None or alias_owner == did,
                f"taxonomy: subject {key!r} maps to {did!r} but is also a name/alias of {alias_owner!r}",
            )

    return Taxonomy(tuple(disciplines), MappingProxyType(subjects), MappingProxyType(names))


@lru_cache(maxsize=1)
def get_taxonomy() -> Taxonomy:
    """The bundled taxonomy (read from package data once per process)."""
    text = (resources.files("linksyn_dagster") / "data" / "disciplines.yaml").read_text(encoding="utf-8")
    return load_taxonomy(text)


def discipline_for_subject(subject: str) -> str:
    return get_taxonomy().discipline_for_subject(subject)


def display_name(discipline_id: str) -> str:
    return get_taxonomy().display_name(discipline_id)


DISCIPLINES: list[str] = get_taxonomy().ids
