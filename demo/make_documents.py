"""Write the demo portal's documents: a PDF report, a scanned page, an ODT council decision and a TEI chronicle.

Why a script rather than hand-made files: like demo/build_demo_data.py, every byte the demo serves must be
reviewable as text and regenerable. The outputs are committed (demo/portal/files/); running this again writes
the same bytes: fixed dates in the PDF, ODT and PNG, a seeded noise, zip members with a fixed timestamp.

    .venv/bin/python demo/make_documents.py              # (re)write the four files, print their sizes and digests

It writes, into demo/portal/files/:
    rapport-activite-2025.pdf            3 pages, two columns, running header, page numbers, words hyphenated at
                                         line ends (soft hyphens), XMP dc:rights / xmpRights naming Licence Ouverte 2.0
    rapport-activite-2025-page2.png      a "scan" of an annex page (another text): 200 dpi, grayscale, speckled,
                                         tilted by 0.4 degree, for Tesseract (fra)
    deliberation-conseil-municipal.odt   an ODF text written by hand: mimetype stored first, heading, list, table
    chronique-valbrune.xml               TEI P5, xml:lang fr, licence CC-BY-4.0 in availability, a note that the
                                         text must not contain

The font: DejaVu Serif, from Debian's fonts-dejavu-core (/usr/share/fonts/truetype/dejavu/). Its licence (the
Bitstream Vera licence plus public-domain changes) allows embedding; fpdf2 embeds a subset. Why not a core
PDF font: Helvetica has no glyph for the typographic apostrophe or "oe" ligature the French text uses.

All prose below was written for this demo; Valbrune, its streets, people and figures are fictional.
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape

FILES = Path(__file__).resolve().parent / "portal" / "files"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian: fonts-dejavu-core
FONT_REGULAR, FONT_BOLD = FONT_DIR / "DejaVuSerif.ttf", FONT_DIR / "DejaVuSerif-Bold.ttf"
CREATED = datetime(2026, 1, 20, 9, 0, 0, tzinfo=timezone.utc)  # the catalogue's date for these files
LICENCE_OUVERTE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
SOFT_HYPHEN = "\u00ad"

PDF_NAME = "rapport-activite-2025.pdf"
SCAN_NAME = "rapport-activite-2025-page2.png"
ODT_NAME = "deliberation-conseil-municipal.odt"
TEI_NAME = "chronique-valbrune.xml"

# --------------------------------------------------------------------------------------------
# The activity report (PDF)
# --------------------------------------------------------------------------------------------

REPORT_TITLE = "Rapport d’activité 2025"
REPORT_SUBTITLE = "Une année au service des habitantes et des habitants de Valbrune"
RUNNING_HEADER = "Ville de Valbrune — Rapport d’activité 2025"

REPORT: list[tuple[str, list[str]]] = [
    ("Le mot du maire", [
        "L’année 2025 restera pour Valbrune celle des chantiers achevés et des projets partagés. Après deux années "
        "marquées par la hausse des prix de l’énergie, la commune a tenu ses engagements sans augmenter les taux de la "
        "fiscalité locale, tout en poursuivant l’entretien de ses écoles, de ses équipements sportifs et de ses "
        "espaces verts. Ce rapport rend compte de ce travail, service par service, avec ses réussites, ses retards et "
        "les questions qui restent ouvertes.",
        "Il doit beaucoup aux agents municipaux, dont l’engagement quotidien reste souvent invisible, et aux "
        "nombreuses associations qui animent nos quartiers. Il doit aussi aux habitants qui ont pris part aux réunions "
        "publiques, répondu aux consultations ou proposé un projet au budget participatif. Une commune de notre taille "
        "ne peut rien sans cette confiance, et nous avons voulu que ce document soit lisible par toutes et par tous.",
    ]),
    ("La Brune et les espaces naturels", [
        "La rivière a de nouveau occupé le cœur de l’action municipale. Les services techniques ont achevé la "
        "renaturation des berges sur huit cents mètres en aval du pont des Tanneries : les enrochements ont été "
        "retirés, des saules et des aulnes ont été plantés, et un sentier de promenade relie désormais le centre "
        "ancien au parc de la Prairie. Les premiers relevés montrent le retour de la truite fario et du martin-pêcheur "
        "sur ce tronçon.",
        "Le suivi de la qualité de l’eau, mené avec le syndicat de rivière, s’est poursuivi à raison d’un prélèvement "
        "mensuel en six points. Les résultats, publiés sur le portail de données ouvertes de la ville, confirment "
        "l’amélioration observée depuis la mise en service de la nouvelle station d’épuration. Les épisodes de "
        "sécheresse de l’été ont toutefois rappelé la fragilité du cours d’eau : des restrictions d’arrosage ont été "
        "nécessaires pendant cinq semaines.",
        "Dans les rues, la commune a planté trois cent vingt arbres, principalement des essences adaptées à la chaleur "
        "comme le micocoulier, le tilleul argenté et l’érable champêtre. La désimperméabilisation de la cour de "
        "l’école des Tilleuls a été réalisée pendant les vacances d’été : le bitume a laissé place à des espaces en "
        "pleine terre, à un préau végétalisé et à un petit verger entretenu avec les enfants.",
    ]),
    ("Mobilités et espace public", [
        "Le chemin qui relie la gare au lycée, projet lauréat du budget participatif, est désormais éclairé et élargi. "
        "Sa fréquentation a presque doublé depuis la rentrée, notamment à la tombée de la nuit, et les familles des "
        "élèves ont salué une amélioration attendue depuis longtemps. Dans le même esprit, quatre nouvelles traversées "
        "piétonnes sécurisées ont été aménagées aux abords des écoles.",
        "Le réseau cyclable s’est enrichi de deux kilomètres de pistes séparées de la circulation automobile, le long "
        "du canal et sur l’avenue de la Libération. L’atelier de réparation de vélos, ouvert chaque samedi dans "
        "l’ancienne halle aux grains, a accueilli plus de mille visiteurs. Les bénévoles qui l’animent y transmettent "
        "des gestes simples, et beaucoup de vélos oubliés dans les caves ont ainsi repris la route.",
        "La circulation en centre-ville reste un sujet de débat. La zone de rencontre expérimentée rue des Moulins a "
        "été prolongée après une consultation des riverains et des commerçants, dont les avis étaient partagés. Un "
        "nouveau bilan sera présenté au conseil municipal au printemps, sur la base de comptages indépendants.",
    ]),
    ("Participation citoyenne", [
        "Pour sa troisième édition, le budget participatif a reçu cent quarante propositions, déposées par des "
        "habitantes et des habitants de tous les quartiers. Près de quatre mille personnes ont voté, en ligne ou dans "
        "les mairies de quartier. Les projets retenus, parmi lesquels un verger partagé, des bancs ombragés le long du "
        "canal et l’éclairage du chemin de la gare, représentent une enveloppe de six cent mille euros.",
        "Les conseils de quartier se sont réunis à vingt-deux reprises. Leurs membres ont notamment travaillé sur la "
        "tranquillité publique, la propreté des rues et l’accueil des nouveaux habitants. Un conseil des jeunes, "
        "composé de trente collégiens et lycéens élus par leurs camarades, a été installé en octobre ; il a déjà "
        "proposé la création d’un espace de travail ouvert le soir à la médiathèque.",
        "La ville a également poursuivi l’ouverture de ses données. Une quarantaine de jeux de données sont publiés "
        "sous Licence Ouverte, des horaires des équipements aux délibérations du conseil municipal, et chacun peut "
        "les réutiliser librement, y compris à des fins commerciales, à condition d’en mentionner la source.",
    ]),
    ("Culture, patrimoine et vie associative", [
        "La médiathèque a élargi ses horaires d’ouverture le mercredi et le samedi et a accueilli près de soixante "
        "mille visiteurs. Son cercle de lecture du jeudi, ses ateliers numériques pour les aînés et ses heures du "
        "conte ont affiché complet toute l’année. Le fonds local s’est enrichi de la numérisation des registres "
        "paroissiaux et des plans anciens du cadastre, désormais consultables en ligne.",
        "Le patrimoine industriel de la Brune a fait l’objet d’une attention particulière. Avec l’archive ouverte de "
        "Valbrune, la ville a soutenu la publication d’un mémoire consacré aux onze moulins qui jalonnaient la rivière "
        "au dix-neuvième siècle. Les journées du patrimoine ont permis à plus de deux mille visiteurs de découvrir "
        "l’ancienne papeterie, ses machines remises en œuvre pour l’occasion et les biefs du quartier des Tanneries.",
        "Enfin, la commune a accompagné cent dix associations culturelles, sportives et solidaires, par des "
        "subventions, le prêt de salles et l’aide logistique apportée aux manifestations. La fête de la rivière, "
        "organisée en juin avec une vingtaine d’entre elles, a réuni un public nombreux malgré une météo capricieuse.",
    ]),
    ("Solidarités et éducation", [
        "Le centre communal d’action sociale a accompagné mille deux cents foyers au cours de l’année. L’épicerie "
        "solidaire a déménagé dans des locaux plus vastes, proches de la gare, et propose désormais un atelier de "
        "cuisine hebdomadaire. Le service de portage de repas à domicile a été étendu aux personnes sortant "
        "d’hospitalisation, pour une durée de trois semaines.",
        "Dans les écoles, la priorité a été donnée à la rénovation énergétique. Les fenêtres du groupe scolaire "
        "Jean-Jaurès ont été remplacées et l’isolation des combles de l’école maternelle des Prés a été refaite. La "
        "restauration scolaire sert désormais un repas végétarien deux fois par semaine, et la part des produits issus "
        "de l’agriculture biologique ou locale atteint quarante-cinq pour cent.",
    ]),
    ("Finances et perspectives", [
        "Le budget de fonctionnement s’est élevé à quarante-deux millions d’euros, en légère hausse du fait de "
        "l’inflation et de la revalorisation des salaires des agents. L’investissement a atteint onze millions "
        "d’euros, financés pour moitié par l’autofinancement, le reste provenant de subventions et d’un emprunt "
        "limité. L’endettement de la commune reste inférieur à la moyenne des villes de taille comparable.",
        "Pour 2026, trois chantiers principaux sont engagés : la rénovation de la piscine municipale, la construction "
        "de la passerelle des Tanneries au-dessus de la Brune et l’extension du réseau de chaleur alimenté par la "
        "chaufferie au bois. Chacun fera l’objet d’une présentation publique avant le début des travaux, et les "
        "comptes rendus des réunions seront publiés sur le portail de la ville.",
        "Ce rapport est publié sous Licence Ouverte 2.0. Il peut être reproduit, diffusé et réutilisé librement, à "
        "condition d’en mentionner la source : Ville de Valbrune, rapport d’activité 2025.",
    ]),
]

# Where long words of the report may break, as a French typesetter would cut them. fpdf2 breaks a line at a soft
# hyphen and prints a hyphen there, so some words of the PDF end a line with "-" and go on at the next one: the
# case a PDF reader must join back ("partici-" + "patif" is "participatif", not two words).
HYPHENATION = {word.replace("-", ""): word for word in (
    "par-ti-ci-pa-tif", "par-ti-ci-pa-tion", "mu-ni-ci-pal", "mu-ni-ci-pale", "mu-ni-ci-paux", "re-na-tu-ra-tion",
    "dés-im-per-méa-bi-li-sa-tion", "fré-quen-ta-tion", "con-sul-ta-tion", "pro-po-si-tion", "as-so-cia-tion",
    "ac-com-pa-gné", "nu-mé-ri-sa-tion", "hos-pi-ta-li-sa-tion", "ré-no-va-tion", "in-ves-tis-se-ment",
    "au-to-fi-nan-ce-ment", "en-det-te-ment", "pré-sen-ta-tion", "amé-lio-ra-tion", "res-tric-tion",
    "prin-ci-pa-le-ment", "ma-ni-fes-ta-tion", "re-va-lo-ri-sa-tion", "fonc-tion-ne-ment", "ha-bi-tante",
    "ha-bi-tant", "com-mer-çant", "in-dé-pen-dant", "en-ga-ge-ment", "équi-pe-ment", "pré-lè-ve-ment",
    "agri-cul-ture", "bio-lo-gique", "heb-do-ma-daire", "col-lé-gien", "sé-cu-ri-sée", "vé-gé-ta-lisé",
    "tran-quil-li-té", "cir-cu-la-tion", "construc-tion", "pro-me-nade", "dé-li-bé-ra-tion", "ré-pa-ra-tion",
    "ex-pé-ri-men-tée", "pa-tri-moine", "in-dus-triel", "quo-ti-dien", "in-vi-sible", "re-le-vés", "épu-ra-tion",
    "sé-che-resse", "consul-tables", "pa-rois-siaux", "lo-gis-tique", "ca-pri-cieuse", "éner-gé-tique",
    "res-tau-ra-tion", "vé-gé-ta-rien", "com-pa-rable", "chauf-fe-rie", "pas-se-relle", "ré-gu-liè-re-ment",
    "au-to-mo-bile", "pro-lon-gée", "na-tu-rels", "nom-breuses", "mé-dia-thèque", "ca-ma-rades",
)}
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def hyphenate(text: str) -> str:
    """`text` with soft hyphens at the break points HYPHENATION knows (plurals and capitals included)."""
    return _WORD.sub(lambda m: _soft_hyphens(m.group()), text)


def _soft_hyphens(word: str) -> str:
    lower = word.lower()
    singular = lower[:-1] if lower.endswith(("s", "x")) else None
    stem = lower if lower in HYPHENATION else singular if singular in HYPHENATION else None
    if stem is None:
        return word
    pieces, at = [], 0
    for syllable in HYPHENATION[stem].split("-"):
        pieces.append(word[at:at + len(syllable)])
        at += len(syllable)
    return SOFT_HYPHEN.join(pieces) + word[at:]


def report_xmp() -> str:
    """The XMP packet body: title, language and the licence, where a reader of PDF metadata looks for rights.
    Why the bare name and URL rather than a sentence: licence evidence must map to one SPDX id, and a reader
    that cannot map a rights statement keeps the document out (fail-closed)."""
    return f"""<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{REPORT_TITLE} — Ville de Valbrune</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>Ville de Valbrune</rdf:li></rdf:Seq></dc:creator>
   <dc:language><rdf:Bag><rdf:li>fr</rdf:li></rdf:Bag></dc:language>
   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">Licence Ouverte 2.0</rdf:li></rdf:Alt></dc:rights>
   <xmpRights:Marked>True</xmpRights:Marked>
   <xmpRights:WebStatement>{LICENCE_OUVERTE}</xmpRights:WebStatement>
   <xmp:CreateDate>{CREATED.isoformat()}</xmp:CreateDate>
   <xmp:CreatorTool>Moisson demo/make_documents.py (fpdf2)</xmp:CreatorTool>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""


