"""Know what each chunk is: a role from the document's own structure first, its text second.

A chunk's role is one of `ROLES`. The rules read, in this order:

1. the chunk's own layout, which no section label can overrule: an excerpt's editorial note, a
   table of contents (dot leaders, lines ending in page numbers), a table or figure of numbers,
   references and footnotes (citation lines, `[^1]:` footnotes, amendment histories);
2. the document's structure: the provision's title in the section label ("Article 4 –
   Definitions", "§ 411. Ikraftsetting"), the chapter or heading the chunk sits under ("CHAPTER X
   FINAL CLAUSES", "Substantive criminal law", "Annex", "Endnotes"), and whether the chunk comes
   before the first provision (title, preamble, enacting formula);
3. the provision's text: the definition formula ("For the purposes of this Convention ... shall
   mean"), sanctions in the corpus's languages ("Freiheitsstrafe", "fängelse", "vankeutta" ...),
   the treaty formulas of final clauses (ratification, denunciation, depositary ...);
4. the default: `operative` for a provision of a legal text, `body` for everything else (report
   paragraphs, plan text, press releases).

`chunk_role` is pure (text and labels in, a role out). `document_roles` gives every chunk of a
document its role, passing each chunk its heading and the whole provision it belongs to, so that
all chunks of one article share the article's role.
"""
from __future__ import annotations

import functools
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.documents import Chunk, Document
from ingest.structure import CHAPTER_PATTERNS

ROLES = ("front_matter", "preamble", "toc", "definition", "operative", "penalty", "final_clause",
         "annex", "table", "references", "editorial_note", "body")
LEGAL_TYPES = frozenset({"national_legislation", "international_instrument", "eu_legislation"})
REPORT_HEADING_REACH = 1500  # characters after a role heading ("Endnotes", "Annex") that it still governs


def _rx(*alternatives: str, flags: int = re.IGNORECASE) -> re.Pattern:
    return re.compile("|".join(f"(?:{a})" for a in alternatives), flags)


# A provision label inside a section label ("CETS 197 Article 4 Definitions", "BrB 4 kap. 1 a §").
_PROVISION = _rx(r"\b(?:Article|Artikel|Artikkel|Artikla|Artykuł|Art\.)\s*\d+", r"§", r"\b\d+(?:\.\d+)?\s*\.?\s*pants\b",
                 r"\b\d+\.\s*gr\.", r"\bpara\.\s*\d+")
_PROVISION_TITLE = _rx(r"^.*?(?:\b(?:Article|Artikel|Artikkel|Artikla|Artykuł|Art\.)\s*\d+[a-z]?|§\s*\d*\s?[a-z]?\b|"
                       r"\bpants\b|\bgr\.(?:\s?[a-z]\.)?)[\s.:–-]*")

# Layout: editorial notes, tables of contents, tables, references.
_EDITORIAL_START = _rx(r"^\W{0,3}(?:EXCERPT|WHOLE ACT|Excerpts?\b|Extract\b|Utdrag|Uddrag|Auszug|Ote\b|Väljavõte|"
                       r"Izvilkums|Ištrauka|Wyciąg|Útdráttur|Unofficial (?:English )?translation|This excerpt|"
                       r"Editor'?s note|Note by the editor|Source:)")
_EDITORIAL_LINE = _rx(r"^\[(?:Utdrag|Uddrag|Auszug|Excerpt|Extract|Ote|Wyciąg|Izvilkums)\b", flags=re.I | re.M)
_REPEALED = _rx(r"^\W*(?:weggefallen|aufgehoben|opphevet|upphävd|ophævet|kumottu|kumottu|uchylony|uchylona|"
                r"izslēgts|netek galios|kehtetu|fellt brott|repealed|deleted)\b")
_TOC_LINE = re.compile(r"(?:\.\s?){4,}\s*\d{1,4}\s*$|…{2,}\s*\d{1,4}\s*$|_{4,}\s*\d{1,4}\s*$")
_TOC_NUMBER_FIRST = re.compile(r"^(\d{1,3})\s+[A-Z][^\d.]{2,60}$")
_TOC_TITLE = _rx(r"^(?:table of )?contents$", r"^inhalt(?:sverzeichnis)?$", r"^innehåll(?:sförteckning)?$",
                 r"^sisällys(?:luettelo)?$", r"^indholds?(?:fortegnelse)?$", r"^innhold(?:sfortegnelse)?$",
                 r"^spis treści$", r"^saturs$", r"^turinys$", r"^sisukord$", r"^efnisyfirlit$")
