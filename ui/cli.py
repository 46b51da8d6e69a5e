"""The `thb` command: ingest, search, eval, tag, serve."""
from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import click

from ingest.errors import ThbError
from index.taxonomy import load_taxonomy
from ui import views
from ui.settings import load_settings

EXIT_FAILED_DOCS = 1
TOP_K = click.IntRange(1, 1000)  # -k 0 or -k -5 is a usage error (exit 2), not an empty answer


def _progress_factory(enabled: bool):
    if not enabled:
        return None

    def progress(iterable, desc):
        from tqdm import tqdm

        return tqdm(iterable, desc=desc, unit="it", leave=False, file=sys.stderr)

    return progress


class ThbGroup(click.Group):
    """Turn library errors into one-line messages and exit code 1."""

    def invoke(self, ctx):
        import sqlite3

        try:
            return super().invoke(ctx)
        except ThbError as exc:
            click.echo(f"thb: error: {one_line(str(exc))}", err=True)
            ctx.exit(1)
        except sqlite3.DatabaseError as exc:  # damage found after the checks on open
            click.echo(f"thb: error: the index store is damaged ({exc}); run `thb ingest --rebuild PATH...` "
                       "to rebuild it", err=True)
            ctx.exit(1)


def one_line(text: str) -> str:
    """Text for a one-line report: control characters (a newline in a file name, say) escaped,
    undecodable bytes of a file name shown as \\xNN."""
    out = []
    for ch in text:
        code = ord(ch)
        if code < 0x20 or code == 0x7F:
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch, f"\\x{code:02x}"))
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


@click.group(cls=ThbGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="thb-research", prog_name="thb")
@click.option("--home", type=click.Path(path_type=Path), help="Data folder (default: $THB_HOME or ~/.local/share/thb-research).")
@click.option("-v", "--verbose", count=True, help="More log detail (-v info, -vv debug).")
@click.pass_context
def cli(ctx, home, verbose):
    """thb-research: search the CBSS anti-trafficking corpus by meaning, with citations."""
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"home": home}


def _settings(ctx, **flags):
    return load_settings(home=ctx.obj.get("home"), **flags)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--prune", is_flag=True, help="Remove documents whose files are gone from the ingested folders.")