def write_report_pdf(path: Path) -> int:
    """The two-column report; returns its number of pages."""
    from fpdf import FPDF

    class Report(FPDF):
        def header(self) -> None:
            self.set_xy(self.l_margin, 10)
            self.set_font("DejaVuSerif", size=8.5)
            self.set_text_color(90)
            self.cell(0, 5, RUNNING_HEADER, align="C")
            self.set_draw_color(150)
            self.line(self.l_margin, 16.5, self.w - self.r_margin, 16.5)
            self.set_xy(self.l_margin, self.t_margin)
            self.set_text_color(20)

        def footer(self) -> None:
            self.set_y(-14)
            self.set_font("DejaVuSerif", size=8.5)
            self.set_text_color(90)
            self.cell(0, 5, f"Page {self.page_no()} sur {{nb}}", align="C")

    pdf = Report(format="A4", unit="mm")
    pdf.set_margins(18, 22, 18)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_font("DejaVuSerif", "", str(FONT_REGULAR))
    pdf.add_font("DejaVuSerif", "B", str(FONT_BOLD))
    _describe_report(pdf)
    pdf.add_page()
    pdf.set_text_color(20)
    pdf.set_font("DejaVuSerif", "B", 20)
    pdf.cell(0, 11, REPORT_TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVuSerif", size=11.5)
    pdf.cell(0, 8, REPORT_SUBTITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    _write_columns(pdf)
    pdf.output(str(path))
    return pdf.pages_count


def _describe_report(pdf) -> None:
    """Document information, language and XMP; a fixed creation date, so that the file ID and bytes never change."""
    pdf.set_title(f"{REPORT_TITLE} — Ville de Valbrune")
    pdf.set_author("Ville de Valbrune")
    pdf.set_subject("Rapport annuel d’activité des services municipaux")
    pdf.set_keywords("Valbrune, rapport d’activité, Licence Ouverte 2.0")
    pdf.set_creator("Moisson demo/make_documents.py")
    pdf.set_lang("fr-FR")
    pdf.set_creation_date(CREATED)
    pdf.set_xmp_metadata(report_xmp())


def _write_columns(pdf) -> None:
    """The sections in two justified columns, flowing from column to column and page to page."""
    with pdf.text_columns(ncols=2, gutter=8, text_align="J", line_height=1.3) as columns:
        for heading, paragraphs in REPORT:
            pdf.set_font("DejaVuSerif", "B", 12)
            with columns.paragraph(text_align="L", top_margin=3, bottom_margin=1.5) as par:
                par.write(heading)
            pdf.set_font("DejaVuSerif", size=10.5)
            for text in paragraphs:
                with columns.paragraph(bottom_margin=1.8) as par:
                    par.write(hyphenate(text))


def report_text() -> str:
    """The report's text as a reader should give it back: title, subtitle, headings and paragraphs."""
    blocks = [REPORT_TITLE, REPORT_SUBTITLE]
    for heading, paragraphs in REPORT:
        blocks += [heading, *paragraphs]
    return "\n\n".join(blocks)


# --------------------------------------------------------------------------------------------
# The scanned annex page (PNG)
# --------------------------------------------------------------------------------------------

SCAN_TITLE = "Annexe 2 : la passerelle des Tanneries"
SCAN_PARAGRAPHS = [
    "La future passerelle des Tanneries reliera le quartier du même nom au parc de la Prairie, en franchissant la "
    "Brune à la hauteur de l'ancien moulin Chabert. Elle sera réservée aux piétons et aux cyclistes et mesurera "
    "quarante-huit mètres de long pour une largeur de quatre mètres.",
    "Le projet est né d'une demande ancienne des habitants de la rive gauche, qui doivent aujourd'hui faire un détour "
    "de près d'un kilomètre pour rejoindre les écoles et le marché couvert. Trois réunions publiques ont été "
    "organisées au cours de l'automne. Elles ont permis de préciser l'emplacement de l'ouvrage, de choisir un tablier "
    "en bois issu des forêts de la région et de prévoir un éclairage qui ne dérange pas la faune de la rivière.",
    "Les études de sol ont été réalisées en novembre. Le permis de construire sera déposé au début de l'année "
    "prochaine et les travaux devraient commencer à la fin de l'été, une fois passée la période de reproduction des "
    "poissons. Pendant le chantier, le sentier des berges restera ouvert, sauf pendant les quelques jours nécessaires "
    "à la pose du tablier.",
    "Le coût de l'opération est estimé à un million quatre cent mille euros. La région et l'agence de l'eau ont déjà "
    "confirmé leur participation, qui couvrira environ la moitié de cette somme. Les habitants qui souhaitent suivre "
    "l'avancement du projet peuvent consulter les documents publiés sur le portail de la ville ou se rendre aux "
    "permanences organisées chaque premier samedi du mois à la mairie de quartier.",
]
SCAN_DPI, SCAN_TILT_DEGREES, SCAN_SEED = 200, 0.4, 2025
A4_INCHES = (8.27, 11.69)


def scan_text() -> str:
    """What OCR of the scan should read: the title and the paragraphs."""
    return "\n\n".join([SCAN_TITLE, *SCAN_PARAGRAPHS])


def write_scan_png(path: Path) -> tuple[int, int]:
    """A page as a flatbed scanner at 200 dpi would give it: slightly blurred, speckled, tilted; returns its size."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    width, height = round(A4_INCHES[0] * SCAN_DPI), round(A4_INCHES[1] * SCAN_DPI)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    body = ImageFont.truetype(str(FONT_REGULAR), _pixels(11))
    title = ImageFont.truetype(str(FONT_BOLD), _pixels(14))
    margin, y = _pixels(60), _pixels(70)
    draw.text((margin, y), RUNNING_HEADER, font=ImageFont.truetype(str(FONT_REGULAR), _pixels(8.5)), fill=70)
    y += _pixels(40)
    draw.text((margin, y), SCAN_TITLE, font=title, fill=0)
    y += _pixels(34)
    for paragraph in SCAN_PARAGRAPHS:
        for line in _wrapped(paragraph, body, draw, width - 2 * margin):
            draw.text((margin, y), line, font=body, fill=0)
            y += _pixels(16)
        y += _pixels(9)
    draw.text((width // 2, height - _pixels(50)), "Page 2", font=body, fill=70, anchor="mm")
    page = page.filter(ImageFilter.GaussianBlur(0.7)).point(lambda v: 18 + v * 222 // 255)
    page = _speckled(page.rotate(SCAN_TILT_DEGREES, resample=Image.Resampling.BICUBIC, fillcolor=236))
    page.save(path, format="PNG", dpi=(SCAN_DPI, SCAN_DPI), optimize=True)
    return page.size


def _pixels(points: float) -> int:
    return round(points * SCAN_DPI / 72)


def _wrapped(text: str, font, draw, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            candidate = word
        line = candidate
    return lines + [line]


def _speckled(page):
    """Paper grain: about one pixel in eighty lightened and one in eighty darkened, from a seeded generator (the same
    bytes every run). Why so sparse: noise on every pixel would make the PNG several megabytes."""
    from PIL import Image, ImageChops

    draws = random.Random(SCAN_SEED).randbytes(page.width * page.height)
    lighter = draws.translate(bytes(40 if b < 3 else 0 for b in range(256)))
    darker = draws.translate(bytes(40 if 3 <= b < 6 else 0 for b in range(256)))
    grain = lambda values: Image.frombytes("L", page.size, values)
    return ImageChops.subtract(ImageChops.add(page, grain(lighter)), grain(darker))


# --------------------------------------------------------------------------------------------
# The council decision (ODT)
# --------------------------------------------------------------------------------------------

ODT_TITLE = "Délibération n° 2025-118 du conseil municipal de Valbrune"
ODT_BEFORE = [
    "Séance du 15 décembre 2025. Objet : attribution des subventions aux associations pour l’année 2026.",
    "Le conseil municipal, réuni en séance publique sous la présidence du maire, a examiné les demandes de "
    "subvention déposées par les associations de la commune avant le 31 octobre 2025. Ces demandes ont été étudiées "
    "par la commission de la vie associative, qui s’est réunie le 2 décembre et a rendu un avis favorable.",
    "Considérant que les associations contribuent à la vie sociale, culturelle et sportive de Valbrune, que leur "
    "action complète celle des services municipaux et qu’elle s’adresse souvent aux habitants les plus éloignés des "
    "équipements publics, le conseil municipal, après en avoir délibéré, décide :",
]
ODT_DECISIONS = [
    "d’attribuer aux associations les subventions de fonctionnement détaillées dans le tableau ci-dessous ;",
    "de verser ces subventions en deux fois, au mois de février et au mois de septembre ;",
    "de demander à chaque association bénéficiaire un bilan de ses activités avant le 30 juin 2026 ;",
    "d’autoriser le maire à signer une convention d’objectifs avec les associations qui reçoivent plus de "
    "vingt-trois mille euros.",
]
ODT_TABLE = [
    ("Association", "Objet", "Montant (euros)"),
    ("Les Amis de la Brune", "Entretien des berges et sorties nature", "4 500"),
    ("Atelier Vélo Solidaire", "Réparation de vélos et apprentissage", "6 000"),
    ("Cercle de lecture des Tilleuls", "Lectures publiques et ateliers d’écriture", "2 200"),
    ("Union sportive de Valbrune", "Football, athlétisme et natation", "18 000"),
    ("Épicerie solidaire de la gare", "Aide alimentaire et atelier de cuisine", "25 000"),
]
ODT_AFTER = [
    "La dépense correspondante, soit cinquante-cinq mille sept cents euros, est inscrite au budget primitif 2026. "
    "Les associations qui n’ont pas obtenu de subvention cette année pourront présenter une nouvelle demande lors de "
    "la prochaine campagne, accompagnée de leurs comptes et de leur projet.",
    "La présente délibération peut faire l’objet d’un recours devant le tribunal administratif dans un délai de deux "
    "mois à compter de sa publication. Adoptée à l’unanimité des membres présents et représentés.",
]
ODF_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.3"')
ODT_ZIP_TIME = (2025, 12, 16, 10, 0, 0)


def odt_content() -> str:
    """content.xml: heading, paragraphs, a bulleted list and a table with a header row."""
    paragraphs = lambda texts: "".join(f'<text:p text:style-name="Standard">{escape(t)}</text:p>' for t in texts)
    items = "".join(f"<text:list-item><text:p>{escape(item)}</text:p></text:list-item>" for item in ODT_DECISIONS)
    row = lambda cells: "<table:table-row>" + "".join(
        f'<table:table-cell office:value-type="string"><text:p>{escape(c)}</text:p></table:table-cell>' for c in cells
    ) + "</table:table-row>"
    table = ('<table:table table:name="Subventions"><table:table-column table:number-columns-repeated="3"/>'
             f"<table:table-header-rows>{row(ODT_TABLE[0])}</table:table-header-rows>"
             + "".join(row(r) for r in ODT_TABLE[1:]) + "</table:table>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<office:document-content {ODF_NAMESPACES}>"
            '<office:automatic-styles><text:list-style style:name="L1">'
            '<text:list-level-style-bullet text:level="1" text:bullet-char="•">'
            '<style:list-level-properties text:space-before="0.6cm" text:min-label-width="0.5cm"/>'
            "</text:list-level-style-bullet></text:list-style></office:automatic-styles>"
            "<office:body><office:text>"
            f'<text:h text:style-name="Heading_20_1" text:outline-level="1">{escape(ODT_TITLE)}</text:h>'
            f'{paragraphs(ODT_BEFORE)}<text:list text:style-name="L1">{items}</text:list>{table}'
            f"{paragraphs(ODT_AFTER)}</office:text></office:body></office:document-content>\n")


def odt_styles() -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<office:document-styles {ODF_NAMESPACES}><office:styles>"
            '<style:style style:name="Standard" style:family="paragraph">'
            '<style:paragraph-properties fo:margin-bottom="0.25cm"/>'
            '<style:text-properties style:font-name="DejaVu Serif" fo:font-size="11pt" fo:language="fr" '
            'fo:country="FR"/>'
            "</style:style>"
            '<style:style style:name="Heading_20_1" style:display-name="Heading 1" style:family="paragraph" '
            'style:parent-style-name="Standard"><style:text-properties fo:font-size="16pt" fo:font-weight="bold"/>'
            "</style:style></office:styles></office:document-styles>\n")


def odt_meta() -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<office:document-meta {ODF_NAMESPACES}><office:meta>"
            "<meta:generator>Moisson demo/make_documents.py</meta:generator>"
            f"<dc:title>{escape(ODT_TITLE)}</dc:title><dc:language>fr-FR</dc:language>"
            "<dc:creator>Ville de Valbrune</dc:creator>"
            "<meta:creation-date>2025-12-16T10:00:00</meta:creation-date><dc:date>2025-12-16T10:00:00</dc:date>"
            f'<meta:user-defined meta:name="Licence">{LICENCE_OUVERTE}</meta:user-defined>'
            "</office:meta></office:document-meta>\n")


ODT_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.3"
  manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""


def write_deliberation_odt(path: Path) -> None:
    """The ODF package by hand: `mimetype` first and stored (readers sniff it at offset 38), then the XML parts."""
    members = [("mimetype", b"application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED),
               ("content.xml", odt_content().encode(), zipfile.ZIP_DEFLATED),
               ("styles.xml", odt_styles().encode(), zipfile.ZIP_DEFLATED),
               ("meta.xml", odt_meta().encode(), zipfile.ZIP_DEFLATED),
               ("META-INF/manifest.xml", ODT_MANIFEST.encode(), zipfile.ZIP_DEFLATED)]
    with zipfile.ZipFile(path, "w") as package:
        for name, data, method in members:
            info = zipfile.ZipInfo(name, date_time=ODT_ZIP_TIME)
            info.compress_type, info.external_attr, info.create_system = method, 0o644 << 16, 3
            package.writestr(info, data)


def odt_text() -> str:
    """What an ODT reader should give back (the table as its cells, one row per line)."""
    rows = ["\t".join(r) for r in ODT_TABLE]
    return "\n\n".join([ODT_TITLE, *ODT_BEFORE, *ODT_DECISIONS, "\n".join(rows), *ODT_AFTER])


# --------------------------------------------------------------------------------------------
# The chronicle (TEI P5)
# --------------------------------------------------------------------------------------------

TEI_TITLE = "Chronique de Valbrune : l’hiver de la grande crue"
TEI_HEADS = ("Chronique de Valbrune", "L’hiver de la grande crue")
TEI_PARAGRAPHS = [
    "Au début du mois de janvier 1955, la pluie tomba sans interruption pendant onze jours sur les collines qui "
    "dominent Valbrune. Les anciens du quartier des Tanneries, habitués aux colères de la Brune, surveillaient "
    "chaque matin la marque peinte sur la pile du vieux pont. Le 14 janvier, l’eau la dépassa de près d’un mètre, "
    "et le maire fit sonner le tocsin pour prévenir les habitants des rues basses.",
    "En une nuit, la rivière envahit les caves, les ateliers et les jardins des bords de l’eau. Les tanneurs "
    "hissèrent leurs peaux au grenier, les boulangers de la rue des Moulins cuisirent jusqu’à l’aube pour que "
    "personne ne manque de pain, et les bateliers du canal allèrent de maison en maison chercher les familles "
    "isolées. Le moulin Chabert, dont la roue tournait encore, perdit sa vanne et une partie de son mur.",
    "Lorsque l’eau se retira, une boue épaisse recouvrait le bas de la ville. Les écoles restèrent fermées trois "
    "semaines, et la salle des fêtes servit de dortoir à plus de cent personnes. Le conseil municipal vota une aide "
    "d’urgence et ouvrit une souscription à laquelle répondirent les communes voisines, mais aussi des habitants "
    "partis depuis longtemps, qui envoyèrent de l’argent et des lettres de soutien.",
    "La reconstruction dura deux ans. On releva le pont, on consolida les berges et l’on renonça à reconstruire "
    "certains ateliers trop exposés, dont les terrains devinrent le parc de la Prairie. Beaucoup de meuniers, déjà "
    "concurrencés par les minoteries de la vallée, ne rouvrirent pas leurs moulins.",
    "Les registres de l’époque gardent aussi la trace de gestes plus modestes. L’instituteur de l’école des Prés fit "
    "la classe dans sa propre cuisine pendant que les salles séchaient, une couturière de la place du Marché recousit "
    "sans rien demander les rideaux et les draps abîmés, et les paysans des hameaux voisins descendirent avec leurs "
    "charrettes pour emporter les meubles mouillés. Ces récits, recueillis bien plus tard auprès des derniers "
    "témoins, montrent une ville éprouvée mais solidaire.",
    "Chaque année depuis, au mois de juin, la fête de la rivière rappelle cet hiver-là. On y raconte les souvenirs "
    "de ceux qui l’ont vécu, on y montre les photographies conservées aux archives municipales, et les enfants "
    "des écoles y lâchent sur la Brune de petits bateaux de papier, en mémoire des barques qui sauvèrent tant de "
    "familles.",
]
# The note hangs off the third paragraph (the council's vote); a TEI reader keeps notes and apparatus out of the text.
TEI_NOTE = "Registre des délibérations du conseil municipal, séance extraordinaire du 18 janvier 1955, folio 212."


def tei_document() -> str:
    paragraphs = []
    for number, text in enumerate(TEI_PARAGRAPHS):
        note = f'<note place="foot" n="1">{escape(TEI_NOTE)}</note>' if number == 2 else ""
        paragraphs.append(f"      <p>{escape(text)}{note}</p>")
    body = "\n".join(paragraphs)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<TEI xmlns="http://www.tei-c.org/ns/1.0" xml:lang="fr">
  <teiHeader>
    <fileDesc>
      <titleStmt>
        <title>{escape(TEI_TITLE)}</title>
        <author>Service des archives municipales de Valbrune</author>
      </titleStmt>
      <publicationStmt>
        <publisher>Ville de Valbrune</publisher>
        <date when="2025-11-20">2025</date>
        <availability status="free">
          <licence target="{CC_BY}">Ce texte est diffusé sous licence Creative Commons Attribution 4.0
            International (CC BY 4.0).</licence>
        </availability>
      </publicationStmt>
      <sourceDesc>
        <p>Texte écrit pour la démonstration de Moisson ; les lieux, les personnes et les faits sont fictifs.</p>
      </sourceDesc>
    </fileDesc>
    <profileDesc>
      <langUsage><language ident="fr">français</language></langUsage>
    </profileDesc>
  </teiHeader>
  <text>
    <body>
      <head>{escape(TEI_HEADS[0])}</head>
      <div type="chapter">
      <head>{escape(TEI_HEADS[1])}</head>
{body}
      </div>
    </body>
  </text>
</TEI>
"""


def tei_text() -> str:
    """What a TEI reader should give back: the heads and the paragraphs, without the note."""
    return "\n\n".join([*TEI_HEADS, *TEI_PARAGRAPHS])


# --------------------------------------------------------------------------------------------


def main() -> int:
    if not FONT_REGULAR.is_file():
        print(f"no DejaVu Serif at {FONT_REGULAR}: apt-get install fonts-dejavu-core", file=sys.stderr)
        return 1
    FILES.mkdir(parents=True, exist_ok=True)
    pages = write_report_pdf(FILES / PDF_NAME)
    size = write_scan_png(FILES / SCAN_NAME)
    write_deliberation_odt(FILES / ODT_NAME)
    (FILES / TEI_NAME).write_text(tei_document(), encoding="utf-8")
    words = {PDF_NAME: report_text(), SCAN_NAME: scan_text(), ODT_NAME: odt_text(), TEI_NAME: tei_text()}
    for name, text in words.items():
        data = (FILES / name).read_bytes()
        digest = hashlib.sha256(data).hexdigest()[:16]
        print(f"{name:38} {len(data):8d} bytes  {len(text.split()):4d} words  sha256 {digest}")
    print(f"{PDF_NAME}: {pages} pages; {SCAN_NAME}: {size[0]}x{size[1]} px at {SCAN_DPI} dpi")
    return 0


if __name__ == "__main__":
    sys.exit(main())
