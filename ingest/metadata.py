"""Document metadata: manifest.tsv rows, or what can be derived from the file itself."""
from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

from ingest.documents import DocumentMeta
from ingest.errors import ManifestError

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.tsv"
MANIFEST_COLUMNS = ("path", "title", "doc_type", "issuer", "country", "language", "year")
# langdetect answers "no" for Norwegian; the corpus and the manifests use "nb" (Bokmål).
LANGUAGE_ALIASES = {"no": "nb"}
# Customary citation forms for titles that carry no abbreviation of their own.
CITATION_ABBREVIATIONS = {"Brottsbalk": "BrB", "Brottsbalken": "BrB", "Rikoslaki": "RL"}


def read_manifest(folder: Path) -> tuple[dict[str, DocumentMeta], list[str]]:
    """Rows of folder/manifest.tsv keyed by relative path, and problems found in it."""
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return {}, []
    problems: list[str] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            columns = [c.strip() for c in (reader.fieldnames or [])]
            if "path" not in columns:
                raise ManifestError(f"{path}: no 'path' column (columns: {', '.join(columns) or 'none'})")
            rows = {}
            for line_no, row in enumerate(reader, start=2):
                row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k}
                if not row.get("path"):
                    continue
                written = row["path"]
                rel = written.replace("\\", "/")
                while rel.startswith("./"):
                    rel = rel[2:]
                if rel.startswith("/") or ".." in rel.split("/"):
                    problems.append(f"{path}:{line_no}: path {written!r} leaves the folder of the manifest; "
                                    "give paths relative to it")
                    continue
                if not (folder / rel).is_file():
                    problems.append(f"{path}:{line_no}: names a missing file {rel}")
                    continue
                rows[rel] = DocumentMeta(
                    title=row.get("title") or Path(rel).stem,
                    doc_type=row.get("doc_type") or "unknown",
                    issuer=row.get("issuer", ""),
                    country=row.get("country", "").upper(),
                    language=LANGUAGE_ALIASES.get(row.get("language", "").lower(), row.get("language", "").lower()),
                    year=_year(row.get("year", "")),
                    round=_round(row.get("round", "")),
                )
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(f"{path}: unreadable manifest: {exc}") from None
    return rows, problems


def _round(value: str) -> int | None:
    """A GRETA evaluation round from the optional `round` column: "3", "3rd"; None when absent."""
    m = re.match(r"\s*(\d{1,2})", value or "")
    return int(m.group(1)) if m else None


def _year(value: str) -> int | None:
    m = re.search(r"\b(1[89]\d\d|20\d\d)\b", value or "")
    return int(m.group(1)) if m else None


def derive_meta(path: Path, text: str, title_hint: str = "") -> DocumentMeta:
    """Title from the first heading (or the file name), language detected from the text."""
    title = title_hint.strip() or first_heading(text) or path.stem.replace("-", " ").replace("_", " ")
    return DocumentMeta(title=title[:200], doc_type="unknown", language=detect_language(text),
                        year=_year(path.stem))


def first_heading(text: str) -> str:
    for line in text.split("\n")[:40]:
        stripped = line.strip().lstrip("#").strip()
        if 3 <= len(stripped) <= 150 and any(ch.isalpha() for ch in stripped):
            return stripped
    return ""


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language (langdetect, seeded for repeatable answers)."""
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    sample = text[:5000]
    try:
        code = detect(sample)
    except LangDetectException:
        return ""
    return LANGUAGE_ALIASES.get(code, code)


def short_title(meta: DocumentMeta) -> str:
    """Citation prefix for legislation: the abbreviation in the title, e.g. `StGB` or `LkSG`."""
    if meta.doc_type not in {"national_legislation", "international_instrument", "eu_legislation"}:
        return ""
    m = re.search(r"\b(CETS|ETS) No\.? ?(\d+)", meta.title)
    if m:
        return f"{m.group(1)} {m.group(2)}"
    m = re.search(r"\(No\. ?(\d+)\)", meta.title)
    if m and "ILO" in meta.title:
        return f"ILO C{m.group(1)}"
    m = re.search(r"\(([A-Za-zÄÖÜäöüß]{2,14}(?: [A-Z][a-z]+)?)(?: \d{4})?[,)]", meta.title)
    if m and (not m.group(1).islower() or len(m.group(1)) > 5):
        return m.group(1)
    first = re.split(r"[,(–:]", meta.title)[0].strip()
    first = CITATION_ABBREVIATIONS.get(first, first)
    return first if len(first) <= 40 else ""
