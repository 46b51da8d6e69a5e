"""Bad input: every broken file gets a one-line reason, is counted as failed and costs nothing else.

All samples are generated here for real (pypdf writes the PDFs, encrypted ones included); nothing
under test is mocked. The PDF reader runs in a child process, so a looping page is truly stopped.
"""
from __future__ import annotations

import io
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.errors import UnreadableDocument
from ui.settings import load_settings
from tests.conftest import SHARED_CORPUS, copy_subset

SMALL_FILES = [
    "legislation/fi-rikoslaki-1177-2014.txt",
    "legislation/is-almenn-hegningarlog-ch24.txt",
    "pdf/unodc-human-trafficking-indicators.pdf",
]
QUERIES = ["ihmiskauppa rangaistus", "indicators of human trafficking", "Grenzübertritt Zwangsarbeit",
           "människohandel", "forced labour recruitment agency", "mansal"]

LATIN1_TEXT = ("Bericht über Zwangsarbeit\n\nBeim Grenzübertritt wurden die Pässe der Arbeiterinnen "
               "einbehalten. Die Behörde prüfte die Unterkünfte und stellte Schuldknechtschaft fest. "
               "Größere Betriebe müssen ihre Lieferketten überprüfen.\n")
UTF16_TEXT = ("Rapport om människohandel\n\nPolisen utredde människohandel för tvångsarbete på "
              "byggarbetsplatser. Offren fick skydd och rådgivning enligt utlänningslagen.\n")
HTML_PAGE = b"""<!doctype html><html><head><title>t</title><style>.secretstylerule { color: red }</style>
<script>var trackingScriptToken = "zzscriptsecretzz";</script></head>
<body><h1>Recruitment agency guidance</h1><p>Labour recruiters must not charge workers any fees;
forced labour often starts with recruitment debt.</p><noscript>zznoscriptzz</noscript>
<div hidden>zzhiddendivzz</div><script type="module">console.log("zzmodulescriptzz")</script></body></html>"""


# ---------------------------------------------------------------- PDF samples, written with pypdf

def _pdf_writer(lines: list[str]):
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    ops = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    stream = DecodedStreamObject()
    stream.set_data(ops.encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    return writer


def _bytes(writer) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def text_pdf(lines: list[str]) -> bytes:
    return _bytes(_pdf_writer(lines))


def encrypted_pdf(lines: list[str], user_password: str) -> bytes:
    writer = _pdf_writer(lines)
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    return _bytes(writer)


def image_only_pdf() -> bytes:
    """One page that paints a 1x1 image and has no text operators: what a scan looks like."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    image = DecodedStreamObject()
    image.set_data(b"\x80")
    image.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
                  NameObject("/Width"): NumberObject(1), NameObject("/Height"): NumberObject(1),
                  NameObject("/ColorSpace"): NameObject("/DeviceGray"), NameObject("/BitsPerComponent"): NumberObject(8)})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/XObject"): DictionaryObject({NameObject("/Im1"): writer._add_object(image)})})
    content = DecodedStreamObject()
    content.set_data(b"q 612 0 0 792 0 0 cm /Im1 Do Q")
    page[NameObject("/Contents")] = writer._add_object(content)
    return _bytes(writer)


def looping_pdf(levels: int = 12, leaf_ops: int = 100_000) -> bytes:
    """A page pypdf stays inside for tens of minutes: a chain of form XObjects that each draw the
    next one twice, ending in a form of `leaf_ops` "q Q" pairs.

    pypdf (6.x) stops after 5000 form invocations per page, so depth alone no longer loops (the
    old 40-deep chain of tiny forms ended in about 3 s). Here every invocation is slow by itself:
    pypdf re-parses a form on each use, ~1 s for 100 000 pairs, and 2**(levels-1) = 2048 leaf
    invocations stay under the cap. "q Q" adds no text, so memory stays flat. Flate keeps the
    file at ~2 KB."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, NumberObject

    writer = _pdf_writer(["Looping page"])
    page = writer.pages[0]
    font = page["/Resources"]["/Font"]
    previous = None
    for _ in range(levels):
        form = DecodedStreamObject()
        form.set_data(b"/X Do /X Do" if previous else b"BT /F1 12 Tf (leaf) Tj ET " + b"q Q " * leaf_ops)
        form.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
                     NameObject("/BBox"): ArrayObject([NumberObject(0)] * 3 + [NumberObject(100)])})
        resources = DictionaryObject({NameObject("/Font"): font})
        if previous:
            resources[NameObject("/XObject")] = DictionaryObject({NameObject("/X"): previous})
        form[NameObject("/Resources")] = resources
        previous = writer._add_object(form.flate_encode())
    page["/Resources"][NameObject("/XObject")] = DictionaryObject({NameObject("/X"): previous})
    content = DecodedStreamObject()
    content.set_data(b"/X Do")
    page[NameObject("/Contents")] = writer._add_object(content)
    return _bytes(writer)