@click.option("--rebuild", is_flag=True, help="Drop the index and build it again from these paths.")
@click.option("--wait", "wait_s", type=float, default=0.0, show_default=True, help="Seconds to wait for another ingest's lock.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where new documents are read, chunked and embedded: this process, or Ray tasks.")
@click.option("--address", default=None, help="Ray cluster to use with --engine ray (default: start a local one; "
              "'auto' joins this machine's cluster; ray://HOST:10001 a remote one).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def ingest(ctx, paths, prune, rebuild, wait_s, engine, address, as_json):
    """Add PDF, text, Markdown and HTML files (folders recursively) to the index.

    \b
    Example:
      thb ingest corpus/
      thb ingest ../shared/corpus --prune
      thb ingest ../shared/corpus --engine ray --address auto
    Exit code: 0 all good, 1 some documents failed, 2 usage error.
    """
    from index.builder import ingest_paths

    settings = _settings(ctx)
    summary = ingest_paths(settings.index, list(paths), prune=prune, rebuild=rebuild, wait_s=wait_s,
                           progress=_progress_factory(sys.stderr.isatty() and not as_json), engine=engine,
                           address=address)
    if as_json:
        click.echo(json.dumps({"added": summary.added, "updated": summary.updated, "unchanged": summary.unchanged,
                               "failed": [{"path": p, "reason": r} for p, r in summary.failed],
                               "removed": summary.removed, "chunks": summary.chunks, "pages": summary.pages,
                               "seconds": round(summary.seconds, 2), "warnings": summary.warnings,
                               "ocr_pages": summary.ocr_pages, "ocr_seconds": round(summary.ocr_seconds, 2),
                               "recommendations": summary.recommendations}))
    else:
        for path, reason in summary.failed:
            click.echo(f"failed: {one_line(path)}: {one_line(reason)}", err=True)
        for warning in summary.warnings:
            click.echo(f"warning: {one_line(warning)}", err=True)
        click.echo(summary.line())
    ctx.exit(EXIT_FAILED_DOCS if summary.failed else 0)


@cli.command()
@click.argument("query", required=False)
@click.option("-k", "--top-k", type=TOP_K, default=None, help="Number of hits [default: THB_TOP_K, else 10].")
@click.option("--country", multiple=True, help="Only documents of this country code (DE, NO, SE, INT...). Repeatable.")
@click.option("--doc-type", multiple=True, help="Only this doc type (national_legislation, international_instrument...).")
@click.option("--language", multiple=True, help="Only documents in this language (de, nb, sv...).")
@click.option("--year-from", type=int, help="Only documents from this year on.")
@click.option("--year-to", type=int, help="Only documents up to this year.")
@click.option("--priority", multiple=True, help="Only hits tagged with this thematic priority id.")
@click.option("--strength", multiple=True, type=click.Choice(["urges", "considers", "invites"]),
              help="Only GRETA paragraphs holding a recommendation of this strength. Repeatable.")
@click.option("--queries", "queries_file", type=click.Path(exists=True, path_type=Path),
              help="JSON Lines file with qid and query: batch mode, one output line per query.")
@click.option("--group", is_flag=True, help="Group hits by thematic priority.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines output for programs.")
@click.pass_context
def search(ctx, query, top_k, country, doc_type, language, year_from, year_to, priority, strength, queries_file, group,
           as_json):
    """Search the index by meaning and keywords; every hit comes with its citation.

    \b
    Examples:
      thb search "what must an employer check in its supply chain?"
      thb search "Menschenhandel Strafe" --country DE -k 5
      thb search --queries ../shared/eval/dev.jsonl -k 10 --json > run.jsonl
    """
    from search.engine import Searcher

    if not query and not queries_file:
        raise click.UsageError("give a QUERY or --queries FILE")
    settings = _settings(ctx)
    filters = views.filters_from(country, doc_type, language, year_from, year_to, priority, strength)
    top_k = top_k or settings.search.top_k
    searcher = Searcher(settings.search)
    if queries_file:
        ctx.exit(_search_file(searcher, queries_file, filters, top_k))
    result = searcher.search(query, filters, top_k)
    if as_json:
        payload = {"query": result.query, "message": result.message, "notice": result.notice,
                   "hits": [h.to_json() for h in result.hits]}
        if group:
            payload["groups"] = _groups_json(settings, result.hits)
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    if result.message and not result.hits:
        click.echo(result.message)
        return
    if result.notice:
        click.secho(result.notice, fg="yellow", bold=True)
    if group:
        _print_groups(settings, result.hits)
    else:
        for hit in result.hits:
            _print_hit(hit)


def _search_file(searcher, queries_file: Path, filters, top_k: int) -> int:
    """Batch mode: one JSON line out per query line in; a line that cannot be read (bad JSON, no
    query, undecodable bytes) gets its own {"line", "qid", "error"} line and exit code 1, and the
    other lines are answered."""
    from search.query import clean_query

    rows, out = [], {}
    text = queries_file.read_bytes().decode("utf-8", errors="surrogateescape")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("query"), str):
                raise ValueError("no \"query\" string")
        except ValueError as exc:
            out[number] = {"line": number, "qid": None, "error": f"unreadable query line: {exc}"}
            continue
        qid = row.get("qid", number)
        rows.append((number, clean_query(qid) if isinstance(qid, str) else qid, row["query"]))
    try:
        results = searcher.search_batch([q for _n, _qid, q in rows], filters, top_k) if rows else []
    except Exception:  # noqa: BLE001 - find the line at fault: each query alone
        results = [_search_alone(searcher, q, filters, top_k) for _n, _qid, q in rows]
    for (number, qid, _q), result in zip(rows, results):
        out[number] = ({"line": number, "qid": qid, "error": result} if isinstance(result, str)
                       else {"qid": qid, "notice": result.notice, "hits": [h.to_json() for h in result.hits]})
    for number in sorted(out):
        if "error" in out[number]:
            click.echo(f"thb: error: {queries_file}:{number}: {out[number]['error']}", err=True)
        click.echo(json.dumps(out[number], ensure_ascii=False))
    return 1 if any("error" in o for o in out.values()) else 0


def _search_alone(searcher, query: str, filters, top_k: int):
    """One query's result, or its error as a line of text."""
    try:
        return searcher.search(query, filters, top_k)
    except ThbError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001
        logging.getLogger(__name__).exception("search failed: %r", query)
        return f"search failed: {type(exc).__name__}: {exc}"


