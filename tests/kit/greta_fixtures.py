"""Write PDFs in the layout of GRETA's published country evaluation reports, with their truth.

No real GRETA report can be fetched here, so this builds look-alikes with fpdf2: a cover
("GRETA(2023)05 ... Evaluation Report ... Third evaluation round"), a table of contents with dot
leaders, numbered paragraphs that run over page breaks, footnotes at the foot of the page with
their markers glued to the text ("victims.3"), running headers and page numbers, bold
recommendation sentences in GRETA's three strengths with the varied phrasings of real reports,
one recommendation broken by a page break, and Appendix 1, "List of GRETA's conclusions and
proposals for action", with "(paragraph N)" references. Two rounds for Latvia (2nd, 3rd).

`expected_recommendations(round)` is the truth the extraction is measured against.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True)
class Para:
    """A numbered paragraph: plain text, then an optional bold recommendation, then plain text."""

    text: str
    rec: str = ""
    strength: str = ""
    after: str = ""
    footnote: str = ""
    split: bool = False  # start it two lines above the page foot, so it runs onto the next page
    heading: str = ""  # a sub-heading printed above it ("a. Right to information (Articles 12 and 15)")


FILLER = ("The information provided by the authorities indicates that the number of identified victims has "
          "varied over the reporting period, with most victims identified through the work of NGOs and the State "
          "Police. Civil society interlocutors met during the visit described the practice in several regions and "
          "pointed to differences in the level of training of front-line staff.")

ROUND_3 = [
    ("I. Introduction", [
        Para("The third evaluation round of the Convention focuses on access to justice and effective remedies "
             "for victims of trafficking, which is essential for their rehabilitation and the restoration of "
             "their rights.", footnote="See the Questionnaire for the third evaluation round, GRETA(2018)26."),
        Para("The present report was adopted by GRETA at its 45th meeting and covers the situation up to "
             "that date. " + FILLER),
        Para("GRETA's second report on Latvia was published in 2017. " + FILLER),
    ]),
    ("II. Identification of victims of trafficking (Article 10)", [
        Para(FILLER, footnote="Information provided by the State Police, 2022."),
        Para("The National Referral Mechanism was revised in 2021. " + FILLER,
             rec="GRETA urges the Latvian authorities to take further steps to ensure that all victims of "
                 "trafficking are proactively identified, in particular among third-country nationals "
                 "working in construction and agriculture.", strength="urges"),
        Para(FILLER + " " + FILLER),
        Para("Labour inspectors have no mandate to identify victims. " + FILLER,
             rec="GRETA once again urges the Latvian authorities to strengthen the role of the State Labour "
                 "Inspectorate in the identification of victims of trafficking for the purpose of labour "
                 "exploitation (Article 10 of the Convention).", strength="urges",
             after="GRETA welcomes the training provided to labour inspectors in 2022."),
    ]),
    ("III. Access to justice and effective remedies", [
        Para(FILLER, heading="a. Right to information (Articles 12 and 15)",
             footnote="Section 12 of the Law on Support for Victims of Crime."),
        Para(FILLER,
             rec="GRETA considers that the Latvian authorities should ensure that victims of trafficking are "
                 "systematically informed, in a language they understand, of their rights and of the "
                 "procedures available to them.", strength="considers"),
        Para("Legal aid is granted under the State Ensured Legal Aid Law.", split=True,
             heading="b. Legal assistance and free legal aid (Article 15)",
             rec="GRETA considers that the Latvian authorities should take steps to facilitate and guarantee "
                 "access to justice for victims of trafficking, by ensuring that a specialised lawyer is "
                 "appointed as soon as there are reasonable grounds to believe that a person is a victim, "
                 "before the person has to decide whether or not to cooperate with the authorities and make "
                 "a statement, and that legal aid is provided free of charge.", strength="considers"),
        Para(FILLER, heading="c. Compensation (Article 15)",
             rec="GRETA urges the State Police and the Prosecution Office to make full use of the legislation "
                 "on the freezing and confiscation of assets to secure compensation to victims of "
                 "trafficking.", strength="urges"),
        Para(FILLER,
             rec="GRETA invites the Latvian authorities to consider setting up a State compensation fund "
                 "accessible to all victims of trafficking, regardless of their nationality and residence "
                 "status.", strength="invites"),
    ]),
    ("IV. Child victims of trafficking (Article 10)", [
        Para("Children are identified mainly in the context of sexual exploitation online. " + FILLER,
             footnote="Orphan's and Custody Court statistics, 2022.",
             rec="GRETA considers that the Ministry of Welfare and the State Inspectorate for Protection of "
                 "Children's Rights should ensure that child victims of trafficking benefit from child-friendly "
                 "procedures and are interviewed in specially adapted premises.", strength="considers"),
        Para(FILLER,
             rec="GRETA invites the authorities to consider introducing a system of independent guardians "
                 "for unaccompanied children who may be victims of trafficking.", strength="invites"),
        Para(FILLER + " GRETA notes that cooperation with civil society is good. GRETA considers that the "
             "Latvian legislation is in line with Article 4 of the Convention."),
        Para(FILLER,
             rec="GRETA further urges the Latvian authorities to ensure that age assessment is carried out "
                 "only where there are reasonable doubts about the age of a presumed victim.", strength="urges"),
        Para(FILLER,
             rec="GRETA also encourages the State Police to continue the training of investigators and "
                 "prosecutors on child-sensitive interviewing (Articles 10, 12 and 28).", strength="invites"),
    ]),
    ("V. Conclusions", [
        Para("GRETA welcomes the progress made by Latvia since the second evaluation report. " + FILLER),
        Para("Data collection remains fragmented.",
             rec="GRETA urges the Latvian authorities to:\n\u2022 set up a central data collection system on "
                 "victims of trafficking;\n\u2022 publish annual statistics disaggregated by sex, age and form "
                 "of exploitation.", strength="urges"),
    ]),
]

ROUND_2 = [
    ("I. Introduction", [
        Para("The second evaluation round of the Convention examines the impact of legislative and other "
             "measures taken by the Parties. " + FILLER,
             footnote="Questionnaire for the second evaluation round, GRETA(2014)11."),
        Para(FILLER),
    ]),
    ("II. Identification of victims (Article 10)", [
        Para(FILLER,
             rec="GRETA urges the Latvian authorities to improve the proactive identification of victims of "
                 "trafficking among foreign workers in construction and agriculture.", strength="urges"),
        Para(FILLER,
             rec="GRETA urges the Latvian authorities to strengthen the role of labour inspectors in the "
                 "identification of victims of trafficking for labour exploitation.", strength="urges"),
        Para(FILLER + " " + FILLER),
    ]),
    ("III. Assistance and compensation", [
        Para(FILLER,
             rec="GRETA considers that the Latvian authorities should ensure that victims are informed of their "
                 "rights, including the right to compensation, in a language they can understand.",
             strength="considers"),
        Para(FILLER,
             rec="GRETA considers that the Latvian authorities should increase the funding of the "
                 "State-funded assistance programme run by NGOs (Article 12 of the Convention).",
             strength="considers", footnote="Cabinet Regulation No. 889 of 2006."),
        Para(FILLER,
             rec="GRETA invites the Latvian authorities to keep under review the duration of the recovery and "
                 "reflection period.", strength="invites"),
    ]),
]

REPORTS = {
    2: dict(code="GRETA(2017)02", year=2017, rounds_word="Second", sections=ROUND_2,
            theme="Impact of the Convention and measures taken by the Parties"),
    3: dict(code="GRETA(2023)05", year=2023, rounds_word="Third", sections=ROUND_3,
            theme="Access to justice and effective remedies for victims of trafficking in human beings"),
}


def expected_recommendations(round_: int) -> list[tuple[int, str, str]]:
    """(paragraph number, strength, sentence) of every recommendation in that round's report
    (a bulleted list as one sentence, its lines joined by single spaces)."""
    out, number = [], 0
    for _heading, paras in REPORTS[round_]["sections"]:
        for para in paras:
            number += 1
            if para.rec:
                out.append((number, para.strength, " ".join(para.rec.split())))
    return out


def paragraph_texts(round_: int) -> dict[int, str]:
    """The text of each numbered paragraph as written (without its footnote)."""
    out, number = {}, 0
    for _heading, paras in REPORTS[round_]["sections"]:
        for para in paras:
            number += 1
            out[number] = " ".join(p for p in (para.text, para.rec, para.after) if p)
    return out


def write_report(path: Path, round_: int) -> Path:
    """Write the Latvian report of the given round (2 or 3) to path."""
    from fpdf import FPDF

    spec = REPORTS[round_]

    class Report(FPDF):
        footnotes: dict[int, list[tuple[int, str]]] = {}

        def header(self):
            if self.page_no() > 1:
                self.set_font("dejavu", "", 8)
                self.cell(0, 6, spec["code"], align="R", new_x="LMARGIN", new_y="NEXT")
                self.ln(2)

        def footer(self):
            notes = self.footnotes.get(self.page_no(), [])
            if notes:
                self.set_y(-12 - 5 * len(notes) - 4)
                self.line(self.l_margin, self.get_y(), self.l_margin + 50, self.get_y())
                self.ln(1)
                self.set_font("dejavu", "", 8)
                for number, text in notes:
                    self.cell(0, 5, f"{number} {text}", new_x="LMARGIN", new_y="NEXT")
            if self.page_no() > 1:
                self.set_y(-12)
                self.set_font("dejavu", "", 8)
                self.cell(0, 6, str(self.page_no()), align="C")

    pdf = Report(format="A4")
    pdf.footnotes = {}
    for style, name in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf")):
        pdf.add_font("dejavu", style, str(FONT_DIR / name))
    pdf.set_auto_page_break(True, margin=40)
    pdf.set_margins(22, 18, 22)
    _cover(pdf, spec)
    _contents(pdf, spec)
    pdf.add_page()
    pdf.set_font("dejavu", "B", 11)
    pdf.multi_cell(0, 6, "Preamble", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("dejavu", "", 10)
    pdf.multi_cell(0, 5, "As the Convention on Action against Trafficking in Human Beings requires, GRETA "
                   "evaluates the implementation of the Convention by each Party.")
    pdf.ln(3)
    number, footnote_no = 0, 0
    for heading, paras in spec["sections"]:
        pdf.set_font("dejavu", "B", 11)
        pdf.ln(2)
        pdf.multi_cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        for para in paras:
            number += 1
            if para.heading:
                pdf.set_font("dejavu", "B", 10)
                pdf.multi_cell(0, 5, para.heading, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(1)
            if para.split:
                pdf.set_y(pdf.h - pdf.b_margin - 11)
            page = pdf.page_no()
            text = para.text
            if para.footnote:
                footnote_no += 1
                head, dot, tail = text.partition(". ")
                text = f"{head}.{footnote_no} {tail}" if dot else f"{text}{footnote_no}"
                pdf.footnotes.setdefault(page, []).append((footnote_no, para.footnote))
            body = f"{number}. {text}"
            if para.rec:
                body += " " + "\n".join(f"**{line}**" for line in para.rec.split("\n"))
            if para.after:
                body += f" {para.after}"
            pdf.set_font("dejavu", "", 10)
            pdf.multi_cell(0, 5, body, markdown=True, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    _appendix(pdf, spec, round_)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def _cover(pdf, spec) -> None:
    pdf.add_page()
    pdf.set_font("dejavu", "", 10)
    pdf.cell(0, 6, spec["code"], align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(30)
    pdf.set_font("dejavu", "B", 12)
    pdf.multi_cell(0, 7, "GROUP OF EXPERTS ON ACTION AGAINST TRAFFICKING IN HUMAN BEINGS", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(20)
    pdf.set_font("dejavu", "B", 22)
    for line in ("Evaluation Report", "Latvia"):
        pdf.multi_cell(0, 12, line, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("dejavu", "", 14)
    pdf.multi_cell(0, 9, f"{spec['rounds_word']} evaluation round", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.multi_cell(0, 7, spec["theme"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(30)
    pdf.set_font("dejavu", "", 10)
    pdf.multi_cell(0, 6, f"Published on 3 March {spec['year']}", align="C", new_x="LMARGIN", new_y="NEXT")


def _contents(pdf, spec) -> None:
    pdf.add_page()
    pdf.set_font("dejavu", "B", 12)
    pdf.multi_cell(0, 8, "Table of contents", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("dejavu", "", 10)
    lines = ["Preamble", *[h for h, _ in spec["sections"]], "Appendix 1 - List of GRETA's conclusions and proposals for action"]
    for page, line in enumerate(lines, start=3):
        pdf.cell(0, 6, f"{line} {'.' * max(4, 80 - len(line))} {page}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("dejavu", "", 10)
    for i, line in enumerate(("1. Right to information ...................................... 9",
                              "2. Legal assistance ........................................... 10",
                              "3. Compensation ............................................... 11"), start=1):
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")


def _appendix(pdf, spec, round_: int) -> None:
    pdf.add_page()
    pdf.set_font("dejavu", "B", 12)
    pdf.multi_cell(0, 7, "Appendix 1 - List of GRETA's conclusions and proposals for action", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("dejavu", "", 10)
    pdf.multi_cell(0, 5, "The position of the recommendations in the text of the report is shown in parentheses.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for number, _strength, sentence in expected_recommendations(round_):
        pdf.multi_cell(0, 5, f"\u25ba {' '.join(sentence.split())} (paragraph {number})", new_x="LMARGIN",
                       new_y="NEXT")
        pdf.ln(2)
    pdf.set_font("dejavu", "B", 12)
    pdf.multi_cell(0, 7, "Appendix 2 - List of public bodies and NGOs with which GRETA held consultations", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("dejavu", "", 10)
    pdf.multi_cell(0, 5, "Ministry of the Interior; State Police; Ministry of Welfare; Resource Centre for Women Marta", new_x="LMARGIN", new_y="NEXT")


MANIFEST_HEADER = "path\ttitle\tdoc_type\tissuer\tcountry\tlanguage\tyear\tround\n"


def write_corpus(folder: Path, *, rounds=(2, 3), with_manifest: bool = True) -> Path:
    """Both Latvian reports under folder/, with a manifest.tsv (doc_type greta_report, round)."""
    rows = []
    for round_ in rounds:
        spec = REPORTS[round_]
        name = f"greta-lv-round{round_}.pdf"
        write_report(folder / name, round_)
        rows.append(f"{name}\tGRETA evaluation report on Latvia, {spec['rounds_word'].lower()} round\t"
                    f"greta_report\tCoE GRETA\tLV\ten\t{spec['year']}\t{round_}\n")
    if with_manifest:
        (folder / "manifest.tsv").write_text(MANIFEST_HEADER + "".join(rows), encoding="utf-8")
    return folder


if __name__ == "__main__":
    import sys

    print(write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/greta-fixtures")))
