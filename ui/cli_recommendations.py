"""`thb recommendations`: GRETA's recommendations as records, filtered, in text, JSON Lines or CSV."""
from __future__ import annotations

import csv
import json
import sys

import click

from ingest.errors import UsageError
from ingest.greta import STRENGTHS
from ui.settings import load_settings

CSV_FIELDS = ("citation", "country", "round", "year", "paragraph", "page", "strength", "text", "authorities",
              "articles", "priorities", "source", "status")


@click.command(name="recommendations")
@click.option("--country", multiple=True, help="Country code (LV, EE...). Repeatable.")
@click.option("--strength", multiple=True, type=click.Choice(STRENGTHS), help="urges | considers | invites. Repeatable.")
@click.option("--priority", multiple=True, help="Thematic priority id (victim_protection...). Repeatable.")
@click.option("--round", "rounds", multiple=True, type=int, help="Evaluation round (1, 2, 3...). Repeatable.")
@click.option("--across-rounds", is_flag=True,
              help="With one --country: mark each recommendation repeated from the round before, new, or no longer made.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl", "csv"]), default="text", show_default=True)
@click.pass_context
def recommendations(ctx, country, strength, priority, rounds, across_rounds, fmt):
    """List the recommendations extracted from GRETA evaluation reports.

    \b
    Examples:
      thb recommendations --country LV --strength urges
      thb recommendations --priority victim_protection --round 3 --format csv > recs.csv
      thb recommendations --country LV --across-rounds
    """
    from index import catalog, store
    from index.recommendations import RecommendationFilters, list_recommendations

    settings = load_settings(home=(ctx.obj or {}).get("home"))
    db = settings.index_dir / catalog.DB_NAME
    if not db.is_file():
        raise UsageError(f"no index in {settings.index_dir}: run `thb ingest FOLDER` first")
    conn = store.connect(db, readonly=True)
    if across_rounds:
        if len(country) != 1:
            raise click.UsageError("--across-rounds needs exactly one --country")
        from search.rounds import across_rounds as link

        links = link(settings.index, conn, country[0], rounds[0] if rounds else None)
        rows = [(ln.rec, ln.label) for ln in links
                if (not strength or ln.rec.strength in strength) and (not priority or set(priority) & set(ln.rec.priorities))]
    else:
        filters = RecommendationFilters(countries=tuple(country), strengths=tuple(strength),
                                        priorities=tuple(priority), rounds=tuple(rounds))
        rows = [(r, "") for r in list_recommendations(conn, filters)]
    _emit(rows, fmt)


def _emit(rows, fmt: str) -> None:
    if fmt == "jsonl":
        for rec, status in rows:
            click.echo(json.dumps(dict(rec.to_json(), **({"status": status} if status else {})), ensure_ascii=False))
        return
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for rec, status in rows:
            row = rec.to_json()
            for key in ("authorities", "articles", "priorities"):
                row[key] = "; ".join(row[key])
            writer.writerow(dict(row, status=status))
        return
    if not rows:
        click.echo("No recommendation matches (GRETA reports are ingested with doc_type greta_report).")
    for rec, status in rows:
        tag = f" [{status}]" if status else ""
        click.secho(f"{rec.citation} · {rec.strength}{tag}", bold=True)
        extra = " · ".join(x for x in (", ".join(rec.authorities), "Art. " + ", ".join(rec.articles) if rec.articles else "",
                                      ", ".join(rec.priorities)) if x)
        if extra:
            click.echo(f"    {extra}")
        click.echo(f"    {rec.text}")