def _print_hit(hit, marker: str = "") -> None:
    click.secho(f"{hit.rank:>2}. {hit.citation}{marker}", bold=True)
    meta = " · ".join(str(x) for x in (hit.doc_type, hit.country, hit.language, hit.year) if x)
    click.echo(f"    score {hit.score:.3f} · {meta} · {hit.doc_path}")
    if hit.priorities:
        click.echo(f"    priorities: {', '.join(hit.priorities)}")
    if hit.strength:
        click.echo(f"    GRETA recommendation: {hit.strength}")
    for h in hit.highlights:
        click.secho(f"    » {h.text}", fg="yellow")
    passage = " ".join(hit.text.split())
    click.echo(f"    {passage[:400]}{'…' if len(passage) > 400 else ''}")
    click.echo()


def _groups_json(settings, hits):
    return views.groups_json(hits, load_taxonomy(settings.index.taxonomy))


def _print_groups(settings, hits):
    taxonomy = load_taxonomy(settings.index.taxonomy)
    for group in views.groups(hits, taxonomy):
        click.secho(f"== {group.label} ({len(group.hits)}) ==", fg="cyan", bold=True)
        for hit in group.hits:
            _print_hit(hit, " [shared]" if hit.rank in group.shared_ranks else "")


# `thb eval` configs that are the plain recipes the issue compares against: no ranking features.
RECIPES = ("dense", "lexical", "hybrid")


@cli.command(name="eval")
@click.option("--queries", "queries_file", required=True, type=click.Path(exists=True, path_type=Path),
              help="Queries with evidence passages (../shared/eval/dev.jsonl format).")
@click.option("-k", "--top-k", type=TOP_K, default=10, show_default=True)
@click.option("--config", "configs", multiple=True,
              help="Configs to compare side by side: dense, lexical, hybrid, rrf, hybrid+glossary, "
                   "hybrid+glossary+country, dense+multilingual, hybrid+multilingual, hybrid+glossary+multilingual, "
                   "default (all of it); default-tuning (every ranking feature off), default-docprior, "
                   "default-native, default-nativeweight, default-provision, default-instrument, default-instrumentname, default-role (one off). Repeatable; without it: default.")
