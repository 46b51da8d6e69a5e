"""Readable labels for codes the index stores: countries, document types, languages; plural forms."""
from __future__ import annotations

# ISO 3166-1 alpha-2 names of the CBSS member states and the other codes the corpus uses.
COUNTRY_NAMES = {
    "DK": "Denmark", "EE": "Estonia", "FI": "Finland", "DE": "Germany", "IS": "Iceland", "LV": "Latvia",
    "LT": "Lithuania", "NO": "Norway", "PL": "Poland", "SE": "Sweden", "US": "United States",
    "GB": "United Kingdom", "NL": "Netherlands", "FR": "France", "RU": "Russia", "UA": "Ukraine",
    "INT": "International", "EU": "European Union", "CBSS": "Council of the Baltic Sea States",
}
DOC_TYPE_LABELS = {
    "national_legislation": "National legislation", "international_instrument": "International instrument",
    "eu_legislation": "EU legislation", "greta_report": "GRETA report", "report": "Report",
    "taskforce_publication": "Task Force publication", "guidance": "Guidance", "unknown": "Unknown type",
}
# ISO 639-1 names (in English) of the languages of the corpus and the member states.
LANGUAGE_NAMES = {
    "en": "English", "de": "German", "sv": "Swedish", "nb": "Norwegian (bokmål)", "nn": "Norwegian (nynorsk)",
    "no": "Norwegian", "da": "Danish", "fi": "Finnish", "et": "Estonian", "lv": "Latvian", "lt": "Lithuanian",
    "pl": "Polish", "is": "Icelandic", "ru": "Russian", "fr": "French", "nl": "Dutch",
}


def country_label(code: str) -> str:
    """'Norway (NO)'; an unknown code stands for itself."""
    code = (code or "").strip()
    name = COUNTRY_NAMES.get(code.upper())
    return f"{name} ({code})" if name else (code or "No country")


def doc_type_label(doc_type: str) -> str:
    return DOC_TYPE_LABELS.get(doc_type or "", (doc_type or "unknown").replace("_", " ").capitalize())


def language_label(code: str) -> str:
    name = LANGUAGE_NAMES.get((code or "").lower())
    return name or (code or "unknown language")


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 passage', '3 passages'."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def choices(codes, label) -> list[tuple[str, str]]:
    """Dropdown choices (label, code) sorted by label."""
    return sorted(((label(c), c) for c in codes), key=lambda pair: pair[0].lower())