_NUMBER_TOKEN = re.compile(r"^[(\[]?[-–+]?(?:\d[\d.,]*|\.\d+)%?[)\]*¹²³⁴]?[.,;]?$|^[Nn]=\d+$")
_CITATION_MARK = _rx(r"https?://|www\.\w", r"\bIbid\b|\bibid\.|\bop\. cit\b|\bet al\.", r"\(\d{4}\)|\b(?:19|20)\d\d\)[,.]",
                     r"\bpp?\.\s?\d", r"\bvol\.\s?\d", r"\bavailable (?:at|from)\b", r"\baccessed\b",
                     r"“[^”]{8,}”,", r"\bdoi\b")
_LEGAL_CITATION = _rx(r"\bABl\.\s*(?:EG|EU)?\s*Nr\.", r"\bBGBl\.", r"\bO\.?J\.? L\s?\d", r"\bOfficial Journal\b", r"\bDz\.\s?U\.",
                     r"\bEYVL\b")
_FOOTNOTE_DEF = re.compile(r"^\[\^[^\]]+\]:", re.M)
_AMENDMENT_NOTE = _rx(r"^\d+\)\s*L\.\s*\d+/\d{4}", r"^Endret ved (?:lov|lover|forskrift)\b", r"^Tilføyd ved\b",
                      r"^\(\d{2}\.\d{2}\.\d{4}\. likuma redakcijā", r"^\(Ar \d{2}\.\d{2}\.\d{4}\. likumu",
                      r"^\d+\s+Fra \d+ \w+ \d{4}", r"^Ändrad genom\b", r"^\(Izslēgts ar\b")

# Structure: titles of provisions, chapters and headings.
_TITLE_DEFINITION = _rx(r"\bdefinitions?\b", r"\buse of terms\b", r"\bmeaning of\b", r"\binterpretation\b",
                        r"begriffsbestimmung", r"\bdefinition(?:en|er)\b", r"\bdefinisjoner\b", r"\bmääritelmät\b",
                        r"objaśnienie wyrażeń", r"\bterminy\b", r"\btermini\b", r"\bsąvokos\b", r"\bmõisted\b",
                        r"\bskilgreiningar\b", r"personen- und sachbegriffe",
                        # one term's article: "Cilvēku tirdzniecības jēdziens" (the notion of trafficking)
                        r"\bjēdziens\b", r"\bsąvoka\b", r"\bmõiste\b", r"\bmääritelmä\b")
_TITLE_FINAL = _rx(r"\bsignature\b", r"\bratification\b", r"\baccession\b", r"\bentry into force\b",
                   r"\breservations?\b", r"\bdenunciation\b", r"\bdepositary\b", r"\bnotifications?\b$",
                   r"\bterritorial application\b", r"\bamendments?\b", r"\bauthentic texts?\b",
                   r"\bfinal (?:clauses|provisions)\b", r"\bsettlement of disputes\b", r"\blanguages\b$",
                   r"inkrafttreten", r"\bschlussbestimmungen\b", r"\bschlussvorschriften\b", r"übergangs",
                   r"\bikrafts?etting\b", r"\bikrafttred", r"\bikraftträdande\b", r"\bvoimaantulo\b",
                   r"wejście w życie", r"przepisy (?:końcowe|przejściowe)", r"stāšanās spēkā", r"įsigaliojimas",
                   r"jõustumine", r"\bgildistaka\b", r"\bsluttbestemmelser\b", r"\bslutbestämmelser\b",
                   r"\bloppusäännökset\b", r"\bamendments to the convention\b")
_TITLE_PENALTY = _rx(r"criminali[sz]ation", r"\bsanctions?\b", r"\bpenalt(?:y|ies)\b", r"\baggravating\b",
                     r"\bpunishment\b", r"\bcriminal law\b", r"\bpenal provisions\b", r"\bliability of legal persons\b",
                     r"\bcorporate liability\b", r"strafvorschrift", r"bußgeld", r"\bstrafen\b", r"\brechtsfolgen der tat",
                     r"straffebestemmelser", r"straffbestämmelser", r"rangaistussäännökset", r"przepisy karne",
                     r"\bstraffebud\b", r"\bstraff?\b$", r"\w*straff\b", r"\bstrafferettslige reaksjon",
                     r"\bforvaring\b", r"^bot$", r"\brettighetstap\b", r"straffutmåling", r"\binndragning\b",
                     r"\breaksjonsfastsettelse", r"påföljd", r"\brangaistu", r"\bkary\b", r"\bsodi\b")
