"""The current search as a query string (?q=...&country=NO,SE&page=2), and back: a link to a
search is the search."""
from __future__ import annotations


def filter_values_of(f: dict) -> tuple:
    return (tuple(f.get("countries") or ()), tuple(f.get("doc_types") or ()), tuple(f.get("languages") or ()),
            f.get("year_from"), f.get("year_to"), tuple(f.get("priorities") or ()), tuple(f.get("strengths") or ()))


URL_KEYS = ("country", "type", "lang", "from", "to", "prio", "strength")


def url_query(query, filter_values, view) -> str:
    """The search as a query string: q, the filters (comma-separated), page, focus, group."""
    from urllib.parse import urlencode

    if not (query or "").strip():
        return ""
    pairs = [("q", query.strip())]
    for key, value in zip(URL_KEYS, filter_values):
        text = ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value or "")
        if text.strip():
            pairs.append((key, text.strip()))
    view = view or {}
    if int(view.get("page") or 1) > 1:
        pairs.append(("page", str(int(view["page"]))))
    if view.get("focus"):
        pairs.append(("focus", view["focus"]))
    if view.get("grouped"):
        pairs.append(("group", "1"))
    return urlencode(pairs)


def form_from_url(params: dict) -> dict:
    """The form values a shared link carries (unknown keys ignored, bad numbers dropped)."""
    split = lambda key: tuple(v for v in (params.get(key) or "").split(",") if v.strip())  # noqa: E731
    year = lambda key: (params.get(key) or "").strip() if (params.get(key) or "").strip().isdigit() else None  # noqa: E731
    page = params.get("page") or "1"
    return {"query": params.get("q") or "",
            "values": (split("country"), split("type"), split("lang"), year("from"), year("to"), split("prio"),
                       split("strength")),
            "page": max(1, min(50, int(page))) if page.isdigit() else 1,
            "focus": params.get("focus") or "", "grouped": params.get("group") == "1"}