def corrupt_pdfs() -> dict[str, bytes]:
    good = text_pdf(["A perfectly ordinary page about trafficking indicators and victims."])
    return {
        "truncated.pdf": good[: len(good) // 3],
        "bad-xref.pdf": good.replace(b"xref", b"xjunk").replace(b"startxref", b"startxjunk")[:-40] + b"garbage",
        "not-a-pdf.pdf": b"%PDF-1.7\n" + os.urandom(2000),
    }


GOOD_PDF_LINES = ["Guidance for labour inspectors on forced labour.",
                  "Recruitment agency fees and debt bondage are indicators of trafficking."]


# ---------------------------------------------------------------- reader-level cases

def _read(tmp_path: Path, name: str, data: bytes, **kw):
    from ingest.readers import read_document

    path = tmp_path / name
    path.write_bytes(data)
    return read_document(path, data, page_timeout_s=kw.get("page_timeout_s", 20.0))


@pytest.mark.parametrize("name", ["truncated.pdf", "bad-xref.pdf", "not-a-pdf.pdf"])
def test_corrupt_pdf_is_refused_in_one_line(tmp_path, name):
    data = corrupt_pdfs()[name]
    with pytest.raises(UnreadableDocument) as err:
        _read(tmp_path, name, data)
    assert "\n" not in err.value.reason
    assert err.value.reason.startswith(("corrupt PDF", "no text layer", "PDF has no pages")), err.value.reason


def test_encrypted_pdf_with_empty_user_password_is_read(tmp_path):
    raw = _read(tmp_path, "open.pdf", encrypted_pdf(GOOD_PDF_LINES, ""))
    assert "Recruitment agency fees" in raw.pages[0]


def test_encrypted_pdf_with_real_password_is_refused(tmp_path):
    with pytest.raises(UnreadableDocument) as err:
        _read(tmp_path, "locked.pdf", encrypted_pdf(GOOD_PDF_LINES, "s3cret"))
    assert err.value.reason == "encrypted PDF (password required)"


def test_image_only_pdf_is_no_text_layer_not_empty_success(tmp_path):
    with pytest.raises(UnreadableDocument) as err:
        _read(tmp_path, "scan.pdf", image_only_pdf())
    assert err.value.reason == "no text layer (scanned?)"


def test_zero_byte_file(tmp_path):
    for name in ("empty.txt", "empty.pdf", "empty.html"):
        with pytest.raises(UnreadableDocument) as err:
            _read(tmp_path, name, b"")
        assert err.value.reason == "empty file (0 bytes)"


def test_binary_bytes_named_txt(tmp_path):
    png_header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    with pytest.raises(UnreadableDocument) as err:
        _read(tmp_path, "photo.txt", png_header)
    assert err.value.reason.startswith("binary data, not text")
    no_nul = bytes(b for b in os.urandom(8000) if b) or b"\x01"
    with pytest.raises(UnreadableDocument) as err:
        _read(tmp_path, "noise.txt", no_nul)
    assert err.value.reason.startswith("binary data, not text")


def test_latin1_and_utf16_text_are_decoded(tmp_path):
    assert _read(tmp_path, "de.txt", LATIN1_TEXT.encode("latin-1")).pages[0] == LATIN1_TEXT
    assert _read(tmp_path, "sv.txt", UTF16_TEXT.encode("utf-16")).pages[0] == UTF16_TEXT  # BOM included


def test_html_keeps_only_visible_text(tmp_path):
    text = _read(tmp_path, "page.html", HTML_PAGE).pages[0]
    assert "Labour recruiters must not charge workers" in text
    for secret in ("zzscriptsecretzz", "secretstylerule", "zznoscriptzz", "zzhiddendivzz", "zzmodulescriptzz"):
        assert secret not in text


def test_pdf_page_that_loops_is_stopped_and_its_process_killed(tmp_path):
    """Used to be a thread that kept burning a CPU after the timeout; now the worker is killed."""
    from ingest import readers

    started = time.monotonic()
    with pytest.raises(UnreadableDocument) as err:
        _read(tmp_path, "loop.pdf", looping_pdf(), page_timeout_s=1.0)
    assert err.value.reason == "page 1: text extraction exceeded 1 s (stopped)"
    assert time.monotonic() - started < 10
    assert not any(t.name.startswith("pdfpage") for t in threading.enumerate())
    worker = readers._WORKER
    assert worker is not None and worker.proc.returncode is not None  # killed, not left looping
    # the next PDF gets a fresh worker and reads normally
    assert "Recruitment agency fees" in _read(tmp_path, "ok.pdf", text_pdf(GOOD_PDF_LINES)).pages[0]


def test_pdf_whose_extraction_raises_inside_pypdf(tmp_path):
    """A page whose /Contents is not a stream: pypdf raises; we report the page, in one line."""
    data = text_pdf(GOOD_PDF_LINES).replace(b"/Contents", b"/Contents 0 /Junk", 1)
    try:
        raw = _read(tmp_path, "raises.pdf", data)
    except UnreadableDocument as err:
        assert "\n" not in err.reason
        assert err.reason.startswith(("corrupt PDF", "page 1:", "no text layer")), err.reason
    else:  # pypdf recovered by itself: then the text must be the real one, not garbage
        assert "Recruitment agency fees" in raw.pages[0]


# ---------------------------------------------------------------- the whole batch, through the CLI

def _bad_batch(root: Path) -> dict[str, str]:
    """Write every bad file under root; return {file name: expected start of its reason}."""
    bad = root / "bad"
    bad.mkdir(parents=True)
    expect = {}
    for name, data in corrupt_pdfs().items():
        (bad / name).write_bytes(data)
        expect[name] = ""
    (bad / "locked.pdf").write_bytes(encrypted_pdf(GOOD_PDF_LINES, "s3cret"))
    expect["locked.pdf"] = "encrypted PDF (password required)"
    (bad / "scan.pdf").write_bytes(image_only_pdf())
    expect["scan.pdf"] = "no text layer (scanned?)"
    (bad / "empty.txt").write_bytes(b"")
    expect["empty.txt"] = "empty file (0 bytes)"
    (bad / "huge.txt").write_text("forced labour " * 50_000, encoding="utf-8")  # ~0.7 MB
    expect["huge.txt"] = "file is 0.7 MB, over the 0.5 MB limit (THB_MAX_FILE_MB)"
    (bad / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 8)
    expect["photo.txt"] = "binary data, not text"
    (bad / "loop.pdf").write_bytes(looping_pdf())
    expect["loop.pdf"] = "page 1: text extraction exceeded 1 s (stopped)"
    # a manifest with bad columns: reported, the folder's files proceed with derived metadata
    odd = root / "odd-manifest"
    odd.mkdir()
    (odd / "manifest.tsv").write_text("file\ttitle\nguide.html\tNot used\n", encoding="utf-8")
    expect["manifest.tsv"] = "no 'path' column"
    return expect


def _good_files(root: Path) -> Path:
    """The good documents: real corpus files, generated encodings, HTML, PDFs and a duplicate."""
    good = copy_subset(root / "good", SMALL_FILES)
    (good / "extra").mkdir()
    (good / "extra" / "de-latin1.txt").write_bytes(LATIN1_TEXT.encode("latin-1"))
    (good / "extra" / "sv-utf16.txt").write_bytes(UTF16_TEXT.encode("utf-16"))
    (good / "extra" / "guide.pdf").write_bytes(text_pdf(GOOD_PDF_LINES))
    (good / "extra" / "open-encrypted.pdf").write_bytes(
        encrypted_pdf(["Debt bondage of seasonal berry pickers was reported by the inspectorate."], ""))
    shutil.copyfile(good / SMALL_FILES[0], good / "extra" / "same-bytes-other-name.txt")
    return good


def _results(home: Path) -> dict[str, list[tuple[str, str, float]]]:
    from search.engine import Searcher

    searcher = Searcher(load_settings(home=home).search)
    return {q: [(h.doc_path, h.chunk_id, round(h.score, 5)) for h in searcher.search(q).hits] for q in QUERIES}


@pytest.mark.slow  # PDF worker processes, three ingests of real corpus files
def test_batch_with_every_bad_input_fails_only_those_and_matches_a_clean_run(fake_embedder, tmp_path, monkeypatch):
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"input absent: {SHARED_CORPUS}")
    from ui.cli import cli

    monkeypatch.setenv("THB_MAX_FILE_MB", "0.5")
    monkeypatch.setenv("THB_PDF_PAGE_TIMEOUT_S", "1")
    good = _good_files(tmp_path / "mixed")
    with (good / "manifest.tsv").open("a", encoding="utf-8") as fh:
        fh.write("legislation/gone.txt\tA file that is not there\tnational_legislation\t\tFI\tfi\t2014\t\t\t\n")
    expect = _bad_batch(tmp_path / "mixed")
    (tmp_path / "mixed" / "odd-manifest" / "guide.html").write_bytes(HTML_PAGE)
    runner = CliRunner()
    home = tmp_path / "mixed-home"
    result = runner.invoke(cli, ["--home", str(home), "ingest", "--json", str(good), str(tmp_path / "mixed" / "bad"),
                                 str(tmp_path / "mixed" / "odd-manifest")])
    assert result.exit_code == 1, result.output
    import json

    summary = json.loads(result.stdout.strip().splitlines()[-1])
    failed = {Path(f["path"]).name: f["reason"] for f in summary["failed"]}
    assert set(failed) == set(expect), failed
    for name, start in expect.items():
        assert "\n" not in failed[name] and failed[name], (name, failed[name])
        assert failed[name].startswith(start) or start in failed[name], (name, failed[name])
    assert [w for w in summary["warnings"] if "names a missing file legislation/gone.txt" in w]
    # 3 corpus files + 4 generated + 1 HTML page are documents; the duplicate is an alias
    assert summary["added"] == 8 and summary["unchanged"] == 1

    # plain-text mode: one line per failure, then the summary line, same exit code
    result = runner.invoke(cli, ["--home", str(tmp_path / "plain-home"), "ingest", str(tmp_path / "mixed" / "bad")])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len([ln for ln in lines if ln.startswith("failed: ")]) == len(expect) - 1  # no manifest there
    assert "documents: 0 added, 0 updated, 0 unchanged, 9 failed" in result.stdout

    # the duplicate: one document, both paths listed
    from index import store
    conn = store.connect(home / "index" / "thb.sqlite", readonly=True)
    rows = conn.execute("SELECT doc_path, doc_id FROM paths WHERE doc_path LIKE '%rikoslaki-1177%' "
                        "OR doc_path LIKE '%same-bytes%' ORDER BY doc_path").fetchall()
    assert [r[0] for r in rows] == ["extra/same-bytes-other-name.txt", "legislation/fi-rikoslaki-1177-2014.txt"]
    assert rows[0][1] == rows[1][1]
    assert conn.execute("SELECT COUNT(*) FROM documents WHERE doc_id=?", (rows[0][1],)).fetchone()[0] == 1
    # HTML: only visible text reached the chunks and the FTS terms
    texts = " ".join(r[0] for r in conn.execute("SELECT text FROM chunks"))
    assert "Labour recruiters must not charge workers" in texts
    for secret in ("zzscriptsecretzz", "secretstylerule", "zznoscriptzz", "zzhiddendivzz", "zzmodulescriptzz"):
        assert secret not in texts
    # the manifest with bad columns: its file got derived metadata (title from the first heading)
    title = conn.execute("SELECT d.title FROM documents d JOIN paths p ON p.doc_id=d.doc_id "
                         "WHERE p.doc_path='guide.html'").fetchone()[0]
    assert title == "Recruitment agency guidance"
    conn.close()

    # a clean run over only the good files gives the same answers
    clean = _good_files(tmp_path / "clean")
    shutil.copytree(tmp_path / "mixed" / "odd-manifest", tmp_path / "clean" / "odd-manifest")
    (tmp_path / "clean" / "odd-manifest" / "manifest.tsv").unlink()
    result = runner.invoke(cli, ["--home", str(tmp_path / "clean-home"), "ingest", str(clean),
                                 str(tmp_path / "clean" / "odd-manifest")])
    assert result.exit_code == 0, result.output
    mixed_results, clean_results = _results(home), _results(tmp_path / "clean-home")
    assert mixed_results == clean_results
    # non-ASCII words from the Latin-1 and UTF-16 files are found
    assert mixed_results["Grenzübertritt Zwangsarbeit"][0][0] == "extra/de-latin1.txt"
    assert mixed_results["människohandel"][0][0] == "extra/sv-utf16.txt"
    # a second run: nothing new, the same failures, still exit code 1
    result = runner.invoke(cli, ["--home", str(home), "ingest", str(good), str(tmp_path / "mixed" / "bad")])
    assert result.exit_code == 1 and " 0 added, 0 updated" in result.stdout


