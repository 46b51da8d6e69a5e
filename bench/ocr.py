"""OCR bench: real pages of ../shared/corpus set as images, read back by ingest/ocr.py.

`python -m bench.ocr` prints, per language, the character similarity of the OCR text to the
original and the seconds per page, and appends JSON lines to bench/results.jsonl.

Pages: page 1 of an English PDF rasterised with pdftoppm (its text layer is the reference), and
the opening of German, Swedish, Polish (and other) legislation drawn onto an A4 page with PIL and
DejaVu Serif. Similarity is rapidfuzz's normalised Levenshtein similarity over the characters
with all whitespace removed (line breaks and hyphenation differ by layout, not by reading).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SHARED_CORPUS = PROJECT.parent / "shared" / "corpus"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
DPI = 150  # the page images are stored at 150 dpi, a common office-scanner setting
# Pages whose text layer is all the page shows (page 1 of the FBI report has a logo banner drawn as an image).
PDF_CASES = {"en": ("pdf/fbi-ucr-human-trafficking-2014.pdf", 11)}
TEXT_CASES = {
    "de": "legislation/de-stgb-strafgesetzbuch.txt",
    "sv": "legislation/se-brottsbalken-1962-700-excerpt-4kap-6kap.txt",
    "pl": "legislation/pl-kodeks-karny-excerpt.txt",
    "lv": "legislation/lv-kriminallikums-ch15.txt",
    "nb": "legislation/no-straffeloven-2005.txt",
    "fi": "legislation/fi-rikoslaki-1177-2014.txt",
    "is": "legislation/is-almenn-hegningarlog-ch24.txt",
}


@dataclass(frozen=True, slots=True)
class ScanCase:
    """An image-only PDF and the text it shows."""

    language: str
    source: str
    pdf: Path
    text: str


def similarity(a: str, b: str) -> float:
    """Character similarity in [0, 1], whitespace ignored."""
    from rapidfuzz.distance import Levenshtein

    def norm(s: str) -> str:
        return "".join(unicodedata.normalize("NFC", s).split())

    return float(Levenshtein.normalized_similarity(norm(a), norm(b)))


def image_pdf_of_pdf_page(pdf: Path, page: int, out: Path) -> tuple[Path, str]:
    """Rasterise one page with pdftoppm and wrap the image into an image-only PDF; also return
    the page's original text layer."""
    from PIL import Image
    from pypdf import PdfReader

    stem = out.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", "-singlefile", "-f", str(page), "-l", str(page),
                    str(pdf), str(stem)], check=True, capture_output=True)
    png = stem.with_suffix(".png")
    Image.open(png).convert("L").save(out, "PDF", resolution=DPI)
    png.unlink()
    return out, PdfReader(str(pdf)).pages[page - 1].extract_text() or ""


def page_text(text: str, max_chars: int = 1800) -> str:
    """The opening of a text, whole lines, about one printed page."""
    lines, size = [], 0
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if not line:
            continue
        if size + len(line) > max_chars and lines:
            break
        lines.append(line)
        size += len(line)
    return "\n".join(lines)


def image_pdf_of_text(text: str, out: Path, *, font_pt: float = 11.0) -> Path:
    """Draw text on an A4 page image (DejaVu Serif, wrapped) and save it as an image-only PDF."""
    from PIL import Image, ImageDraw, ImageFont

    width, height, margin = int(8.27 * DPI), int(11.69 * DPI), int(0.8 * DPI)
    font = ImageFont.truetype(str(FONT), int(font_pt / 72 * DPI))
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    y, line_h = margin, int(font_pt / 72 * DPI * 1.35)
    for paragraph in text.split("\n"):
        words, line = paragraph.split(), ""
        for word in words:
            trial = f"{line} {word}".strip()
            if draw.textlength(trial, font=font) > width - 2 * margin and line:
                draw.text((margin, y), line, font=font, fill=0)
                y, line = y + line_h, word
            else:
                line = trial
        if line:
            draw.text((margin, y), line, font=font, fill=0)
            y += line_h
        y += line_h // 3
    image.save(out, "PDF", resolution=DPI)
    return out


def scan_cases(folder: Path, languages: list[str] | None = None, corpus: Path = SHARED_CORPUS) -> list[ScanCase]:
    """Image-only PDFs of real corpus pages, written into folder."""
    cases = []
    for lang, (rel, page) in PDF_CASES.items():
        if languages is None or lang in languages:
            pdf, text = image_pdf_of_pdf_page(corpus / rel, page, folder / f"scan-{lang}.pdf")
            cases.append(ScanCase(lang, f"{rel} p. {page}", pdf, text))
    for lang, rel in TEXT_CASES.items():
        if languages is None or lang in languages:
            text = page_text((corpus / rel).read_text(encoding="utf-8"))
            cases.append(ScanCase(lang, rel, image_pdf_of_text(text, folder / f"scan-{lang}.pdf"), text))
    return cases


def measure(case: ScanCase, *, language: str | None = None) -> dict:
    """OCR the case's page (in `language`, default its own; "" detects it) and score it."""
    from ingest import ocr

    started = time.perf_counter()
    pages = ocr.ocr_pdf_pages(case.pdf.read_bytes(), [1], case.language if language is None else language)
    seconds = time.perf_counter() - started
    return {"language": case.language, "tesseract": pages[0].language, "source": case.source,
            "similarity": round(similarity(pages[0].text, case.text), 4), "seconds_per_page": round(seconds, 2),
            "chars": len(case.text)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ocr", description=__doc__.split("\n")[0])
    parser.add_argument("--languages", help="comma-separated ISO codes (default: all)")
    parser.add_argument("--english-only", action="store_true", help="also read every page with the English model")
    parser.add_argument("--no-save", action="store_true", help="print only, do not append to bench/results.jsonl")
    args = parser.parse_args(argv)
    from bench.runner import RESULTS, context
    from ui.settings import load_settings

    ctx = dict(context(load_settings()), section="ocr")
    rows = []
    with tempfile.TemporaryDirectory(prefix="thb-bench-ocr-") as tmp:
        for case in scan_cases(Path(tmp), args.languages.split(",") if args.languages else None):
            rows.append(measure(case))
            if args.english_only and case.language != "en":
                rows.append(dict(measure(case, language="en"), language=f"{case.language} (eng model)"))
    print(f"commit {ctx['commit']}  cores {ctx['cores']}  load {ctx['load_avg']}  dpi {DPI}")
    print(f"{'language':<16}{'model':<7}{'similarity':>11}{'s/page':>8}  source")
    for r in rows:
        print(f"{r['language']:<16}{r['tesseract']:<7}{r['similarity']:>11.3f}{r['seconds_per_page']:>8.2f}  {r['source']}")
    if not args.no_save:
        with RESULTS.open("a", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(dict(ctx, **r), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
