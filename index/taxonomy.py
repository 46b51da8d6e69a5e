"""Thematic-priority taxonomies as data: one TOML file per strategic-plan period.

The ingest stage owns the taxonomy because every later stage needs it: the index tags chunks
with it, search groups hits by it, the UI shows its labels.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import ThbError

# Languages every priority must have seed terms in (the issue: "at least en and de").
REQUIRED_LANGUAGES = ("en", "de")


class TaxonomyError(ThbError):
    """A taxonomy file is missing, not TOML, or does not follow the taxonomy schema."""


@dataclass(frozen=True, slots=True)
class Priority:
    """One thematic priority (or strategic objective): id, label, description, seed terms by language.

    `threshold` is the calibrated score above which a chunk is tagged with it (None: the
    taxonomy's shared threshold applies).
    """

    id: str
    label: str
    description: str
    terms: dict[str, tuple[str, ...]]
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class TaggingParams:
    """Calibration of the tagger, kept with the taxonomy it was calibrated for."""

    threshold: float = 0.5
    dense_weight: float = 0.5
    dense_floor: float = 0.15
    dense_ceiling: float = 0.45
    term_saturation: int = 2
    max_labels: int = 3


@dataclass(frozen=True, slots=True)
class Offence:
    """An offence of national law whose definition covers priorities: a provision that names it in
    its title or opening and defines or punishes it carries them (index/provisions.py). `names`:
    lower-case forms by language, as they occur in the codes ("handlu ludźmi")."""

    priorities: tuple[str, ...]
    names: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """A plan period's priorities and objectives (a second facet, same shape)."""

    id: str
    title: str
    period: str
    priorities: tuple[Priority, ...]
    objectives: tuple[Priority, ...] = ()
    source: str = ""
    tagging: TaggingParams = field(default_factory=TaggingParams)
    offences: tuple[Offence, ...] = ()

    def label_of(self, priority_id: str) -> str:
        """The label of a priority or objective id; the id itself when unknown."""
        for item in self.priorities + self.objectives:
            if item.id == priority_id:
                return item.label
        return priority_id

    @property
    def priority_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.priorities)


def load_taxonomy(path: Path | str) -> Taxonomy:
    """Read and validate a taxonomy TOML file; raises TaxonomyError with a one-line reason."""
    path = Path(path).expanduser()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise TaxonomyError(f"{path}: taxonomy file not found; pass --taxonomy with a file "
                            f"from corpus/taxonomy/") from None
    except OSError as exc:
        raise TaxonomyError(f"{path}: cannot read taxonomy: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TaxonomyError(f"{path}: not valid TOML: {exc}") from None
    return parse_taxonomy(data, where=str(path))


def parse_taxonomy(data: dict, *, where: str = "taxonomy") -> Taxonomy:
    """Validate a parsed taxonomy mapping and build the Taxonomy."""
    for key in ("id", "title", "period"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise TaxonomyError(f"{where}: missing or empty top-level string {key!r}")
    priorities = _items(data.get("priorities", []), "priorities", where)
    if not priorities:
        raise TaxonomyError(f"{where}: no [[priorities]] entries")
    objectives = _items(data.get("objectives", []), "objectives", where)
    ids = [p.id for p in priorities + objectives]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise TaxonomyError(f"{where}: duplicate ids: {', '.join(duplicates)}")
    return Taxonomy(id=data["id"], title=data["title"], period=data["period"], priorities=priorities,
                    objectives=objectives, source=str(data.get("source", "")),
                    tagging=_tagging(data.get("tagging", {}), where),
                    offences=_offences(data.get("offences", []), {p.id for p in priorities}, where))


def _offences(raw, ids: set[str], where: str) -> tuple[Offence, ...]:
    if not isinstance(raw, list):
        raise TaxonomyError(f"{where}: [[offences]] must be an array of tables")
    out = []
    for n, entry in enumerate(raw, 1):
        entry = entry if isinstance(entry, dict) else {}
        priorities, names = entry.get("priorities"), entry.get("names")
        if (not isinstance(priorities, list) or not priorities or not all(p in ids for p in priorities)
                or not isinstance(names, dict) or not names
                or not all(isinstance(v, list) and all(isinstance(t, str) and t.strip() for t in v)
                           for v in names.values())):
            raise TaxonomyError(f"{where}: offences entry {n} needs priorities (known priority ids) and "
                                f"names (language -> list of strings)")
        out.append(Offence(tuple(priorities), {lang: tuple(t.lower() for t in v) for lang, v in names.items()}))
    return tuple(out)


def _items(raw, section: str, where: str) -> tuple[Priority, ...]:
    if not isinstance(raw, list):
        raise TaxonomyError(f"{where}: [[{section}]] must be an array of tables")
    return tuple(_priority(entry, f"{where}: {section}[{n}]") for n, entry in enumerate(raw))


def _priority(entry, where: str) -> Priority:
    if not isinstance(entry, dict):
        raise TaxonomyError(f"{where}: must be a table")
    for key in ("id", "label", "description"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise TaxonomyError(f"{where}: missing or empty string {key!r}")
    pid = entry["id"]
    if not pid.replace("_", "").isalnum() or pid != pid.lower():
        raise TaxonomyError(f"{where}: id {pid!r} must be lower-case letters, digits and underscores")
    raw_terms = entry.get("terms")
    if not isinstance(raw_terms, dict):
        raise TaxonomyError(f"{where} ({pid}): missing [terms] table")
    terms: dict[str, tuple[str, ...]] = {}
    for lang, values in raw_terms.items():
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            raise TaxonomyError(f"{where} ({pid}): terms.{lang} must be a list of non-empty strings")
        terms[lang] = tuple(v.strip().lower() for v in values)
    missing = [lang for lang in REQUIRED_LANGUAGES if not terms.get(lang)]
    if missing:
        raise TaxonomyError(f"{where} ({pid}): no terms in {', '.join(missing)}")
    threshold = entry.get("threshold")
    if threshold is not None and not (isinstance(threshold, (int, float)) and 0.0 <= threshold <= 1.0):
        raise TaxonomyError(f"{where} ({pid}): threshold must be a number in [0, 1]")
    return Priority(id=pid, label=entry["label"].strip(), description=" ".join(entry["description"].split()),
                    terms=terms, threshold=None if threshold is None else float(threshold))


def _tagging(raw, where: str) -> TaggingParams:
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{where}: [tagging] must be a table")
    defaults = TaggingParams()
    values = {}
    for name in TaggingParams.__dataclass_fields__:
        if name in raw:
            value = raw[name]
            kind = type(getattr(defaults, name))
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TaxonomyError(f"{where}: tagging.{name} must be a number")
            values[name] = kind(value)
    unknown = sorted(set(raw) - set(TaggingParams.__dataclass_fields__))
    if unknown:
        raise TaxonomyError(f"{where}: unknown tagging keys: {', '.join(unknown)}")
    return TaggingParams(**values)