def test_cli_exit_codes_ok_and_usage(fake_embedder, tmp_path):
    from ui.cli import cli

    folder = tmp_path / "ok"
    folder.mkdir()
    (folder / "note.txt").write_text("Forced labour indicators: withheld passports and recruitment debt.\n")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(folder)]).exit_code == 0
    assert runner.invoke(cli, ["ingest"]).exit_code == 2  # no PATH
    assert runner.invoke(cli, ["ingest", "--no-such-flag", str(folder)]).exit_code == 2
    missing = runner.invoke(cli, ["ingest", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr  # a usage error (issue 13)


def test_file_deleted_between_discover_and_read_is_counted(fake_embedder, tmp_path):
    """The `progress` hook runs between discover and each read: delete the file right there."""
    from index.builder import ingest_paths

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Victims of trafficking are entitled to a recovery period.\n")
    (folder / "b.txt").write_text("Labour exploitation in agriculture and construction sectors.\n")

    def deleting(items, _desc):
        for source in items:
            if _desc.startswith("reading") and source.doc_path == "a.txt":
                source.path.unlink()
            yield source

    summary = ingest_paths(load_settings().index, [folder], progress=deleting)
    assert summary.added == 1
    assert summary.failed == [(str(folder / "a.txt"), "cannot read file: No such file or directory")]


def test_file_changed_during_ingest_is_picked_up_next_time(fake_embedder, tmp_path):
    """Changed after it was read: this run indexes what it read; the next run sees the change."""
    from index.builder import ingest_paths

    folder = tmp_path / "docs"
    folder.mkdir()
    target = folder / "a.txt"
    target.write_text("Victims of trafficking are entitled to a recovery period.\n")
    (folder / "b.txt").write_text("Labour exploitation in agriculture and construction sectors.\n")

    def changing(items, desc):
        for source in items:
            yield source
            if desc.startswith("reading") and source.doc_path == "a.txt":
                time.sleep(0.01)
                target.write_text("Seasonal berry pickers reported debt bondage to the inspectorate.\n")

    settings = load_settings()
    first = ingest_paths(settings.index, [folder], progress=changing)
    assert first.added == 2 and not first.failed
    second = ingest_paths(settings.index, [folder])
    assert second.updated == 1 and second.unchanged == 1
    from search.engine import Searcher

    hits = Searcher(settings.search).search("berry pickers debt bondage").hits
    assert hits[0].doc_path == "a.txt" and "berry pickers" in hits[0].text


def test_broken_symlink_is_reported_not_dropped(fake_embedder, tmp_path):
    from index.builder import ingest_paths

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ok.txt").write_text("Victims of trafficking are entitled to a recovery period.\n")
    (folder / "gone.txt").symlink_to(tmp_path / "deleted-target.txt")
    summary = ingest_paths(load_settings().index, [folder])
    assert summary.added == 1
    assert summary.failed == [(str(folder / "gone.txt"), "broken symbolic link (target is gone)")]