# Titles of treaty articles that are operative however many final-clause words they hold.
_TITLE_OPERATIVE = _rx(r"\bjurisdiction\b", r"\bconference of the parties\b", r"\bcommittee of the parties\b",
                       r"\bgroup of experts\b", r"\bmonitoring\b", r"\bmutual legal assistance\b", r"\bextradition\b",
                       r"\btransfer of sentenced persons\b")
_TITLE_ANNEX = _rx(r"^(?:annex|appendix|anhang|anlage|liite|bilaga|vedlegg|bilag|załącznik|pielikums|priedas|lisa|"
                   r"viðauki|schedule)(?:\s+(?:[IVXLC]+|\d+|[A-Z])\b.*)?$")
_TITLE_PREAMBLE = _rx(r"^(?:preamble|präambel|preambuła|preambula|preambulas|johdanto|ingress)\b")
_TITLE_REFERENCES = _rx(r"^(?:references|bibliography|endnotes|footnotes|notes|works cited|literature|"
                        r"literaturverzeichnis|quellenverzeichnis|litteratur|kirjallisuus|lähteet|bibliografia|"
                        r"literatūra|kirjandus|heimildir)$", r"\bfootnotes$")
_TITLE_ACKNOWLEDGEMENTS = _rx(r"^acknowledge?ments?\b", r"\bcontributors$", r"^supporters$", r"^imprint$",
                              r"^impressum$")

# Text: preamble and front matter before the first provision.
_PREAMBLE_CUE = _rx(r"\bpreamble\b", r"\brecogni[sz]ing\b", r"\bconsidering\b", r"\bwhereas\b", r"\bhaving regard\b",
                    r"\bbearing in mind\b", r"\bconvinced\b", r"\brecalling\b", r"\bnoting\b", r"\btaking into account\b",
                    r"\btaking due account\b", r"\bdesiring\b", r"\breaffirming\b", r"\baffirming\b", r"\bdetermined\b",
                    r"\bconcerned\b", r"\bhave agreed as follows\b", r"\bhaving been convened\b", r"\bhaving decided\b",
                    r"\badopts this\b", r"\bR \(\d{2,4}\) \d+", r"\bRecommendation (?:No\. )?\d+ \(\d{4}\)",
                    r"eduskunnan päätöksen mukaisesti", r"\bsellaisina kuin ne ovat\b", r"\blisätään\b", r"\bder bundestag hat\b", r"\bhat das folgende gesetz beschlossen\b",
                    r"\bsaeima ir pieņēmusi\b", r"\briksdagen har\b", r"\bstortinget\b.{0,40}\bvedtatt\b",
                    r"\bbe it enacted\b", r"\bhereby enacts?\b", r"\bin erwägung\b", r"\bunter hinweis\b")
_FRONT_CUE = _rx(r"\bausfertigungsdatum\b", r"\bfundstelle\b", r"\bdatokode\b", r"\bdokumentid\b", r"\bdepartement:",
                 r"\butfärdad:", r"\bpublicēts:", r"\bisbn\b", r"©", r"\ball rights reserved\b", r"\bpublished by\b",
                 r"\bcopyright\b", r"\bkorttittel:", r"\bsist endret\b", r"\bzuletzt geändert durch\b",
                 r"\bvahvistettava laki\b", r"\bannet om dokumentet\b", r"\bprinted in\b", r"\bcover (?:photo|image)\b")
_SIGNATURE_CUE = _rx(r"\bin witness whereof\b", r"^done at \w+", r"\bdone at \w+ this\b", r"\btasavallan presidentti\b",
                     r"\bthe foregoing is the authentic text\b", flags=re.I | re.M)