@click.option("--run-dir", type=click.Path(path_type=Path), default=Path("."), show_default=True,
              help="Where to write TREC run files and JSON Lines results.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.pass_context
def eval_cmd(ctx, queries_file, top_k, configs, run_dir, as_json):
    """Score the index on a query set: nDCG@10, Recall@10, MRR@10 overall and per kind.

    \b
    Example:
      thb eval --queries ../shared/eval/dev.jsonl --config dense --config lexical --config hybrid
    """
    import dataclasses

    from index.multilingual import DEFAULT as multilingual_default
    from search.engine import Searcher
    from search.ranking import Tuning
    from search.evaluation import evaluate, load_queries, write_trec_run

    base = _settings(ctx)
    queries = load_queries(queries_file)
    run_dir.mkdir(parents=True, exist_ok=True)
    # The recipes a user would assemble (RECIPES: MiniLM, BM25, their fusion) run plain, without the
    # ranking features of search.ranking.Tuning. The others add one part at a time and use MiniLM alone;
    # "+multilingual" adds the multilingual-e5 space (index/multilingual.py) to the dense side.
    plain = {"use_glossary": False, "country_boost": 0.0, "multilingual": "off"}
    on = base.index.multilingual if base.index.multilingual != "off" else multilingual_default
    modes = {"dense": {"fusion": "dense", **plain}, "lexical": {"fusion": "lexical", **plain},
             "lexical+glossary": {"fusion": "lexical", "use_glossary": True, "multilingual": "off"},
             "hybrid": {"fusion": "convex", **plain},
             "hybrid+glossary": {"fusion": "convex", "use_glossary": True, "country_boost": 0.0, "multilingual": "off"},
             "hybrid+glossary+country": {"fusion": "convex", "use_glossary": True, "multilingual": "off"},
             "rrf": {"fusion": "rrf", "multilingual": "off"},
             "dense+multilingual": {"fusion": "dense", **dict(plain, multilingual=on)},
             "hybrid+multilingual": {"fusion": "convex", **dict(plain, multilingual=on)},
             "hybrid+glossary+multilingual": {"fusion": "convex", "use_glossary": True, "country_boost": 0.0,
                                              "multilingual": on},
             # everything on, as `thb search` runs by default
             "default": {"fusion": "convex", "use_glossary": True, "multilingual": on}}
    # the default pipeline with the learned ranker (search/ranker.py) in place of the hand-set fusion
    modes["learned"] = {**modes["default"], "ranker": "learned"}
    # The default ranking with one ranking feature (search.ranking.Tuning) off, or all of them.
    full = modes["default"]
    tunings = {"default-docprior": {"doc_prior_weight": 0.0},
               "default-native": {"native_expansion": False, "dense_glossary": False},
               "default-nativeweight": {"native_lexical_weight": None},
               "default-provision": {"provision_hits": False},
               "default-instrument": {"instrument_boost": False, "instrument_name_off": False},
               "default-instrumentname": {"instrument_name_off": False},
               "default-role": {"role_prior": 0.0}}
    modes.update({name: full for name in tunings})
    modes["default-tuning"] = full
    configs = configs or ("default",)
    searcher = None
    table = {}
    for name in configs:
        if name not in modes:
            raise click.BadParameter(f"unknown config {name!r}; choose from {', '.join(modes)}")
        settings = base.replace(**modes[name]).search
        if searcher is None:
            searcher = Searcher(settings)
        searcher.settings = settings
        searcher.tuning = (Tuning.off() if name in RECIPES or name == "default-tuning"
                           else dataclasses.replace(Tuning(), **tunings.get(name, {})))
        started = time.perf_counter()
        results = searcher.search_batch([q.query for q in queries], top_k=top_k)
        seconds = time.perf_counter() - started
        hits = {q.qid: [h.to_json() for h in r.hits] for q, r in zip(queries, results)}
        write_trec_run(run_dir / f"run.{name}.trec", hits, tag=f"thb-{name}")
        with (run_dir / f"run.{name}.jsonl").open("w", encoding="utf-8") as fh:
            for qid, hs in hits.items():
                fh.write(json.dumps({"qid": qid, "hits": hs}, ensure_ascii=False) + "\n")
        table[name] = evaluate(queries, hits, k=top_k)
        table[name]["all"]["seconds_per_query"] = round(seconds / max(1, len(queries)), 4)
    if as_json:
        click.echo(json.dumps(table, indent=2))
        return
    _print_eval_table(table, top_k)


def _print_eval_table(table: dict, k: int) -> None:
    kinds = list(next(iter(table.values())).keys())
    w = max(10, *(len(name) for name in table))
    click.echo(f"{'config':<{w}} {'kind':<20} {'n':>3} {'nDCG@' + str(k):>8} {'R@' + str(k):>7} {'MRR@' + str(k):>7}")
    for name, per_kind in table.items():
        for kind in kinds:
            m = per_kind[kind]
            click.echo(f"{name:<{w}} {kind:<20} {m['queries']:>3} {m['ndcg']:>8.3f} {m['recall']:>7.3f} {m['mrr']:>7.3f}")
        pa = per_kind["all"].get("priority_agreement")
        click.echo(f"{name:<{w}} priority_agreement: {pa if pa is not None else 'n/a'}; "
                   f"{per_kind['all']['seconds_per_query'] * 1000:.0f} ms/query (batch)")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (127.0.0.1 keeps it local).")
@click.option("--port", type=int, default=7860, show_default=True)
@click.option("--ingest", "ingest_paths_", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Ingest these paths before serving (incremental).")
@click.pass_context
def serve(ctx, host, port, ingest_paths_):
    """Serve the research app in the browser (Gradio).

    \b
    Example:
      thb serve --ingest corpus/        # then open the printed address
    Auth: set THB_AUTH="user:password" (or THB_AUTH_FILE with user:password lines) for exposed use.
    """
    from ingest.ocr import status_line
    from ui.app import serve_app

    settings = _settings(ctx)
    click.echo(status_line(settings.ingest.ocr), err=True)
    if ingest_paths_:
        from index.builder import ingest_paths

        summary = ingest_paths(settings.index, list(ingest_paths_), progress=_progress_factory(sys.stderr.isatty()),
                               wait_s=60)
        click.echo(summary.line())
        for path, reason in summary.failed:
            click.echo(f"failed: {path}: {reason}", err=True)
    serve_app(settings, host=host, port=port)


def _register_commands() -> None:
    """Commands that live in their own modules (tagging, recommendations, benchmarks)."""
    from bench.cli import bench
    from ui.cli_recommendations import recommendations
    from ui.cli_tag import retag, tag
    from ui.cli_train_ranker import train_ranker

    for command in (tag, retag, bench, recommendations, train_ranker):
        cli.add_command(command)


_register_commands()


def main(argv=None):
    cli.main(args=argv, prog_name="thb", standalone_mode=True)


if __name__ == "__main__":
    main()