# Text: the definition formula, sanctions, treaty final clauses.
_DEFINITION_CUE = _rx(r"\bfor the purposes? of (?:this|the present) (?:convention|protocol|act|law|directive|regulation|"
                      r"chapter|part|agreement)\b[^.]{0,200}?(?:shall mean|means|the term|:)",
                      r"\bim sinne dieses (?:gesetzes|abschnitts)\b[^.]{0,40}\b(?:ist|sind|bedeutet|gelten)\b",
                      r"\bi denna (?:lag|balk) avses\b", r"\bi denne lov(?:en)? (?:menes|forstås)\b",
                      r"\bi denne lov forstås\b", r"\btässä laissa tarkoitetaan\b", r"\bw rozumieniu (?:niniejszej )?ustawy\b",
                      r"\bšajā likumā (?:ir )?lietoti šādi termini\b", r"\bí lögum þessum merkir\b")
_PENALTY_CUE = _rx(
    r"\bshall be punish", r"\bpunishable (?:by|with)\b", r"\bimprisonment\b", r"\bestablish as (?:a )?criminal offen[cs]e",
    r"\beffective, proportionate and dissuasive\b", r"\bdeprivation of liberty\b", r"\bliable to a fine\b",
    r"\baggravating circumstances?\b",
    r"\bwird (?:\w+ )?mit (?:freiheitsstrafe|geldstrafe)", r"\bfreiheitsstrafe (?:von|bis|nicht unter)",
    r"\bgeldbuße bis zu\b", r"\bordnungswidrig handelt\b", r"\bwird (?:\w+ ){0,3}bestraft\b",
    r"\bdöms\b[^.]{0,120}\btill (?:fängelse|böter)", r"\bfängelse i (?:högst|lägst|minst)\b",
    r"\bstraffes (?:med|for)\b", r"\bfengsel inntil\b", r"\bfængsel indtil\b", r"\bstraffes\b",
    r"\bon tuomittava\b", r"\bvankeu(?:tta|teen)\b", r"\bsakkoon\b",
    r"\bpodlega (?:karze|grzywnie)\b", r"\bpozbawienia wolności (?:od|do|na)\b",
    r"\bsoda ar\b", r"\bvarðar (?:það )?(?:sektum|fangelsi)\b", r"\bfangelsi (?:allt að|ekki skemur)\b",
    r"\bsæta (?:sektum|fangelsi)\b", r"\b(?:ára|árs|mánaða) fangelsi\b", r"\bskal refsa\b", r"\bkaristatakse\b", r"\bvangistusega\b", r"\bbaudžiamas\b",
    r"\blaisvės atėmimu\b")
_TREATY_PENALTY_CUE = _rx(r"\bestablish as (?:a )?criminal offen[cs]e", r"\bshall be punish", r"\bpunishable (?:by|with)\b",
                          r"\beffective, proportionate and dissuasive (?:criminal )?sanctions\b",
                          r"\baggravating circumstances?\b")
_FINAL_CUE = _rx(r"\bratified\b|\bratifications?\b", r"\bdenounc(?:e|ed|ing)\b|\bdenunciation\b", r"\baccession\b",
                 r"\binstruments? of (?:ratification|acceptance|approval|accession)\b", r"\bdepositary\b",
                 r"\benter(?:ed|s)? into force\b|\bentry into force\b", r"\b(?:equally|both be) (?:authentic|authoritative)\b",
                 r"\bopen for signature\b|\bopen to the signature\b", r"\bfor registration\b",
                 r"\brevising this convention\b", r"\bon the working of this convention\b",
                 r"\btritt\b[^.]{0,60}\bin kraft\b", r"\btrer i kraft\b", r"\bträder i kraft\b", r"\btulee voimaan\b",
                 r"\bwchodzi w życie\b", r"\bstājas spēkā\b")


_SECTION_LINE = re.compile(r"(?:SECTION|Section) [IVXLC\d]+|[IVXLC]+\.?")  # UN treaties: "SECTION I", "IV"
_ROLE_HEADINGS = (_TITLE_PREAMBLE, _TITLE_ANNEX, _TITLE_REFERENCES, _TITLE_ACKNOWLEDGEMENTS,
                  re.compile(r"^final (?:clauses|provisions)$", re.I))


@dataclass(frozen=True, slots=True)
class RoleCall:
    """A chunk's role and the cue that decided it (for explanations and hand checks)."""

    role: str
    cue: str


def chunk_role(text: str, *, section: str | None = None, doc_type: str = "unknown", language: str = "",
               position: float = 0.0, heading: str = "", provision_text: str | None = None) -> str:
    """The role of one chunk (one of `ROLES`).

    `section` is the chunk's section label, `position` its start over the document's length (0 to
    1), `heading` the chapter or heading it sits under, `provision_text` the whole provision the
    chunk belongs to (its chunks share the provision's role). `language` is accepted for the
    caller's convenience: the cues of every corpus language are tried on every text."""
    return classify_chunk(text, section=section, doc_type=doc_type, language=language, position=position,
                          heading=heading, provision_text=provision_text).role


def classify_chunk(text: str, *, section: str | None = None, doc_type: str = "unknown", language: str = "",
                   position: float = 0.0, heading: str = "", provision_text: str | None = None) -> RoleCall:
    """`chunk_role` with the cue that decided it."""
    section = section or ""
    legal = doc_type in LEGAL_TYPES
    in_provision = bool(_PROVISION.search(section)) and "para." not in section
    return (_layout_role(text, section, legal, position, in_provision)
            or _structure_role(text, section, heading, doc_type, position, in_provision)
            or _provision_role(provision_text or text, doc_type, legal, position, in_provision)
            or RoleCall("operative" if legal and in_provision else "body", "default"))


def document_roles(doc: Document, chunks: Sequence[Chunk]) -> list[str]:
    """The role of every chunk of a document, in order."""
    return [call.role for call in document_role_calls(doc, chunks)]


def document_role_calls(doc: Document, chunks: Sequence[Chunk]) -> list[RoleCall]:
    """`document_roles` with the cue that decided each role."""
    headings = heading_marks(doc.text)
    offsets = [offset for offset, _title in headings]
    length = max(1, len(doc.text))
    spans = _provision_spans(chunks)
    legal = doc.meta.doc_type in LEGAL_TYPES
    calls = []
    for chunk in chunks:
        look = chunk.start + min(300, len(chunk.text) // 2)
        at = bisect_right(offsets, look) - 1
        offset, heading = headings[at] if at >= 0 else (0, "")
        if not legal and look - offset > REPORT_HEADING_REACH:
            heading = ""  # a report's headings are not all found, so a role heading reaches only so far
        start, end = spans.get(chunk.ordinal, (chunk.start, chunk.end))
        calls.append(classify_chunk(chunk.text, section=chunk.section, doc_type=doc.meta.doc_type,
                                    language=doc.meta.language, position=chunk.start / length, heading=heading,
                                    provision_text=doc.text[start:end]))
    return calls


def heading_marks(text: str) -> list[tuple[int, str]]:
    """(offset, title) of the chapter lines and role headings (Preamble, Annex, Endnotes ...)."""
    marks: list[tuple[int, str]] = []
    lines = text.split("\n")
    offset = 0
    for i, line in enumerate(lines):
        stripped = line.strip().strip("#*_ ").strip()
        if stripped and len(stripped) <= 140 and not _TOC_LINE.search(stripped):
            if any(p.match(stripped) for p in CHAPTER_PATTERNS) or _SECTION_LINE.fullmatch(stripped):
                marks.append((offset, f"{stripped} {_next_line(lines, i)}".strip()))
            elif len(stripped) <= 60 and any(p.search(stripped) for p in _ROLE_HEADINGS):
                marks.append((offset, stripped))
        offset += len(line) + 1
    return marks


def _next_line(lines: list[str], i: int) -> str:
    """The title line a chapter label stands on ("CHAPTER X" then "FINAL CLAUSES")."""
    rest = lines[i].strip()
    if len(rest.split()) > 2:
        return ""
    for line in lines[i + 1:i + 4]:
        if line.strip():
            return line.strip() if len(line.strip()) <= 100 else ""
    return ""


def _provision_spans(chunks: Sequence[Chunk]) -> dict[int, tuple[int, int]]:
    """Chunk ordinal -> (start, end) of the run of chunks that share its provision's section label."""
    spans: dict[int, tuple[int, int]] = {}
    run: list[Chunk] = []
    for chunk in list(chunks) + [None]:
        if run and (chunk is None or chunk.section != run[0].section):
            if _PROVISION.search(run[0].section) and "para." not in run[0].section:
                for member in run:
                    spans[member.ordinal] = (run[0].start, run[-1].end)
            run = []
        if chunk is not None:
            run.append(chunk)
    return spans


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _layout_role(text: str, section: str, legal: bool, position: float, in_provision: bool) -> RoleCall | None:
    lines = _lines(text)
    if not lines:
        return None
    if _EDITORIAL_START.search(lines[0]) and (legal or not lines[0].startswith("Source")):
        return RoleCall("editorial_note", f"note: {lines[0][:30]}")
    if position < 0.05 and _EDITORIAL_LINE.search(text):
        return RoleCall("editorial_note", "bracketed excerpt note")
    if in_provision and len(lines) <= 4 and any(_REPEALED.search(line) for line in lines[:2] + [
            _PROVISION_TITLE.sub("", lines[0])]):
        return RoleCall("editorial_note", "repealed provision")
    toc = sum(bool(_TOC_LINE.search(line)) for line in lines) if ".." in text or "…" in text or "__" in text else 0
    if toc >= 3 or (toc >= 1 and (toc >= len(lines) / 2 or _TOC_TITLE.search(lines[0]))):
        return RoleCall("toc", f"{toc} dot-leader lines")
    if (m := _FOOTNOTE_DEF.search(text)) and m.start() < 0.25 * len(text):
        return RoleCall("references", "[^n]: footnote")
    notes = [bool(_AMENDMENT_NOTE.search(line)) for line in lines]
    rest = [line for line, note in zip(lines, notes) if not note]
    if any(notes) and (not rest or (rest == lines[:1] and _PROVISION.match(rest[0]) and len(rest[0]) <= 60)):
        return RoleCall("references", "amendment history")
    if not legal and _looks_like_references(lines):
        return RoleCall("references", "citation lines")
    if _numbered_contents(lines):
        return RoleCall("toc", "page numbers before titles")
    if _looks_like_table(text, lines, legal):
        return RoleCall("table", "numbers")
    if not legal and _looks_like_names(lines):
        return RoleCall("front_matter", "list of names")
    if (m := _SIGNATURE_CUE.search(text)) and position > 0.8 and m.start() < 0.4 * len(text):
        return RoleCall("final_clause", "signature block")
    return None


def _numbered_contents(lines: list[str]) -> bool:
    """A contents list printed as "1 Summary / 3 Form & Typology / 6 Demographics" (rising pages)."""
    numbers = [int(m.group(1)) for m in map(_TOC_NUMBER_FIRST.match, lines) if m]
    rising = sum(b > a for a, b in zip(numbers, numbers[1:]))
    return len(numbers) >= 5 and rising >= len(numbers) - 2 and len(numbers) >= len(lines) / 3


def _looks_like_references(lines: list[str]) -> bool:
    marks = sum(len(_CITATION_MARK.findall(line)) for line in lines)
    numbered = sum(bool(re.match(r"^\d{1,3}\s+[A-Z“\"]", line)) for line in lines)
    return marks >= 4 and (marks + numbered) >= 0.5 * len(lines)


def _looks_like_table(text: str, lines: list[str], legal: bool) -> bool:
    tokens = text.split()
    if len(tokens) < 12 or sum(ch.isdigit() for ch in text) < 0.1 * len(tokens):
        return False
    share = sum(bool(_NUMBER_TOKEN.match(t)) for t in tokens) / len(tokens)
    short = sum(len(line.split()) <= 4 for line in lines) / len(lines)
    if legal:
        return share >= 0.5
    return share >= 0.3 or (share >= 0.15 and short >= 0.6 and len(lines) >= 8)


def _looks_like_names(lines: list[str]) -> bool:
    """A contributors' list: many short lines of capitalised words ("Danett Williams / Daniel C")."""
    names = sum(1 <= len(line.split()) <= 5 and all(w[0].isupper() or not w[0].isalpha() for w in line.split())
                for line in lines)
    numbers = sum(bool(_NUMBER_TOKEN.match(line)) for line in lines)
    return len(lines) >= 8 and names >= 0.7 * len(lines) and not numbers


@functools.lru_cache(maxsize=4096)
def _has(pattern: re.Pattern, label: str) -> bool:
    """Whether a section label or heading matches; cached, since a document repeats its labels."""
    return bool(pattern.search(label))


def _structure_role(text: str, section: str, heading: str, doc_type: str, position: float,
                    in_provision: bool) -> RoleCall | None:
    legal = doc_type in LEGAL_TYPES
    title = _provision_title(section) if in_provision else ""
    last = re.split(r"[›,]", section)[-1].strip()  # "GRETA LV 3rd round, Appendix 1" -> "Appendix 1"
    if section.endswith(", footnotes") or _has(_TITLE_REFERENCES, last) or (
            _has(_TITLE_REFERENCES, heading) and (legal or position > 0.5)):
        return RoleCall("references", f"heading {heading or last!r}")
    if _has(_TITLE_ANNEX, last) or _has(_TITLE_ANNEX, heading):
        return RoleCall("annex", f"heading {heading or last!r}")
    if _has(_TITLE_ACKNOWLEDGEMENTS, heading) or _has(_TITLE_ACKNOWLEDGEMENTS, last):
        return RoleCall("front_matter", f"heading {heading or last!r}")
    # A treaty's preamble runs until Article 1; a report's "Preamble" heading names only its own chunk.
    if _has(_TITLE_PREAMBLE, last) or _TITLE_PREAMBLE.search(text.lstrip()[:12]) or (
            _has(_TITLE_PREAMBLE, heading) and legal and not in_provision):
        return RoleCall("preamble", f"heading {heading or last!r}")
    if title and _has(_TITLE_DEFINITION, title):
        return RoleCall("definition", f"title {title!r}")
    if title and _has(_TITLE_FINAL, title):
        return RoleCall("final_clause", f"title {title!r}")
    if title and _has(_TITLE_PENALTY, title):
        return RoleCall("penalty", f"title {title!r}")
    if title and _has(_TITLE_OPERATIVE, title):
        return RoleCall("operative", f"title {title!r}")
    if legal and in_provision and heading:
        if _has(_TITLE_DEFINITION, heading) and len(_chapter_title(heading).split()) <= 4:
            return RoleCall("definition", f"chapter {heading!r}")
        if _has(_TITLE_FINAL, heading):
            return RoleCall("final_clause", f"chapter {heading!r}")
        if _has(_TITLE_PENALTY, heading):
            return RoleCall("penalty", f"chapter {heading!r}")
    if legal and not in_provision and not heading and position < 0.3:
        return _before_provisions(text, doc_type, position)
    return None


def _chapter_title(heading: str) -> str:
    """"Definitions" from "SECTION IV Definitions": the heading without its chapter label."""
    return re.sub(r"^(?:CHAPTER|Chapter|SECTION|Section|Kapitel|Kapittel|Rozdział|Dział|PART|Part|Teil)\s+\S+\s*|"
                  r"^[IVXLC]+\.?\s+|^\d+\s*(?:kap\.|luku)\s*", "", heading).strip(" .–-")


def _provision_title(section: str) -> str:
    """"Definitions" from "CETS 197 Article 4 Definitions"; "" when the label has no title."""
    return _PROVISION_TITLE.sub("", section, count=1).strip(" .–-")


def _before_provisions(text: str, doc_type: str, position: float) -> RoleCall:
    """Title page, metadata, preamble or enacting formula: what a legal text holds before Article 1.
    A treaty's text there is its preamble; a national act's is its title, metadata and notes."""
    if m := _PREAMBLE_CUE.search(text):
        return RoleCall("preamble", f"cue {m.group(0)!r}")
    if _FRONT_CUE.search(text[:600]) or position == 0 or len(text.split()) < 25:
        return RoleCall("front_matter", "before the first provision")
    if _LEGAL_CITATION.search(text):
        return RoleCall("references", "citations of official journals")
    if doc_type == "national_legislation":
        return RoleCall("front_matter", "before the first provision")
    return RoleCall("preamble", "recitals before the first provision")


def _provision_role(text: str, doc_type: str, legal: bool, position: float, in_provision: bool) -> RoleCall | None:
    if not legal or not in_provision:
        return None
    definition, final, penalty = _provision_cues(text, doc_type == "international_instrument")
    if definition:
        return RoleCall("definition", f"cue {definition[:40]!r}")
    if position > 0.6 and final:
        return RoleCall("final_clause", f"cue {final!r}")
    if penalty:
        return RoleCall("penalty", f"cue {penalty!r}")
    return None


@functools.lru_cache(maxsize=64)
def _provision_cues(text: str, treaty: bool) -> tuple[str, str, str]:
    """The definition, final-clause and sanction cues of a provision ("" when absent); cached,
    since every chunk of a long provision asks."""
    opening = _PROVISION_TITLE.sub("", text[:400], count=1)
    definition = _DEFINITION_CUE.search(opening)
    final = _FINAL_CUE.search(opening[:300])
    penalty = (_TREATY_PENALTY_CUE if treaty else _PENALTY_CUE).search(text)
    return tuple(m.group(0) if m else "" for m in (definition, final, penalty))
