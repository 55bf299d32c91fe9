"""Build Moisson's bundled demo data: two WARC files, a JSONL dump, a text and an HTML file, and the truth table.

Why a script rather than checked-in binaries: the demo inputs must be reviewable as text, every
expected outcome must sit next to the document that causes it, and anyone must be able to
regenerate byte-identical files. Nothing here is random: dates are fixed, WARC-Record-IDs are
uuid5 of the record's type, URL and date, and warcio's gzip members carry mtime 0.

Run from anywhere with the project venv:

    /work/main/.venv/bin/python demo/build_demo_data.py          # build, then check
    /work/main/.venv/bin/python demo/build_demo_data.py --no-check

It (re)writes:
    demo/archives/web-sample.warc.gz   WARC/1.1, one gzip member per record
    demo/archives/web-extra.warc       WARC/1.0, uncompressed
    demo/dumps/notes.jsonl             JSONL dump, with one malformed line and one line without 'text'
    demo/dumps/letter.txt              plain text document (English)
    demo/dumps/bulletin.html           HTML page (French main content inside boilerplate)
    demo/expected.tsv                  what the pipeline must decide for every document

All prose below was written for this demo. Licences are expressed the way real sites do it:
rel="license" links in the footer or the head, JSON-LD, Dublin Core meta tags, or not at all.

The policy the truth table assumes (the demo sources file must match it):
    languages: [fr, en, de]
    licences allowed: [CC0-1.0, CC-BY-4.0, CC-BY-SA-4.0, etalab-2.0]
    the files source (dumps/) declares license: CC-BY-4.0; the WARC source declares none
    reasons are decided in this order: language, licence, quality, exact duplicate, near duplicate
    the kept member of a duplicate cluster is the first occurrence: sources in the sources file's order
    (the web archive before the dumps), then files in the order they are read (sorted paths:
    web-extra.warc before web-sample.warc.gz), then byte offset or line; then the earliest retrieved
    (WARC-Date; the dump files' mtime is pinned to 2026-03-15, after every WARC record)

expected.tsv: one row per document (HTML responses and dump records; skipped WARC records and the two
bad JSONL lines are not documents). `license` is the SPDX id the pipeline should decide, `unknown`
without any evidence, and empty for a document rejected before the licence step (language).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import itertools
import json
import os
import re
import struct
import sys
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from functools import partial
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

DEMO_DIR = Path(__file__).resolve().parent
ARCHIVES_DIR = DEMO_DIR / "archives"
DUMPS_DIR = DEMO_DIR / "dumps"

# --------------------------------------------------------------------------------------------
# Licences: the URL a page points at, and the SPDX id the pipeline is expected to map it to.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Licence:
    url: str
    label: str
    spdx: str


CC_BY = Licence("https://creativecommons.org/licenses/by/4.0/", "CC BY 4.0", "CC-BY-4.0")
CC_BY_SA_FR = Licence("https://creativecommons.org/licenses/by-sa/4.0/deed.fr", "CC BY-SA 4.0", "CC-BY-SA-4.0")
CC_BY_SA_DE = Licence("https://creativecommons.org/licenses/by-sa/4.0/deed.de", "CC BY-SA 4.0", "CC-BY-SA-4.0")
CC_BY_SA = Licence("https://creativecommons.org/licenses/by-sa/4.0/", "CC BY-SA 4.0", "CC-BY-SA-4.0")
CC0 = Licence("https://creativecommons.org/publicdomain/zero/1.0/", "CC0 1.0", "CC0-1.0")
ETALAB = Licence("https://www.etalab.gouv.fr/licence-ouverte-open-licence/", "Licence Ouverte 2.0", "etalab-2.0")
CC_BY_NC = Licence("https://creativecommons.org/licenses/by-nc/4.0/", "CC BY-NC 4.0", "CC-BY-NC-4.0")

# Where the licence evidence sits in the markup.
FOOTER_LINK = "footer <a rel=license>"
HEAD_LINK = "head <link rel=license>"
JSON_LD = "JSON-LD license"
DCTERMS = "meta dcterms.license"
NO_LICENCE = "no licence (all rights reserved)"

DUMP_DEFAULT_LICENCE = "CC-BY-4.0"  # what the demo sources file declares for the files source
# A dump carries no capture date: the pipeline takes the file's modification time. Pin it after every WARC-Date,
# so that the web copies come first by date too (they already do by order: their source is listed first).
DUMP_MTIME = datetime(2026, 3, 15, tzinfo=timezone.utc).timestamp()


# --------------------------------------------------------------------------------------------
# Sites: the boilerplate around the articles (navigation, footer), one per fake host.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    base: str
    lang: str
    name: str
    nav: tuple[tuple[str, str], ...]
    address: str
    email: str
    legal: tuple[tuple[str, str], ...]
    licence_sentence: str  # "{link}" is replaced with the licence link
    rights_reserved: str


VILLE = Site(
    base="https://www.ville-exemple.fr",
    lang="fr",
    name="Ville d'Exemple",
    nav=(
        ("/", "Accueil"),
        ("/actualites/", "Actualités"),
        ("/demarches/", "Démarches"),
        ("/culture/", "Culture et loisirs"),
        ("/environnement/", "Environnement"),
        ("/transports/", "Transports"),
        ("/contact/", "Contact"),
    ),
    address="Hôtel de Ville, 1 place de la République, 99000 Exemple",
    email="contact@ville-exemple.fr",
    legal=(("/mentions-legales/", "Mentions légales"), ("/donnees-personnelles/", "Données personnelles"),
           ("/accessibilite/", "Accessibilité")),
    licence_sentence="Sauf mention contraire, les contenus de ce site sont publiés sous {link}.",
    rights_reserved="© 2026 Ville d'Exemple. Tous droits réservés.",
)

STADT = Site(
    base="https://stadt-beispiel.de",
    lang="de",
    name="Stadt Beispiel",
    nav=(
        ("/", "Startseite"),
        ("/aktuelles/", "Aktuelles"),
        ("/rathaus/", "Rathaus und Service"),
        ("/kultur/", "Kultur"),
        ("/umwelt/", "Umwelt"),
        ("/verkehr/", "Verkehr"),
        ("/kontakt/", "Kontakt"),
    ),
    address="Rathaus, Marktplatz 1, 99999 Beispiel",
    email="info@stadt-beispiel.de",
    legal=(("/impressum/", "Impressum"), ("/datenschutz/", "Datenschutz"), ("/barrierefreiheit/", "Barrierefreiheit")),
    licence_sentence="Texte dieser Seite stehen unter der Lizenz {link}.",
    rights_reserved="© 2026 Stadt Beispiel. Alle Rechte vorbehalten.",
)

STADT_PRESSE = replace(
    STADT,
    name="Stadt Beispiel · Pressestelle",
    nav=(
        ("/presse/", "Pressemitteilungen"),
        ("/presse/fotos/", "Pressefotos"),
        ("/presse/termine/", "Termine"),
        ("/presse/kontakt/", "Ansprechpartner"),
        ("/presse/archiv/", "Archiv"),
    ),
    email="presse@stadt-beispiel.de",
    licence_sentence="Pressemitteilungen dürfen unter der Lizenz {link} weiterverwendet werden.",
)

LIBRARY = Site(
    base="https://library.example.org",
    lang="en",
    name="Riverside Public Library",
    nav=(
        ("/", "Home"),
        ("/catalogue/", "Catalogue"),
        ("/events/", "Events"),
        ("/collections/", "Collections"),
        ("/visit/", "Visit us"),
        ("/join/", "Get a library card"),
        ("/contact/", "Contact"),
    ),
    address="Riverside Public Library, 12 Mill Street, Riverside",
    email="ask@library.example.org",
    legal=(("/privacy/", "Privacy notice"), ("/accessibility/", "Accessibility"), ("/terms/", "Terms of use")),
    licence_sentence="Unless otherwise stated, text on this site is available under {link}.",
    rights_reserved="© 2026 Riverside Public Library. All rights reserved.",
)

MIRROR = Site(
    base="https://mirror.example.com",
    lang="en",
    name="Open Culture Mirror",
    nav=(
        ("/", "Home"),
        ("/libraries/", "Libraries"),
        ("/museums/", "Museums"),
        ("/archives/", "Archives"),
        ("/about/", "About this mirror"),
    ),
    address="Open Culture Mirror, a volunteer project",
    email="mirror@mirror.example.com",
    legal=(("/about/takedown/", "Takedown requests"), ("/about/privacy/", "Privacy")),
    licence_sentence="Mirrored from the original publisher, who released it under {link}.",
    rights_reserved="© 2026 Open Culture Mirror. All rights reserved.",
)

COMUNE = Site(
    base="https://www.comune-esempio.it",
    lang="it",
    name="Comune di Esempio",
    nav=(
        ("/", "Home"),
        ("/notizie/", "Notizie"),
        ("/servizi/", "Servizi"),
        ("/biblioteca/", "Biblioteca"),
        ("/eventi/", "Eventi"),
        ("/contatti/", "Contatti"),
    ),
    address="Palazzo Comunale, Piazza Garibaldi 1, Esempio",
    email="urp@comune-esempio.it",
    legal=(("/note-legali/", "Note legali"), ("/privacy/", "Privacy"), ("/accessibilita/", "Accessibilità")),
    licence_sentence="I contenuti di questo sito sono pubblicati con licenza {link}.",
    rights_reserved="© 2026 Comune di Esempio. Tutti i diritti riservati.",
)


# --------------------------------------------------------------------------------------------
# Articles: title and paragraphs, the main content a good extractor must recover.
# French prose uses straight apostrophes so that the ISO-8859-1 page can be encoded losslessly.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Article:
    title: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def edited(article: Article, *changes: tuple[str, str]) -> Article:
    """A near-duplicate: the same article with a few words changed; each change must apply exactly once."""
    paragraphs = list(article.paragraphs)
    for old, new in changes:
        hits = [i for i, p in enumerate(paragraphs) if old in p]
        assert len(hits) == 1 and paragraphs[hits[0]].count(old) == 1, f"edit {old!r} must match once"
        paragraphs[hits[0]] = paragraphs[hits[0]].replace(old, new)
    return Article(article.title, tuple(paragraphs))


RIVER_FR = Article(
    "La Vallière retrouve un lit plus naturel",
    (
        "Depuis plus d'un siècle, la Vallière traverse le quartier des Tanneurs dans un canal de pierre "
        "rectiligne, construit à l'époque où les ateliers avaient besoin d'une eau rapide et docile. Ce canal a "
        "rendu des services, mais il a aussi appauvri la rivière : le fond uniforme ne retient plus les graviers, "
        "l'eau se réchauffe vite en été et les poissons ne trouvent plus d'abris.",
        "Le conseil municipal a donc adopté un programme de restauration qui sera conduit avec le syndicat de "
        "bassin. Sur un tronçon de huit cents mètres, les murs de berge seront abaissés et remplacés par des "
        "pentes douces plantées de saules, d'aulnes et de roseaux. Le lit sera élargi par endroits pour recréer "
        "des méandres, des bancs de galets et quelques fosses plus profondes où les truites pourront se reposer.",
        "Les travaux commenceront le 14 avril 2026 et dureront environ cinq mois. Pendant cette période, le "
        "chemin de halage restera ouvert aux piétons, sauf lors de deux semaines de terrassement annoncées à "
        "l'avance sur le site de la ville. Les engins travailleront uniquement en journée et jamais le dimanche.",
        "Ce projet ne vise pas seulement la beauté du paysage. Une rivière plus large et plus sinueuse ralentit "
        "les crues, recharge la nappe phréatique et offre de la fraîcheur aux habitants pendant les épisodes de "
        "chaleur. Les agents du service des espaces verts suivront l'évolution de la faune et de la flore pendant "
        "trois ans, et les résultats seront publiés chaque automne.",
        "Une réunion publique aura lieu à la salle des fêtes le jeudi 26 mars à 19 heures. Les plans détaillés y "
        "seront présentés et chacun pourra poser ses questions aux ingénieurs du syndicat.",
    ),
)

LIBRARY_HOURS_FR = Article(
    "La médiathèque Jules-Verne élargit ses horaires",
    (
        "À partir du mois d'avril, la médiathèque Jules-Verne ouvrira ses portes six jours sur sept. Les "
        "habitants l'avaient demandé lors de la consultation menée l'an dernier : beaucoup travaillent en "
        "journée et ne pouvaient venir que le samedi, lorsque les salles sont les plus chargées.",
        "Désormais, la médiathèque sera ouverte jusqu'à 20 heures le mardi et le jeudi, ainsi que le dimanche "
        "matin de 10 heures à 13 heures. Pour rendre ces horaires possibles, l'équipe a été renforcée par deux "
        "bibliothécaires et un médiateur numérique, et le planning des agents a été entièrement revu avec eux.",
        "Les nouveaux créneaux seront aussi l'occasion de proposer d'autres activités. Le mardi soir, un atelier "
        "d'aide aux démarches en ligne accueillera les personnes qui se sentent perdues devant les formulaires "
        "administratifs. Le dimanche matin sera réservé aux familles, avec des lectures pour les tout-petits et "
        "un espace de jeux de société.",
        "L'inscription reste gratuite pour tous les habitants de la commune et pour les étudiants. Elle donne "
        "accès à l'emprunt de livres, de disques, de films et de magazines, mais aussi aux ressources "
        "numériques : presse en ligne, cours de langues et livres audio téléchargeables.",
        "La médiathèque invite enfin ses lecteurs à donner leur avis sur ces changements. Un questionnaire est "
        "disponible à l'accueil et sur le portail de la ville jusqu'à la fin du mois de juin. Les horaires "
        "pourront être ajustés à la rentrée en fonction des réponses.",
    ),
)

BREAD_FR = Article(  # served in ISO-8859-1: no characters outside Latin-1 here
    "Du levain au fournil : une brève histoire du pain au village",
    (
        "Pendant des siècles, le pain a été au centre de la vie quotidienne du village. Les archives communales "
        "conservent des registres du dix-huitième siècle où l'on voit que le prix de la miche était fixé chaque "
        "semaine par les échevins, en fonction du cours du blé sur le marché voisin.",
        "À cette époque, la plupart des familles ne possédaient pas de four. Elles pétrissaient la pâte à la "
        "maison, la laissaient lever toute la nuit dans un panier couvert d'un linge, puis la portaient au four "
        "banal, qui appartenait au seigneur. Le fournier prélevait une part des pains en paiement, ce qui "
        "suscitait de nombreuses disputes consignées dans les comptes.",
        "Le levain occupait une place particulière. On gardait d'une fournée à l'autre un morceau de pâte "
        "aigre, que l'on rafraîchissait avec de la farine et de l'eau tiède. Certaines familles se transmettaient "
        "ainsi le même levain pendant plusieurs générations, et l'on prêtait volontiers un peu du sien à un "
        "voisin dont la pâte avait tourné.",
        "Au dix-neuvième siècle, les premières boulangeries s'installèrent sur la place de l'église. Le pain "
        "blanc, longtemps réservé aux jours de fête, devint peu à peu l'aliment de tous les jours. Les fours à "
        "bois furent ensuite remplacés par des fours au fioul, puis par des fours électriques.",
        "Le musée de la vie rurale présente jusqu'à l'été une exposition consacrée à ces changements. On peut y "
        "voir un pétrin en chêne, des moules en osier et des photographies prêtées par les habitants. Des "
        "démonstrations de cuisson au feu de bois ont lieu le premier samedi de chaque mois.",
    ),
)

BEES_FR = Article(
    "Des ruches sur le toit de la mairie annexe",
    (
        "Depuis trois ans, quatre ruches sont installées sur la terrasse de la mairie annexe. Ce projet, lancé "
        "avec l'association apicole du canton, avait d'abord suscité quelques inquiétudes parmi les agents. "
        "Aujourd'hui, les abeilles font partie du paysage et personne n'a été piqué depuis leur arrivée.",
        "Contrairement à une idée répandue, la ville n'est pas un milieu hostile pour les pollinisateurs. Les "
        "parcs, les alignements d'arbres et les jardins privés offrent une grande variété de fleurs, du "
        "printemps jusqu'à l'automne. Les tilleuls des boulevards, en particulier, fournissent en juin une "
        "abondante récolte de nectar. De plus, les espaces verts municipaux ne sont plus traités avec des "
        "pesticides depuis 2017.",
        "L'apiculteur qui s'occupe des ruches visite les colonies toutes les deux semaines pendant la belle "
        "saison. Il vérifie la santé des reines, surveille la présence du frelon asiatique et ajoute des hausses "
        "lorsque la miellée commence. L'an dernier, la récolte a atteint quarante-deux kilos d'un miel clair aux "
        "notes de tilleul.",
        "Les ruches ne suffisent pourtant pas à protéger les insectes. Les abeilles domestiques ne représentent "
        "qu'une petite partie des pollinisateurs, à côté de centaines d'espèces d'abeilles sauvages, de bourdons "
        "et de papillons. C'est pourquoi la ville sème aussi des prairies fleuries le long des voies vertes et "
        "installe des hôtels à insectes dans les écoles.",
        "Les classes de l'école primaire peuvent visiter le rucher au mois de mai, équipées de vareuses et de "
        "voiles prêtés par l'association.",
    ),
)

TRAM_FR = Article(
    "Travaux sur la ligne de tramway : ce qui change pour vous",
    (
        "Du 6 avril au 15 mai, la ligne de tramway sera interrompue entre les stations Gare et Hôtel de Ville "
        "pour le remplacement des rails et des appareils de voie. Ces équipements, posés il y a vingt-cinq ans, "
        "arrivent en fin de vie et doivent être changés avant de provoquer des pannes.",
        "Pendant toute la durée du chantier, des bus de remplacement circuleront toutes les six minutes aux "
        "heures de pointe et toutes les dix minutes le reste de la journée. Les arrêts provisoires seront "
        "installés à proximité des stations fermées et signalés par des panneaux jaunes. Les titres de transport "
        "habituels restent valables dans ces bus.",
        "Les travaux se dérouleront principalement de nuit, entre 21 heures et 5 heures, afin de limiter la gêne "
        "pour les commerces du centre. Certaines opérations bruyantes, comme la découpe des anciens rails, "
        "seront toutefois réalisées en journée. Les riverains concernés recevront un courrier précisant les dates "
        "de ces interventions.",
        "La circulation automobile sera modifiée rue de la République et avenue Carnot, qui passeront en sens "
        "unique. Les livraisons resteront possibles le matin avant 11 heures. Les cyclistes pourront emprunter "
        "un couloir protégé aménagé le long du chantier.",
        "Un agent d'information sera présent chaque jour place du Marché pour répondre aux questions des usagers.",
    ),
)

OPEN_DATA_EN = Article(
    "Our catalogue is now open data",
    (
        "Starting this month, the complete catalogue of the Riverside Public Library is available as open data. "
        "Anyone can download the records for more than four hundred thousand books, maps, recordings and "
        "periodicals, and reuse them for any purpose, including commercial projects, as long as the library is "
        "credited.",
        "The records are published in three formats. A weekly spreadsheet export suits people who simply want "
        "to browse or count things. A set of bibliographic files follows the standards used by other libraries, "
        "so that catalogues can be merged or compared. Finally, a simple web interface lets developers query "
        "the data directly from their own applications.",
        "Why do this? A catalogue is built over decades with public money, and we believe its value grows when "
        "more people can use it. Researchers have already asked us for lists of the local newspapers held in "
        "our stacks. A secondary school wants to map the birthplaces of the authors on its reading list. A small "
        "publisher hopes to find out-of-print titles worth bringing back.",
        "Opening the data also helps us improve it. Every record contains a link to a short form where readers "
        "can report a spelling mistake, a wrong date or a missing subject heading. Corrections are reviewed by "
        "our cataloguing team and appear in the next weekly export.",
        "Personal information is never part of the published files. Loan histories, reader accounts and "
        "reservations stay in a separate system and are not shared with anyone. If you have questions about the "
        "project, our data librarian holds an open session on the first Wednesday of every month.",
    ),
)

MAPS_EN = Article(
    "Two centuries of town maps, now online",
    (
        "The library has finished digitising its collection of historic town maps, a project that took almost "
        "three years. Around nine hundred sheets, from a hand-drawn survey of 1821 to the first aerial "
        "photographs taken after the war, can now be viewed and downloaded in high resolution from our digital "
        "collections website.",
        "Many of these maps were too fragile to be handled by visitors. Some had been folded for decades and were "
        "splitting along the creases, while others had suffered from damp in the basement of the old town hall. "
        "Before scanning, each sheet was cleaned, flattened and, where necessary, repaired by a conservator "
        "using Japanese paper and wheat starch paste.",
        "The scans were made with a large overhead camera that never touches the paper. Each image was checked "
        "against the original for colour and sharpness, and then described by a volunteer team who recorded the "
        "title, the surveyor, the scale and the streets shown. This work means that a search for a street name "
        "will now find every map on which it appears.",
        "The maps are already proving useful. Local historians are tracing how the market square changed shape, "
        "and the planning department has used the early surveys to locate forgotten wells and culverts before "
        "starting new building work.",
        "On Saturday 14 March, the map room will be open for a guided tour with the conservation team. Places "
        "are limited to twenty people, so please book at the information desk.",
    ),
)

READING_CIRCLE_EN = Article(
    "Join the Thursday reading circle",
    (
        "Every second Thursday of the month, a small group of readers meets in the garden room of the library to "
        "talk about a book they have all read. The reading circle was started ten years ago by a retired teacher "
        "and has been running ever since, through changes of staff, a flood and a long renovation.",
        "There is no membership fee and no obligation to come every time. Some members have attended for years, "
        "while others drop in when the book of the month interests them. The group chooses its titles together, "
        "usually alternating between a recent novel, a classic and a work of non-fiction. The library provides "
        "several copies of each book, including a large print edition and an audio version.",
        "Discussions are friendly and relaxed. Nobody is expected to have a clever opinion, and it is perfectly "
        "acceptable to admit that a book was boring or that you did not finish it. Often the liveliest evenings "
        "are those when the group is divided, with half the room loving a story that the other half found "
        "unbearable.",
        "This spring, the circle will read three books set by the sea, including a collection of letters written "
        "by a lighthouse keeper's daughter. Tea and biscuits are served from half past six, and the conversation "
        "begins at seven.",
    ),
)

SEEDS_EN = Article(
    "Borrow a packet of seeds from the library",
    (
        "Alongside books and films, the library now lends something rather unusual: seeds. The seed library, "
        "housed in an old card catalogue cabinet near the entrance, holds more than sixty varieties of "
        "vegetables, herbs and flowers, most of them grown and saved by local gardeners.",
        "The idea is simple. You take a few packets in spring, grow the plants in your garden or on your balcony, "
        "and at the end of the season you let some of them go to seed. You then bring back a portion of those "
        "seeds, dried and labelled, so that other people can borrow them the following year. Nobody is fined if "
        "their harvest fails, and beginners are very welcome.",
        "Many of the varieties are old local strains that are no longer sold in shops. There is a climbing bean "
        "that has been grown in the valley for at least a hundred years, a small yellow tomato that ripens even "
        "in a cool summer, and a lettuce named after the village where it was first selected. Keeping these "
        "plants in circulation is a way of preserving part of the region's heritage.",
        "To help new growers, volunteers from the allotment society hold a drop-in session every Saturday "
        "morning in April. They explain how to sow, when to transplant and how to collect seeds without mixing "
        "varieties. Printed growing guides are also available next to the cabinet.",
    ),
)

ROOF_EN = Article(
    "Central branch closed for roof repairs",
    (
        "The central branch of the library will close from Monday 20 April for about six weeks while "
        "contractors repair the roof. Heavy rain during the winter revealed several leaks above the reading "
        "room, and surveyors have advised that the work cannot wait until the summer.",
        "During the closure, books can be returned at any of our four neighbourhood branches or through the book "
        "drop next to the main entrance, which will remain open. Loans due during this period will be extended "
        "automatically, and no late fees will be charged. Reservations placed for collection at the central "
        "branch will be redirected to the East Street branch unless you choose another location in your account.",
        "The local history room and its collections will be inaccessible while the work is carried out. "
        "Researchers with urgent requests can contact the archivist, who will do her best to answer questions by "
        "email and to scan a limited number of documents.",
        "The public computers will be moved temporarily to the community centre on Mill Lane, where they will be "
        "available on weekday afternoons. Staff will also be on hand there to help with printing and online "
        "forms.",
        "We apologise for the inconvenience and thank you for your patience. Updates on the progress of the work "
        "will be posted on this page.",
    ),
)

WEATHER_DE = Article(
    "Messnetz in den Bergen: So arbeiten unsere Wetterstationen",
    (
        "Seit über vierzig Jahren betreibt die Stadt gemeinsam mit dem Alpenverein ein kleines Netz von "
        "Wetterstationen in den umliegenden Bergen. Die höchste Station steht auf 2310 Metern neben einer "
        "Schutzhütte, die niedrigste am Ufer des Stausees. Insgesamt liefern sieben Stationen alle zehn Minuten "
        "Daten zu Temperatur, Niederschlag, Wind und Schneehöhe.",
        "Früher mussten die Werte von Freiwilligen abgelesen und von Hand in Tabellen eingetragen werden. Heute "
        "übertragen die Stationen ihre Messungen über Funk an einen Server im Rathaus. Trotzdem bleibt viel "
        "Handarbeit: Im Winter vereisen die Windmesser, Lawinen beschädigen Masten, und manchmal nagen "
        "Murmeltiere an den Kabeln.",
        "Die gesammelten Daten sind für viele Menschen wichtig. Der Lawinenwarndienst nutzt sie für seine "
        "täglichen Lageberichte, die Landwirte auf den Almen planen damit den Auftrieb ihrer Tiere, und die "
        "Bergrettung verfolgt bei Einsätzen die Entwicklung von Wind und Sicht. Auch Forschende der Universität "
        "werten die langen Messreihen aus, um die Folgen des Klimawandels im Gebirge zu untersuchen.",
        "Die Ergebnisse sind eindeutig. An der Station beim Stausee ist die mittlere Jahrestemperatur seit "
        "Beginn der Messungen um fast zwei Grad gestiegen. Die Schneedecke bleibt im Frühjahr deutlich kürzer "
        "liegen als noch vor dreißig Jahren.",
        "Alle Messwerte stehen auf dem Datenportal der Stadt kostenlos zur Verfügung. Wer eine Station aus der "
        "Nähe sehen möchte, kann im Sommer an einer geführten Wanderung mit dem Wetterdienst teilnehmen.",
    ),
)

RAILWAY_DE = Article(
    "Die Talbahn fährt wieder im Halbstundentakt",
    (
        "Nach zwei Jahren Bauzeit ist die Modernisierung der Talbahn abgeschlossen. Seit dem Fahrplanwechsel "
        "verkehren die Züge zwischen dem Hauptbahnhof und Oberried wieder regelmäßig, und zwar werktags alle "
        "dreißig Minuten. Zuvor mussten Fahrgäste auf vielen Abschnitten in Busse umsteigen.",
        "Im Zuge der Arbeiten wurden zwölf Kilometer Gleis erneuert, drei Brücken saniert und alle Bahnsteige "
        "auf eine einheitliche Höhe gebracht. Damit können Menschen mit Rollstuhl, Kinderwagen oder schwerem "
        "Gepäck nun stufenlos ein- und aussteigen. An vier Haltepunkten entstanden außerdem überdachte "
        "Abstellanlagen für Fahrräder.",
        "Die neuen Triebwagen bieten mehr Platz und sind deutlich leiser als ihre Vorgänger. Jeder Zug verfügt "
        "über einen Mehrzweckbereich, Steckdosen an den Sitzplätzen und Bildschirme, die Anschlüsse an den "
        "Umsteigebahnhöfen anzeigen. Im Sommer sollen an Wochenenden zusätzliche Fahrten für Wandergruppen "
        "angeboten werden.",
        "Die Geschichte der Strecke reicht bis ins Jahr 1897 zurück. Damals wurde die Bahn gebaut, um Holz und "
        "Steine aus dem Tal in die Stadt zu bringen. In den siebziger Jahren drohte ihr die Stilllegung, doch "
        "eine Bürgerinitiative setzte sich erfolgreich für ihren Erhalt ein.",
        "Zur Feier der Wiedereröffnung lädt die Stadt am kommenden Sonntag zu einem Bahnhofsfest in Oberried "
        "ein. Es gibt Führungen durch die Werkstatt, Musik und ein Programm für Kinder.",
    ),
)

ORCHARDS_DE = Article(
    "Alte Obstbäume, neues Leben: Die Streuobstwiesen am Stadtrand",
    (
        "Am südlichen Stadtrand liegen einige der letzten Streuobstwiesen der Region. Hochstämmige Apfel-, "
        "Birnen- und Zwetschgenbäume stehen dort verstreut im Gras, manche von ihnen sind älter als hundert "
        "Jahre. Lange galten diese Flächen als unwirtschaftlich, und viele Bäume wurden gefällt oder einfach "
        "sich selbst überlassen.",
        "Seit fünf Jahren kümmert sich das Umweltamt gemeinsam mit einem Verein um die Pflege der Wiesen. Jeden "
        "Winter werden die Bäume geschnitten, abgestorbene Äste entfernt und junge Bäume alter Sorten "
        "nachgepflanzt. Das Gras wird nur zweimal im Jahr gemäht, damit Wildblumen aussamen können und Insekten "
        "genügend Nahrung finden.",
        "Die Wiesen sind ein wertvoller Lebensraum. In den Baumhöhlen brüten Steinkäuze und Gartenrotschwänze, "
        "im hohen Gras leben Heuschrecken und Schmetterlinge, und Fledermäuse jagen in der Dämmerung zwischen "
        "den Kronen. Fachleute zählen Streuobstwiesen zu den artenreichsten Lebensräumen in Mitteleuropa.",
        "Im Herbst dürfen Bürgerinnen und Bürger das Obst der städtischen Bäume kostenlos ernten, sofern die "
        "Bäume mit einem gelben Band markiert sind. Ein Teil der Ernte wird von der Kelterei im Nachbarort zu "
        "Saft verarbeitet, der auf dem Wochenmarkt verkauft wird.",
        "Wer sich an der Pflege beteiligen möchte, ist bei den monatlichen Arbeitseinsätzen willkommen. Werkzeug "
        "und Handschuhe werden gestellt, Vorkenntnisse sind nicht nötig.",
    ),
)

ADULT_EDUCATION_DE = Article(
    "Das neue Kursprogramm der Volkshochschule ist da",
    (
        "Das Frühjahrsprogramm der Volkshochschule ist erschienen und umfasst in diesem Semester mehr als "
        "zweihundert Kurse, Vorträge und Exkursionen. Die gedruckten Hefte liegen ab sofort im Rathaus, in der "
        "Stadtbibliothek und in vielen Geschäften der Innenstadt aus.",
        "Ein Schwerpunkt liegt auf dem Umgang mit digitalen Geräten. In kleinen Gruppen lernen Teilnehmende, wie "
        "man Fotos vom Telefon auf den Computer überträgt, sichere Passwörter anlegt oder einen Termin beim "
        "Bürgeramt online bucht. Die Kurse richten sich besonders an ältere Menschen und finden vormittags statt.",
        "Auch die Sprachkurse wurden erweitert. Neben Englisch, Französisch und Italienisch werden erstmals Kurse "
        "in Ukrainisch und in Gebärdensprache angeboten. Für Zugewanderte gibt es weiterhin Integrationskurse "
        "mit Kinderbetreuung, damit auch Eltern kleiner Kinder teilnehmen können.",
        "Wer lieber mit den Händen arbeitet, findet Angebote in der Holzwerkstatt, im Töpferraum und in der "
        "Lehrküche. Besonders beliebt sind die Brotbackkurse am Samstag, die erfahrungsgemäß schnell ausgebucht "
        "sind.",
        "Die Anmeldung ist online, telefonisch oder persönlich in der Geschäftsstelle möglich. Menschen mit "
        "geringem Einkommen erhalten auf Antrag eine Ermäßigung von bis zu fünfzig Prozent.",
    ),
)

WASTE_DE = Article(
    "Neuer Abfallkalender: Was sich bei der Müllabfuhr ändert",
    (
        "Ab dem ersten April gelten in allen Stadtteilen neue Abholtermine für Restmüll, Biomüll und Papier. "
        "Grund ist die Umstellung auf eine neue Tourenplanung, mit der die Fahrzeuge kürzere Wege zurücklegen "
        "und weniger Kraftstoff verbrauchen.",
        "Der neue Kalender wird Ende März an alle Haushalte verteilt. Er ist außerdem auf der Internetseite der "
        "Stadt abrufbar und kann dort für jede Straße einzeln ausgedruckt werden. Wer möchte, kann sich am "
        "Vorabend jeder Leerung per E-Mail erinnern lassen.",
        "Für die meisten Haushalte verschiebt sich der Abholtag lediglich um einen Tag. In einigen Straßen der "
        "Altstadt wird der Biomüll künftig zweimal pro Woche abgeholt, da dort viele Gaststätten ansässig sind. "
        "Die gelben Säcke werden weiterhin alle zwei Wochen eingesammelt.",
        "Die Stadt bittet darum, die Tonnen am Abholtag bis sechs Uhr morgens gut sichtbar am Straßenrand "
        "bereitzustellen. Deckel müssen vollständig geschlossen sein, weil die Fahrzeuge überfüllte Behälter "
        "nicht leeren dürfen.",
        "Fragen zum neuen Kalender beantwortet das Servicetelefon der Abfallwirtschaft montags bis freitags "
        "zwischen acht und sechzehn Uhr.",
    ),
)

TEEN_LIBRARY_IT = Article(
    "La biblioteca civica apre una nuova sala per ragazzi",
    (
        "Sabato prossimo la biblioteca civica inaugurerà una nuova sala dedicata ai ragazzi tra gli undici e i "
        "diciassette anni. Lo spazio, ricavato dal vecchio archivio al primo piano, è stato progettato insieme a "
        "un gruppo di studenti delle scuole medie e superiori della città.",
        "I ragazzi hanno chiesto soprattutto un luogo dove poter stare insieme senza dover fare silenzio. Per "
        "questo la sala è divisa in due zone: una con tavoli grandi per studiare in gruppo e una più raccolta, "
        "con divani e cuscini, dove leggere fumetti e romanzi. Non mancano le prese elettriche per caricare "
        "computer e telefoni.",
        "La collezione comprende circa tremila volumi, tra cui molti titoli in lingua inglese e una ricca sezione "
        "di romanzi a fumetti. Ogni mese un gruppo di lettori volontari sceglierà dieci nuovi libri da "
        "acquistare, partendo dalle proposte raccolte in una cassetta all'ingresso.",
        "La sala sarà aperta tutti i pomeriggi dal lunedì al sabato. Il giovedì sera ospiterà incontri con "
        "autori, laboratori di scrittura e serate di giochi da tavolo organizzati dagli stessi ragazzi.",
    ),
)

REPAIR_CAFE_EN = Article(
    "The repair café is back at the library",
    (
        "On the last Saturday of every month, the ground floor of the library turns into a workshop. Volunteers "
        "with screwdrivers, sewing machines and soldering irons sit at long tables, and visitors bring in "
        "whatever has stopped working: a toaster, a lamp, a torn coat or a bicycle light.",
        "The repair café was suspended last year because the room was needed for temporary storage. Now that the "
        "renovation of the upper floors is finished, it is back, with more space and a dedicated corner for "
        "electrical safety testing. The volunteers include a retired engineer, two tailors, a watchmaker and "
        "several students from the technical college.",
        "The aim is not only to fix objects but to show people how to do it themselves. Visitors are asked to "
        "stay with their item and take part in the repair. Many leave surprised at how simple the problem was, "
        "whether it was a blown fuse, a loose wire or a clogged filter. Last year, about two thirds of the "
        "objects brought in left the room in working order.",
        "Repairs are free, although a donation box helps to pay for spare parts. The library also lends repair "
        "manuals and a small collection of tools that can be borrowed with a normal library card. Coffee and "
        "cake are provided by the neighbourhood association.",
    ),
)

NEWSPAPERS_DE = Article(
    "Stadtarchiv stellt historische Zeitungen online",
    (
        "Das Stadtarchiv hat die vollständigen Jahrgänge des Tagblatts von 1850 bis 1950 digitalisiert. Mehr als "
        "zweihunderttausend Seiten können nun kostenlos im Internet durchsucht werden, bequem vom eigenen "
        "Schreibtisch aus und ohne Voranmeldung im Lesesaal.",
        "Die Originale sind in einem schlechten Zustand. Das säurehaltige Papier der alten Ausgaben ist brüchig "
        "geworden, und jede Benutzung hinterlässt Schäden. Deshalb wurden die Bände in den vergangenen zwei "
        "Jahren von einer Fachfirma gescannt und anschließend mit einer Texterkennung bearbeitet, die auch die "
        "alte Frakturschrift lesen kann.",
        "Die Volltextsuche eröffnet neue Möglichkeiten. Familienforschende finden Geburtsanzeigen und "
        "Todesnachrichten ihrer Vorfahren, Vereine stoßen auf Berichte über ihre Gründung, und Schulklassen "
        "können nachlesen, wie die Zeitung über große Ereignisse der Stadtgeschichte berichtet hat. Die "
        "Erkennung ist nicht fehlerfrei, doch Nutzerinnen und Nutzer können falsch gelesene Wörter direkt im "
        "Portal korrigieren.",
        "Ausgaben aus der Zeit nach 1950 bleiben vorerst nur im Lesesaal zugänglich, weil sie noch "
        "urheberrechtlich geschützt sein können. Das Archiv prüft, welche Jahrgänge in den kommenden Jahren "
        "freigegeben werden dürfen.",
    ),
)

GARDENS_FR = Article(
    "Trois nouveaux jardins partagés dans les quartiers",
    (
        "La ville met à disposition trois nouvelles parcelles pour des jardins partagés, dans les quartiers des "
        "Coteaux, de la Gare et du Vieux-Moulin. Ces terrains, jusqu'ici en friche ou occupés par des pelouses "
        "peu fréquentées, seront confiés à des associations d'habitants pour une durée de cinq ans renouvelable.",
        "Chaque jardin comptera une vingtaine de bacs cultivés individuellement et une partie commune où les "
        "membres décideront ensemble de ce qu'ils plantent. Les services techniques installeront une clôture "
        "basse, un abri pour les outils et un récupérateur d'eau de pluie. Le compost sera alimenté par les "
        "déchets verts des jardiniers et par ceux des cantines scolaires voisines.",
        "Les jardins partagés ne servent pas seulement à produire des légumes. Ils créent des occasions de "
        "rencontre entre voisins qui ne se parlaient pas, entre générations et entre personnes venues "
        "d'horizons très différents. Plusieurs associations prévoient d'accueillir des classes et des résidents "
        "de la maison de retraite.",
        "Les habitants intéressés peuvent se faire connaître auprès de la maison de quartier avant le 30 avril. "
        "Une réunion de lancement sera organisée dans chaque quartier au début du mois de mai.",
    ),
)

# Near duplicates: the same article, re-published later with a date or a word or two changed.
RIVER_FR_UPDATED = edited(RIVER_FR, ("le 14 avril 2026", "le 21 avril 2026"), ("le jeudi 26 mars", "le mardi 31 mars"))
WEATHER_DE_UPDATED = edited(WEATHER_DE, ("Insgesamt liefern sieben", "Insgesamt liefern acht"),
                            ("um fast zwei Grad", "um knapp zwei Grad"))
MAPS_EN_UPDATED = edited(MAPS_EN, ("took almost three years", "took nearly three years"),
                         ("On Saturday 14 March", "On Saturday 21 March"))
BEES_FR_UPDATED = edited(BEES_FR, ("quarante-deux kilos", "quarante-cinq kilos"),
                         ("toutes les deux semaines", "toutes les trois semaines"))

# Exact duplicate with a cosmetic difference only (case of one word): equal after normalisation.
RAILWAY_DE_PRESS = Article(
    RAILWAY_DE.title,
    (RAILWAY_DE.paragraphs[0].replace("und Oberried", "und OBERRIED"),) + RAILWAY_DE.paragraphs[1:],
)


# --------------------------------------------------------------------------------------------
# Junk pages: allowed licence, recognisable language, but no prose worth keeping (rejected for quality).
# Each is given as the raw HTML of the <main> element.
# --------------------------------------------------------------------------------------------


def _sitemap_main() -> str:
    """A navigation-only page: lists of links, no sentences."""
    sections = {
        "Rathaus und Service": ["Bürgerbüro", "Formulare und Anträge", "Fundbüro", "Standesamt", "Stellenangebote",
                                "Öffnungszeiten", "Bekanntmachungen"],
        "Leben in Beispiel": ["Kindergärten", "Schulen", "Sportvereine", "Seniorenberatung", "Stadtbibliothek",
                              "Volkshochschule", "Wochenmarkt"],
        "Umwelt und Verkehr": ["Abfallkalender", "Wertstoffhof", "Baumschutz", "Parkhäuser", "Baustellen",
                               "Radwege", "Fahrpläne"],
        "Kultur und Freizeit": ["Stadtmuseum", "Stadtarchiv", "Hallenbad und Freibad", "Musikschule",
                                "Veranstaltungskalender", "Partnerstädte", "Stadtführungen"],
    }
    parts = ["<h1>Inhaltsübersicht</h1>"]
    for heading, links in sections.items():
        parts.append(f"<h2>{heading}</h2>\n<ul>")
        for label in links:
            slug = re.sub(r"[^a-z]+", "-", label.lower().translate(str.maketrans("äöüß", "aous"))).strip("-")
            parts.append(f'  <li><a href="/{slug}/">{label}</a></li>')
        parts.append("</ul>")
    return "\n".join(parts)


def _rainfall_table_main() -> str:
    """A digit-heavy page: a table of monthly rainfall figures with a one-line caption."""
    months = ["Jan.", "Fév.", "Mars", "Avr.", "Mai", "Juin", "Juil.", "Août", "Sept.", "Oct.", "Nov.", "Déc."]
    stations = ["Les Tanneurs", "La Gare", "Les Coteaux", "Vieux-Moulin", "Bois-Joli", "Le Port", "La Croix",
                "Les Prés"]
    rows = []
    for i, station in enumerate(stations):
        values = [40 + (i * 37 + m * 53) % 90 + ((i + 3 * m) % 10) / 10 for m in range(12)]
        cells = "".join(f"<td>{v:.1f}</td>" for v in values)
        rows.append(f"<tr><td>{station}</td>{cells}<td>{sum(values):.1f}</td></tr>")
    head = "".join(f"<th>{m}</th>" for m in months)
    return (
        "<h1>Relevés pluviométriques 2025</h1>\n"
        "<p>Cumul mensuel des précipitations en millimètres</p>\n<table>\n"
        f"<thead><tr><th>Station</th>{head}<th>Total</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>"
    )


def _placeholder_main() -> str:
    """A page made of one placeholder sentence repeated 30 times."""
    line = "This page is under construction and new content will be added here soon."
    # One <p> with <br> breaks: trafilatura drops repeated identical <p> elements, but keeps these lines.
    return "<h1>New page</h1>\n<p>" + "<br>\n".join([line] * 30) + "</p>"


def _keyword_stuffing_main() -> str:
    """A spam post: repeated keywords and symbols, no sentences."""
    keywords = ("cheap watches best watches buy watches online cheap shoes best shoes buy shoes online best price "
                "free shipping").split()
    symbols = ["★★★★★", ">>>", "$$$", "###", "!!!", "+++", "|||", "%%%", "@@@", "***"]
    lines = []
    for i in range(8):  # rotated, so that no two lines are identical (identical <p> would be dropped)
        words = keywords[i:] + keywords[:i]
        tail = " ".join(symbols[(i + k) % len(symbols)] for k in range(0, 10, 2))
        lines.append(" ".join(words) + f" click here now {tail}")
    return "<h1>CHEAP WATCHES ★★★ BEST PRICE $$$</h1>\n" + "\n".join(f"<p>{line}</p>" for line in lines)


# --------------------------------------------------------------------------------------------
# Documents the pipeline should see, with the decision it must reach.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    status: str  # kept | rejected
    reason: str = ""  # language | licence | quality | exact_duplicate | near_duplicate
    language: str = ""
    duplicate_of: str = ""


KEPT = "kept"
REJECTED = "rejected"


@dataclass(frozen=True)
class Page:
    """One HTML response record."""

    site: Site
    path: str
    date: str  # WARC-Date, UTC
    expect: Expect
    licence: Licence | None
    placement: str
    article: Article | None = None
    main_html: str | None = None  # for junk pages, instead of an article
    title: str = ""
    charset: str = "utf-8"
    page_lang: str | None = None  # <html lang>, defaults to the site's
    pretty_whitespace: bool = False  # re-wrap paragraphs in the source (exact duplicate test)

    @property
    def url(self) -> str:
        return self.site.base + self.path

    @property
    def licence_spdx(self) -> str:
        """Empty when the document is rejected before the licence step (language): no licence is decided."""
        if self.expect.reason == "language":
            return ""
        return self.licence.spdx if self.licence and self.placement != NO_LICENCE else "unknown"


def url_of(site: Site, path: str) -> str:
    return site.base + path


U_RIVER = url_of(VILLE, "/actualites/restauration-de-la-valliere")
U_LIB_HOURS = url_of(VILLE, "/culture/mediatheque-nouveaux-horaires")
U_OPEN_DATA = url_of(LIBRARY, "/news/catalogue-open-data")
U_MAPS = url_of(LIBRARY, "/collections/historic-town-maps")
U_WEATHER = url_of(STADT, "/umwelt/wetterstationen-in-den-bergen")
U_RAILWAY = url_of(STADT, "/verkehr/talbahn-halbstundentakt")
U_BEES_UPDATED = url_of(VILLE, "/environnement/ruches-bilan-de-saison")

WEB_SAMPLE_PAGES: list[Page] = [
    # --- originals, kept -------------------------------------------------------------------
    Page(VILLE, "/actualites/restauration-de-la-valliere", "2026-03-01T08:00:00Z", Expect(KEPT, "", "fr"),
         ETALAB, FOOTER_LINK, RIVER_FR),
    Page(LIBRARY, "/news/catalogue-open-data", "2026-03-01T09:30:00Z", Expect(KEPT, "", "en"),
         CC_BY, FOOTER_LINK, OPEN_DATA_EN),
    Page(STADT, "/umwelt/wetterstationen-in-den-bergen", "2026-03-01T14:10:00Z", Expect(KEPT, "", "de"),
         CC_BY_SA_DE, HEAD_LINK, WEATHER_DE),
    Page(VILLE, "/culture/mediatheque-nouveaux-horaires", "2026-03-02T08:45:00Z", Expect(KEPT, "", "fr"),
         CC_BY_SA_FR, HEAD_LINK, LIBRARY_HOURS_FR),
    Page(LIBRARY, "/collections/historic-town-maps", "2026-03-02T10:20:00Z", Expect(KEPT, "", "en"),
         CC_BY, DCTERMS, MAPS_EN),
    Page(STADT, "/verkehr/talbahn-halbstundentakt", "2026-03-02T16:05:00Z", Expect(KEPT, "", "de"),
         CC_BY, FOOTER_LINK, RAILWAY_DE),
    Page(VILLE, "/patrimoine/histoire-du-pain", "2026-03-03T09:00:00Z", Expect(KEPT, "", "fr"),
         CC_BY, FOOTER_LINK, BREAD_FR, charset="iso-8859-1"),
    Page(LIBRARY, "/events/thursday-reading-circle", "2026-03-03T11:40:00Z", Expect(REJECTED, "licence", "en"),
         CC_BY_NC, FOOTER_LINK, READING_CIRCLE_EN),
    Page(STADT, "/umwelt/streuobstwiesen", "2026-03-03T15:15:00Z", Expect(KEPT, "", "de"),
         CC_BY, DCTERMS, ORCHARDS_DE),
    # retrieved first, but web-extra.warc (read first: sorted paths) holds its near duplicate, which is kept
    Page(VILLE, "/environnement/des-ruches-sur-la-mairie", "2026-03-04T08:30:00Z",
         Expect(REJECTED, "near_duplicate", "fr", U_BEES_UPDATED), CC0, JSON_LD, BEES_FR),
    Page(LIBRARY, "/news/seed-library", "2026-03-04T10:50:00Z", Expect(KEPT, "", "en"),
         CC0, JSON_LD, SEEDS_EN),
    Page(STADT, "/kultur/volkshochschule-fruehjahrsprogramm", "2026-03-04T13:25:00Z", Expect(KEPT, "", "de"),
         CC0, JSON_LD, ADULT_EDUCATION_DE),
    # --- no licence evidence: unknown, rejected for licence ---------------------------------
    Page(VILLE, "/transports/travaux-tramway", "2026-03-05T09:10:00Z", Expect(REJECTED, "licence", "fr"),
         None, NO_LICENCE, TRAM_FR),
    Page(LIBRARY, "/news/central-branch-roof-repairs", "2026-03-05T11:00:00Z", Expect(REJECTED, "licence", "en"),
         None, NO_LICENCE, ROOF_EN),
    Page(STADT, "/rathaus/neuer-abfallkalender", "2026-03-05T14:35:00Z", Expect(REJECTED, "licence", "de"),
         None, NO_LICENCE, WASTE_DE),
    # --- language outside the policy ------------------------------------------------------
    Page(COMUNE, "/notizie/nuova-sala-ragazzi", "2026-03-06T09:00:00Z", Expect(REJECTED, "language", "it"),
         CC_BY, FOOTER_LINK, TEEN_LIBRARY_IT),
    # --- junk, allowed licence: rejected for quality ----------------------------------------
    Page(STADT, "/inhaltsuebersicht", "2026-03-06T10:15:00Z", Expect(REJECTED, "quality", "de"),
         CC_BY, FOOTER_LINK, main_html=_sitemap_main(), title="Inhaltsübersicht"),
    Page(VILLE, "/donnees/releves-pluviometriques-2025", "2026-03-06T12:00:00Z", Expect(REJECTED, "quality", "fr"),
         ETALAB, FOOTER_LINK, main_html=_rainfall_table_main(), title="Relevés pluviométriques 2025"),
    Page(LIBRARY, "/news/new-page", "2026-03-07T09:00:00Z", Expect(REJECTED, "quality", "en"),
         CC0, JSON_LD, main_html=_placeholder_main(), title="New page"),
    Page(LIBRARY, "/community/board/post-4471", "2026-03-07T10:40:00Z", Expect(REJECTED, "quality", "en"),
         CC_BY, DCTERMS, main_html=_keyword_stuffing_main(), title="CHEAP WATCHES BEST PRICE"),
    # --- exact duplicates (later copies of kept pages) ---------------------------------------
    Page(MIRROR, "/libraries/riverside/catalogue-open-data", "2026-03-08T08:20:00Z",
         Expect(REJECTED, "exact_duplicate", "en", U_OPEN_DATA), CC_BY, HEAD_LINK, OPEN_DATA_EN),
    Page(STADT_PRESSE, "/presse/2026/talbahn-wieder-im-halbstundentakt", "2026-03-08T14:45:00Z",
         Expect(REJECTED, "exact_duplicate", "de", U_RAILWAY), CC_BY, FOOTER_LINK, RAILWAY_DE_PRESS,
         pretty_whitespace=True),
    # --- near duplicates (later, lightly edited re-publications) ----------------------------
    Page(VILLE, "/actualites/valliere-nouvelles-dates", "2026-03-09T09:30:00Z",
         Expect(REJECTED, "near_duplicate", "fr", U_RIVER), ETALAB, FOOTER_LINK, RIVER_FR_UPDATED),
    Page(STADT, "/aktuelles/wetterstationen-aktualisiert", "2026-03-09T13:10:00Z",
         Expect(REJECTED, "near_duplicate", "de", U_WEATHER), CC_BY_SA_DE, HEAD_LINK, WEATHER_DE_UPDATED),
    Page(LIBRARY, "/collections/historic-town-maps/tour", "2026-03-10T10:00:00Z",
         Expect(REJECTED, "near_duplicate", "en", U_MAPS), CC_BY, DCTERMS, MAPS_EN_UPDATED),
]

WEB_EXTRA_PAGES: list[Page] = [
    Page(LIBRARY, "/events/repair-cafe", "2026-03-10T15:00:00Z", Expect(KEPT, "", "en"),
         CC_BY_SA, HEAD_LINK, REPAIR_CAFE_EN),
    Page(STADT, "/kultur/stadtarchiv-zeitungen-online", "2026-03-10T15:40:00Z", Expect(KEPT, "", "de"),
         CC_BY, DCTERMS, NEWSPAPERS_DE),
    Page(VILLE, "/quartiers/jardins-partages", "2026-03-10T16:20:00Z", Expect(KEPT, "", "fr"),
         ETALAB, FOOTER_LINK, GARDENS_FR),
    # the first occurrence of its cluster: this file is read before web-sample.warc.gz
    Page(VILLE, "/environnement/ruches-bilan-de-saison", "2026-03-10T17:05:00Z", Expect(KEPT, "", "fr"),
         CC0, JSON_LD, BEES_FR_UPDATED),
]


# --------------------------------------------------------------------------------------------
# HTML rendering
# --------------------------------------------------------------------------------------------


def _e(text: str) -> str:
    """Escape element text (apostrophes stay as they are, as most CMSs write them)."""
    return html.escape(text, quote=False)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _licence_link(licence: Licence) -> str:
    return f'<a rel="license" href="{_attr(licence.url)}">{_e(licence.label)}</a>'


def _json_ld(page: Page, title: str) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": title,
        "inLanguage": page.page_lang or page.site.lang,
        "datePublished": page.date[:10],
        "publisher": {"@type": "Organization", "name": page.site.name},
        "license": page.licence.url,
    }
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'


def _paragraphs_html(article: Article, pretty_whitespace: bool) -> str:
    """Paragraph markup; with pretty_whitespace the source is re-wrapped and indented, as a CMS might."""
    if not pretty_whitespace:
        return "\n".join(f"    <p>{_e(p)}</p>" for p in article.paragraphs)
    out = []
    for p in article.paragraphs:
        words = _e(p).split(" ")
        lines = [" ".join(words[i:i + 9]) for i in range(0, len(words), 9)]
        out.append("      <p>\n        " + "\n        ".join(lines) + "\n      </p>")
    return "\n".join(out)


def render_page(page: Page) -> bytes:
    """A full page: head, navigation, the article in <main>, a footer; licence evidence where the page puts it."""
    site = page.site
    title = page.article.title if page.article else page.title
    lang = page.page_lang or site.lang
    head = [f'<meta charset="{page.charset}">'] if page.charset == "utf-8" else [
        f'<meta http-equiv="Content-Type" content="text/html; charset={page.charset}">']
    head += [
        f"<title>{_e(title)} | {_e(site.name)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<link rel="canonical" href="{_attr(page.url)}">',
        '<link rel="stylesheet" href="/static/site.css">',
    ]
    footer_licence = ""
    if page.placement == FOOTER_LINK:
        footer_licence = f"\n  <p>{site.licence_sentence.format(link=_licence_link(page.licence))}</p>"
    elif page.placement == HEAD_LINK:
        head.append(f'<link rel="license" href="{_attr(page.licence.url)}">')
    elif page.placement == JSON_LD:
        head.append(_json_ld(page, title))
    elif page.placement == DCTERMS:
        head.append(f'<meta name="dcterms.license" content="{_attr(page.licence.url)}">')
    elif page.placement == NO_LICENCE:
        footer_licence = f"\n  <p>{_e(site.rights_reserved)}</p>"
    nav = "\n".join(f'      <li><a href="{href}">{_e(label)}</a></li>' for href, label in site.nav)
    legal = " | ".join(f'<a href="{href}">{_e(label)}</a>' for href, label in site.legal)
    if page.article:
        main = (f"  <article>\n    <h1>{_e(title)}</h1>\n"
                f"{_paragraphs_html(page.article, page.pretty_whitespace)}\n  </article>")
    else:
        main = page.main_html
    doc = f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
{chr(10).join(head)}
</head>
<body>
<header>
  <a class="logo" href="/">{_e(site.name)}</a>
  <nav>
    <ul>
{nav}
    </ul>
  </nav>
</header>
<main>
{main}
</main>
<footer>
  <p>{_e(site.name)} · {_e(site.address)} · <a href="mailto:{site.email}">{site.email}</a></p>
  <p>{legal}</p>{footer_licence}
</footer>
</body>
</html>
"""
    return doc.encode(page.charset)


# --------------------------------------------------------------------------------------------
# WARC writing
# --------------------------------------------------------------------------------------------


def record_id(rec_type: str, url: str, date: str) -> str:
    """Stable WARC-Record-ID: uuid5 of what identifies the record, so reruns are byte-identical."""
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{rec_type} {url} {date}')}>"


def parse_warc_date(warc_date: str) -> datetime:
    return datetime.strptime(warc_date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def http_date(warc_date: str) -> str:
    """The HTTP Date header matching a WARC-Date (fixed, so no clock is read)."""
    return format_datetime(parse_warc_date(warc_date), usegmt=True)


def http_response(body: bytes, content_type: str, date: str) -> bytes:
    headers = [
        "HTTP/1.1 200 OK",
        f"Date: {http_date(date)}",
        "Server: nginx",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + body


def write_http_record(writer: WARCWriter, rec_type: str, url: str, date: str, raw: bytes,
                      extra: dict[str, str] | None = None) -> str:
    """Write a response or request record from raw HTTP bytes; warcio parses the HTTP head and computes digests."""
    rid = record_id(rec_type, url, date)
    headers = {"WARC-Type": rec_type, "WARC-Record-ID": rid, "WARC-Date": date, "WARC-Target-URI": url}
    headers.update(extra or {})
    record = writer.create_warc_record(url, rec_type, payload=io.BytesIO(raw), length=len(raw),
                                       warc_headers_dict=headers)
    writer.write_record(record)
    return rid


def write_fields_record(writer: WARCWriter, rec_type: str, url: str, date: str, fields: dict[str, str],
                        extra: dict[str, str] | None = None) -> None:
    """Write a warcinfo or metadata record (application/warc-fields)."""
    payload = "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode("utf-8")
    headers = {"WARC-Type": rec_type, "WARC-Record-ID": record_id(rec_type, url, date), "WARC-Date": date}
    if url:
        headers["WARC-Target-URI"] = url
    headers.update(extra or {})
    record = writer.create_warc_record(url, rec_type, payload=io.BytesIO(payload), length=len(payload),
                                       warc_headers_dict=headers, warc_content_type="application/warc-fields")
    writer.write_record(record)


def write_page(writer: WARCWriter, page: Page) -> str:
    content_type = f"text/html; charset={'utf-8' if page.charset == 'utf-8' else 'ISO-8859-1'}"
    return write_http_record(writer, "response", page.url, page.date,
                             http_response(render_page(page), content_type, page.date))


def write_request(writer: WARCWriter, page: Page, response_id: str) -> None:
    """The GET request for a page, written after its response as warcio does, dated one second later so that
    every WARC-Date in the file is distinct."""
    host = page.url.split("/")[2]
    raw = (f"GET {page.path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: moisson-demo-crawler/1.0\r\n"
           "Accept: text/html\r\nAccept-Language: fr, en;q=0.8, de;q=0.7\r\n\r\n").encode("ascii")
    date = (parse_warc_date(page.date) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_http_record(writer, "request", page.url, date, raw, {"WARC-Concurrent-To": response_id})


def payload_digest(body: bytes) -> str:
    """sha1 digest in the base32 form warcio and crawlers write (used by the revisit record)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def tiny_png() -> bytes:
    """A valid 1x1 grey PNG, built from its chunks so nothing binary needs to be checked in."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x80", 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def tiny_pdf() -> bytes:
    """A PDF with no page (not fully valid, but recognisable): read as a PDF, it yields no text, so the pipeline
    rejects it for extraction and records the failure, as it must any broken document."""
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n")


WARCINFO_FIELDS = {
    "software": "moisson demo/build_demo_data.py (warcio)",
    "format": "WARC File Format 1.1",
    "operator": "Moisson demo",
    "description": "Synthetic crawl of fictional public sites, written for the Moisson demo",
    "isPartOf": "moisson-demo",
    "robots": "obey",
}


def write_revisit(writer: WARCWriter, original: Page, date: str) -> None:
    """A revisit of an already captured page whose payload had not changed (identical-payload-digest profile)."""
    body = render_page(original)
    http_headers = StatusAndHeaders("200 OK", [
        ("Date", http_date(date)), ("Server", "nginx"), ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(body))), ("Connection", "close")], protocol="HTTP/1.1")
    record = writer.create_revisit_record(
        original.url, payload_digest(body), original.url, original.date, http_headers=http_headers,
        warc_headers_dict={"WARC-Type": "revisit", "WARC-Record-ID": record_id("revisit", original.url, date),
                           "WARC-Date": date})
    record.rec_headers.add_header("WARC-Refers-To", record_id("response", original.url, original.date))
    writer.write_record(record)


def write_crawl_metadata(writer: WARCWriter, page: Page, date: str) -> None:
    """Crawler bookkeeping about a captured page, as Heritrix-style metadata records carry."""
    fields = {"via": page.site.base + "/actualites/", "hopsFromSeed": "L", "fetchTimeMs": "184",
              "outlink": U_LIB_HOURS}
    write_fields_record(writer, "metadata", page.url, date, fields,
                        {"WARC-Refers-To": record_id("response", page.url, page.date)})


def write_binary(writer: WARCWriter, url: str, date: str, body: bytes, content_type: str) -> None:
    write_http_record(writer, "response", url, date, http_response(body, content_type, date))


def build_web_sample(path: Path) -> dict[str, int]:
    """web-sample.warc.gz: warcinfo, HTML responses, requests, a revisit, a PNG, a PDF and a metadata record.

    Records are written in date order, as a crawler would; the non-HTML ones are interleaved with the pages.
    """
    by_url = {page.url: page for page in WEB_SAMPLE_PAGES}
    with_request = {U_RIVER, U_OPEN_DATA, U_RAILWAY}
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True, warc_version="1.1")
    counts = {"warcinfo": 1}
    write_fields_record(writer, "warcinfo", "", "2026-03-01T00:00:00Z", WARCINFO_FIELDS,
                        {"WARC-Filename": path.name})

    png_url = LIBRARY.base + "/static/img/logo.png"
    pdf_url = VILLE.base + "/documents/deliberation-2026-014.pdf"
    non_html: list[tuple[str, str, Callable[[], None]]] = [
        ("2026-03-01T08:00:30Z", "metadata",
         partial(write_crawl_metadata, writer, by_url[U_RIVER], "2026-03-01T08:00:30Z")),
        ("2026-03-05T16:00:00Z", "response image/png",
         partial(write_binary, writer, png_url, "2026-03-05T16:00:00Z", tiny_png(), "image/png")),
        ("2026-03-07T13:00:00Z", "response application/pdf",
         partial(write_binary, writer, pdf_url, "2026-03-07T13:00:00Z", tiny_pdf(), "application/pdf")),
        ("2026-03-08T11:00:00Z", "revisit",
         partial(write_revisit, writer, by_url[U_OPEN_DATA], "2026-03-08T11:00:00Z")),
    ]
    events = [(page.date, "response text/html", page) for page in WEB_SAMPLE_PAGES] + non_html
    for _, label, item in sorted(events, key=lambda event: event[0]):
        counts[label] = counts.get(label, 0) + 1
        if isinstance(item, Page):
            response_id = write_page(writer, item)
            if item.url in with_request:
                write_request(writer, item, response_id)
                counts["request"] = counts.get("request", 0) + 1
        else:
            item()
    path.write_bytes(buffer.getvalue())
    return counts


def build_web_extra(path: Path) -> dict[str, int]:
    """web-extra.warc: plain WARC/1.0 with a warcinfo record and four pages."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=False, warc_version="1.0")
    fields = dict(WARCINFO_FIELDS, format="WARC File Format 1.0")
    write_fields_record(writer, "warcinfo", "", "2026-03-10T14:59:00Z", fields, {"WARC-Filename": path.name})
    for page in sorted(WEB_EXTRA_PAGES, key=lambda p: p.date):
        write_page(writer, page)
    path.write_bytes(buffer.getvalue())
    return {"warcinfo": 1, "response text/html": len(WEB_EXTRA_PAGES)}


# --------------------------------------------------------------------------------------------
# Dumps: JSONL notes, a letter, a bulletin
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    """One JSONL record; `expect` is None for lines that are not documents (malformed or without text)."""

    raw_line: str
    expect: Expect | None
    key: str = ""
    licence: str = ""


def note(record: dict, expect: Expect) -> Note:
    key = record["url"] if "url" in record else f"jsonl:{record['id']}"
    return Note(json.dumps(record, ensure_ascii=False), expect, key, record.get("license", DUMP_DEFAULT_LICENCE))


STREET_TREES_EN = (
    "The parks department has completed the first full inventory of the town's street trees. Over two winters, "
    "a team of three arborists walked every street with a tablet and recorded more than eleven thousand trees, "
    "noting the species, the height, the width of the trunk and any signs of disease or damage.\n\n"
    "The results hold a few surprises. Plane trees and limes still dominate the older avenues, but the most "
    "common species planted in the last twenty years is a small ornamental pear that copes well with drought. "
    "About one tree in twelve shows damage from vehicles, usually a scraped trunk near a parking space, and "
    "several hundred young trees have died because they were not watered during their first summers.\n\n"
    "The inventory will guide the planting plan for the next ten years. The department intends to favour a "
    "wider range of species, so that a single pest cannot strip a whole street, and to give every new tree a "
    "larger pit with better soil. Residents will be able to look up any tree on an online map and report a "
    "broken branch or a tree that needs water."
)

BIKE_COUNTERS_FR = (
    "Depuis un an, six compteurs automatiques enregistrent le passage des vélos sur les principaux axes de la "
    "commune. Installés discrètement dans la chaussée, ils détectent les roues grâce à une boucle magnétique et "
    "transmettent leurs données chaque nuit au service de la mobilité.\n\n"
    "Le premier bilan montre une hausse nette de la pratique. Sur le pont de la Vallière, le nombre moyen de "
    "passages quotidiens est passé de neuf cents à près de mille quatre cents entre le printemps et l'automne. "
    "Les pics apparaissent sans surprise vers huit heures et vers dix-sept heures, mais le samedi après-midi "
    "attire aussi de nombreux cyclistes qui se rendent au marché ou se promènent le long de l'eau.\n\n"
    "Ces chiffres aideront la ville à décider où créer de nouvelles pistes et où installer des arceaux de "
    "stationnement. Les données brutes sont publiées chaque semaine sur le portail de données ouvertes, afin "
    "que les associations et les étudiants puissent les analyser à leur tour."
)

FLOOD_DEFENCE_DE = (
    "Am Mühlbach beginnen im Mai die Arbeiten für einen besseren Hochwasserschutz. Nach den Überschwemmungen der "
    "vergangenen Jahre hat der Gemeinderat beschlossen, dem Bach an zwei Stellen mehr Raum zu geben, statt die "
    "Ufermauern weiter zu erhöhen.\n\n"
    "Oberhalb der Altstadt entsteht auf einer ehemaligen Pferdeweide eine Fläche, die bei starkem Regen gezielt "
    "überflutet werden kann. Dort kann sich das Wasser ausbreiten und langsam versickern, bevor es die engen "
    "Gassen erreicht. Im Sommer bleibt die Wiese für Spaziergänger zugänglich, und ein neuer Fußweg führt "
    "entlang des Ufers bis zur Mühle.\n\n"
    "Unterhalb der Brücke wird ein altes Wehr abgebaut, das bei Hochwasser Treibholz aufstaut. Fische können "
    "den Bach danach wieder ungehindert hinaufwandern. Die Arbeiten dauern voraussichtlich bis Ende Oktober "
    "und werden zu einem großen Teil vom Land gefördert. Anwohnerinnen und Anwohner werden vor jeder lauten "
    "Bauphase schriftlich informiert.\n\n"
    "Wer sich genauer über die Pläne informieren möchte, kann die Unterlagen bis Ende April im Bauamt "
    "einsehen. Außerdem bietet das Tiefbauamt an zwei Samstagen Rundgänge entlang des Baches an, bei denen die "
    "Fachleute zeigen, wo sich das Wasser künftig ausbreiten darf und wie sich die Landschaft verändern wird."
)

ANNUAL_REPORT_EN = (
    "This summary accompanies the annual report of the town's cultural services. Over the past year, the "
    "museum, the archives and the music school together welcomed about ninety thousand visitors, a slight "
    "increase on the previous year despite the temporary closure of the museum's east wing.\n\n"
    "The most visited exhibition was the display of children's toys from the last century, which drew many "
    "families and several school groups from neighbouring towns. The archives answered more than two thousand "
    "research requests, most of them from people tracing their family history. The music school opened two new "
    "classes for adult beginners, both of which were full within a week.\n\n"
    "The report also describes the difficulties of the year, including rising energy costs and the loss of two "
    "experienced staff members who retired. It sets out the priorities for the coming season, among them a "
    "review of opening hours and a programme of free concerts in the park."
)

FOUNTAINS_DE = (
    "In der Innenstadt sprudeln seit diesem Frühjahr acht neue Trinkbrunnen. Sie stehen an Plätzen, an denen "
    "sich im Sommer viele Menschen aufhalten, etwa am Marktplatz, am Spielplatz im Stadtpark und an der "
    "Haltestelle vor dem Bahnhof. Das Wasser kommt direkt aus dem öffentlichen Netz und wird regelmäßig vom "
    "Gesundheitsamt geprüft.\n\n"
    "Die Brunnen sollen vor allem an heißen Tagen helfen. Ältere Menschen, kleine Kinder und Beschäftigte, die "
    "im Freien arbeiten, leiden besonders unter der Hitze und trinken oft zu wenig. Wer eine eigene Flasche "
    "dabeihat, kann sie kostenlos auffüllen und spart dabei zugleich Verpackungsmüll.\n\n"
    "Damit das Wasser immer frisch bleibt, laufen die Brunnen in kurzen Abständen von selbst an. Im Winter "
    "werden sie abgestellt, um Frostschäden zu vermeiden. Eine Karte mit allen Standorten hängt in den "
    "Schaukästen des Rathauses und ist auch auf der Internetseite der Stadt zu finden.\n\n"
    "Bis zum nächsten Sommer sollen fünf weitere Brunnen hinzukommen, unter anderem an den Schulhöfen und am "
    "Freibad. Die Stadtwerke bitten darum, Schäden oder Verschmutzungen zu melden, damit sie rasch behoben "
    "werden können. Eine Telefonnummer dafür ist an jedem Brunnen angebracht."
)

DARK_SKY_EN = (
    "From the first of April, most street lights in residential areas will be dimmed between midnight and five "
    "in the morning. The change follows a year-long trial in two neighbourhoods, where residents reported that "
    "they felt just as safe as before and that they could see the stars again from their gardens.\n\n"
    "Dimming reduces the town's electricity bill and limits the disturbance caused to wildlife. Moths, bats and "
    "migrating birds are all affected by artificial light, and the lamps along the river had been drawing "
    "insects away from the water for years. Main roads, pedestrian crossings and the station square will stay "
    "fully lit throughout the night.\n\n"
    "The astronomy club will celebrate the change with an open evening at the observatory on the hill. Members "
    "will bring their telescopes and explain how to recognise the brightest planets and constellations of the "
    "spring sky. Children are welcome, and warm clothing is strongly recommended, as the hilltop can be cold "
    "even in April.\n\n"
    "Residents who notice a street that feels too dark, or a lamp that stays bright when it should be dimmed, "
    "can report it to the lighting department. The settings will be reviewed after six months, taking these "
    "reports into account."
)

NOTES: list[Note] = [
    note({"id": "note-001", "title": "Street tree inventory", "license": "CC-BY-4.0", "text": STREET_TREES_EN},
         Expect(KEPT, "", "en")),
    note({"id": "note-002", "title": "Comptage des vélos", "text": BIKE_COUNTERS_FR}, Expect(KEPT, "", "fr")),
    note({"id": "note-003", "title": "Hochwasserschutz am Mühlbach", "language": "de", "text": FLOOD_DEFENCE_DE},
         Expect(KEPT, "", "de")),
    note({"id": "note-004", "title": "Cultural services: annual report summary", "license": "LicenseRef-proprietary",
          "text": ANNUAL_REPORT_EN}, Expect(REJECTED, "licence", "en")),
    Note('{"id": "note-broken", "title": "Horaires d\'été", "text": "Pendant l\'été, la piscine municipale', None),
    note({"id": "note-005", "text": "Réunion du conseil de quartier reportée à jeudi prochain, même salle."},
         Expect(REJECTED, "quality", "fr")),
    Note(json.dumps({"id": "note-006", "title": "Brouillon sans texte", "body": "Le champ text manque ici."},
                    ensure_ascii=False), None),
    # The same article as the web page, exported with its title as first line: HTML extraction keeps the <h1>
    # of the article, so title + paragraphs is what the web copy's extracted text is.
    note({"id": "note-007", "url": "https://data.ville-exemple.fr/notes/mediatheque-horaires",
          "title": LIBRARY_HOURS_FR.title, "text": LIBRARY_HOURS_FR.title + "\n\n" + LIBRARY_HOURS_FR.text},
         Expect(REJECTED, "exact_duplicate", "fr", U_LIB_HOURS)),
    note({"id": "note-008", "title": "Neue Trinkbrunnen", "license": "CC0-1.0", "text": FOUNTAINS_DE},
         Expect(KEPT, "", "de")),
    note({"id": "note-009", "url": "https://library.example.org/notes/dark-sky", "title": "Darker nights",
          "license": "CC-BY-SA-4.0", "text": DARK_SKY_EN}, Expect(KEPT, "", "en")),
]

LETTER_TXT = """Dear members of the library committee,

I am writing to thank you for the evening talk on the history of our canal, which I attended last Tuesday with my granddaughter. The speaker managed to make locks, tolls and barge timetables sound like an adventure, and the old photographs of the frozen basin in 1929 were a revelation to both of us.

My grandfather worked on the towpath as a young man, and I grew up hearing his stories without ever knowing where to find out more. After the talk, one of your staff showed me the local history room and explained how to search the digitised registers. Within half an hour we had found his name in a list of lock keepers' assistants.

I would like to suggest that the library records these talks, or at least publishes the slides, so that people who cannot come in the evening can still enjoy them. Many older residents no longer go out after dark, yet they are often the ones with the most to say about the subjects discussed.

Finally, I am happy to lend the library a small collection of letters and postcards my grandfather kept. They would need some care, but I would rather see them scanned and shared than forgotten in a drawer.

With my warm regards and thanks,

Margaret Ellwood
"""

BULLETIN_ARTICLE = Article(
    "Le marché de producteurs revient sur la place du Château",
    (
        "Après la pause hivernale, le marché de producteurs reprend ses quartiers sur la place du Château tous "
        "les vendredis, de 16 heures à 20 heures. Une vingtaine d'exposants y proposent des fruits et légumes de "
        "saison, des fromages, du miel, du pain cuit au feu de bois et des volailles élevées en plein air.",
        "Tous les producteurs présents travaillent à moins de quarante kilomètres de la commune. Le règlement du "
        "marché, rédigé avec la chambre d'agriculture, interdit la revente de produits achetés ailleurs : chacun "
        "vend ce qu'il a cultivé, élevé ou transformé lui-même.",
        "Cette année, la ville a souhaité rendre le marché plus accessible. Des tables et des bancs seront "
        "installés à l'ombre des platanes pour permettre de goûter les produits sur place, et un emplacement "
        "sera réservé chaque mois à une association locale. Les paiements par carte sont désormais acceptés sur "
        "la plupart des stands.",
        "Pour limiter les déchets, les clients sont invités à apporter leurs propres sacs et contenants. Un "
        "stand de la régie des eaux distribuera gratuitement des gourdes lors de la première séance.",
    ),
)


def render_bulletin() -> str:
    """bulletin.html: the municipal bulletin page. No licence markup: the source's default licence applies."""
    nav = "\n".join(f'      <li><a href="{href}">{_e(label)}</a></li>' for href, label in VILLE.nav)
    paragraphs = "\n".join(f"    <p>{_e(p)}</p>" for p in BULLETIN_ARTICLE.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>{_e(BULLETIN_ARTICLE.title)} | Bulletin municipal</title>
</head>
<body>
<header>
  <a class="logo" href="/">Bulletin municipal de la Ville d'Exemple</a>
  <nav>
    <ul>
{nav}
    </ul>
  </nav>
</header>
<main>
  <article>
    <h1>{_e(BULLETIN_ARTICLE.title)}</h1>
{paragraphs}
  </article>
</main>
<footer>
  <p>Bulletin municipal n° 112 – printemps 2026 – Directeur de la publication : le maire</p>
  <p><a href="/bulletin/archives/">Numéros précédents</a> | <a href="/contact/">Nous écrire</a>
     | <a href="/accessibilite/">Accessibilité</a></p>
</footer>
</body>
</html>
"""


# --------------------------------------------------------------------------------------------
# expected.tsv
# --------------------------------------------------------------------------------------------

EXPECTED_HEADER = ("key", "kind", "status", "reason", "language", "license", "duplicate_of")


def expected_rows() -> list[tuple[str, ...]]:
    """One row per document the pipeline sees, in reading order: WARC pages, JSONL records, files."""
    rows: list[tuple[str, ...]] = []
    for page in sorted(WEB_SAMPLE_PAGES, key=lambda p: p.date) + sorted(WEB_EXTRA_PAGES, key=lambda p: p.date):
        e = page.expect
        rows.append((page.url, "warc", e.status, e.reason, e.language, page.licence_spdx, e.duplicate_of))
    rows.append((VILLE.base + "/documents/deliberation-2026-014.pdf", "warc", REJECTED, "extraction", "", "", ""))
    for n in NOTES:
        if n.expect:
            e = n.expect
            rows.append((n.key, "jsonl", e.status, e.reason, e.language, n.licence, e.duplicate_of))
    rows.append(("bulletin.html", "file", KEPT, "", "fr", DUMP_DEFAULT_LICENCE, ""))  # no licence markup: default
    rows.append(("letter.txt", "file", KEPT, "", "en", DUMP_DEFAULT_LICENCE, ""))
    return rows + PORTAL_DOCUMENT_ROWS


# The documents of the demo portal (demo/make_documents.py), harvested by `make demo` (sources-with-portals.yaml),
# not by sources.yaml: `{{BASE}}` is the portal's address, known once it is served. The scan is kept when
# Tesseract is installed; without it, it is rejected for extraction with the reason recorded.
PORTAL_DOCUMENT_ROWS = [
    ("{{BASE}}/files/rapport-activite-2025.pdf", "ckan", KEPT, "", "fr", "etalab-2.0", ""),
    ("{{BASE}}/files/rapport-activite-2025-page2.png", "ckan", KEPT, "", "fr", "etalab-2.0", ""),
    ("{{BASE}}/files/deliberation-conseil-municipal.odt", "ckan", KEPT, "", "fr", "etalab-2.0", ""),
    ("{{BASE}}/files/chronique-valbrune.xml", "ckan", KEPT, "", "fr", "CC-BY-4.0", ""),
]


def write_expected(path: Path) -> list[tuple[str, ...]]:
    rows = expected_rows()
    keys = [r[0] for r in rows]
    assert len(keys) == len(set(keys)), "expected.tsv keys must be unique"
    lines = ["\t".join(EXPECTED_HEADER)] + ["\t".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows


# --------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------


def build() -> None:
    ARCHIVES_DIR.mkdir(parents=True, exist_ok=True)
    DUMPS_DIR.mkdir(parents=True, exist_ok=True)
    sample_counts = build_web_sample(ARCHIVES_DIR / "web-sample.warc.gz")
    extra_counts = build_web_extra(ARCHIVES_DIR / "web-extra.warc")
    (DUMPS_DIR / "notes.jsonl").write_text("".join(n.raw_line + "\n" for n in NOTES), encoding="utf-8")
    (DUMPS_DIR / "letter.txt").write_text(LETTER_TXT, encoding="utf-8")
    (DUMPS_DIR / "bulletin.html").write_text(render_bulletin(), encoding="utf-8")
    for name in ("notes.jsonl", "letter.txt", "bulletin.html"):
        os.utime(DUMPS_DIR / name, (DUMP_MTIME, DUMP_MTIME))
    rows = write_expected(DEMO_DIR / "expected.tsv")

    print("== records written")
    print("  web-sample.warc.gz:", dict(sorted(sample_counts.items())))
    print("  web-extra.warc:    ", dict(sorted(extra_counts.items())))
    print(f"  notes.jsonl: {len(NOTES)} lines ({sum(1 for n in NOTES if n.expect)} documents, "
          f"{sum(1 for n in NOTES if not n.expect)} bad lines)")
    print("== expected.tsv")
    for column, index in (("kind", 1), ("status", 2), ("reason", 3), ("language", 4), ("license", 5)):
        tally: dict[str, int] = {}
        for r in rows:
            tally[r[index] or "-"] = tally.get(r[index] or "-", 0) + 1
        print(f"  by {column}:", dict(sorted(tally.items())))
    print(f"  total documents: {len(rows)}")


# --------------------------------------------------------------------------------------------
# Check: read everything back the way the pipeline would and test the claims made above.
# --------------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def shingles(text: str, size: int = 5) -> set[str]:
    words = normalise(text).split()
    return {" ".join(words[i:i + size]) for i in range(max(1, len(words) - size + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def minhash_jaccard(a: set[str], b: set[str]) -> float:
    from datasketch import MinHash

    m1, m2 = MinHash(num_perm=128, seed=1), MinHash(num_perm=128, seed=1)
    for s in a:
        m1.update(s.encode("utf-8"))
    for s in b:
        m2.update(s.encode("utf-8"))
    return m1.jaccard(m2)


def read_warc_documents(path: Path) -> list[tuple[str, str, str, bytes, str]]:
    """(type, url, date, payload, content-type) of every record, printed as it is read."""
    from warcio.archiveiterator import ArchiveIterator

    out = []
    with path.open("rb") as fh:
        for rec in ArchiveIterator(fh):
            rtype = rec.rec_type
            url = rec.rec_headers.get_header("WARC-Target-URI") or ""
            date = rec.rec_headers.get_header("WARC-Date")
            ctype = rec.http_headers.get_header("Content-Type") if rec.http_headers else rec.content_type
            payload = rec.content_stream().read()
            print(f"  {rec.rec_headers.protocol} {rtype:9} {date} {ctype or '':32} {url}")
            out.append((rtype, url, date, payload, ctype or ""))
    return out


def check() -> bool:
    """Print what a reader sees and assert the properties the tests rely on; return False on any failure."""
    import trafilatura
    from langdetect import DetectorFactory, detect_langs

    ok = True

    def fail(message: str) -> None:
        nonlocal ok
        ok = False
        print("  FAIL:", message)

    expected = {r[0]: r for r in expected_rows() if r[1] != "ckan"}  # the portal's are checked by its tests
    texts: dict[str, str] = {}
    print("== reading the WARC files back")
    for name in ("web-sample.warc.gz", "web-extra.warc"):
        print(f" {name}")
        for rtype, url, date, payload, ctype in read_warc_documents(ARCHIVES_DIR / name):
            if rtype == "response" and ctype.startswith("text/html"):
                text = trafilatura.extract(payload, url=url) or ""
                text_fast = trafilatura.extract(payload, url=url, fast=True) or ""
                if normalise(text) != normalise(text_fast):
                    fail(f"{url}: fast and default extraction differ")
                texts[url] = text
    for n in NOTES:
        if n.expect:
            texts[n.key] = json.loads(n.raw_line)["text"]
    texts["letter.txt"] = LETTER_TXT
    texts["bulletin.html"] = trafilatura.extract((DUMPS_DIR / "bulletin.html").read_bytes()) or ""
    for key in expected:
        if key not in texts:
            fail(f"{key} listed in expected.tsv but not read back")

    print("== extracted texts (words, detected language, expectation)")
    for key, text in texts.items():
        row = expected[key]
        words = len(text.split())
        tops = []
        for seed in range(5):  # the pipeline may not seed langdetect: the answer must not depend on it
            DetectorFactory.seed = seed
            tops.append(detect_langs(text[:2000])[0] if len(text) >= 20 else None)
        worst = min(tops, key=lambda t: t.prob if t else -1.0)
        detected = f"{worst.lang}:{worst.prob:.2f}" if worst else "und"
        print(f"  {words:4d}w {detected:8} {row[2]:8} {row[3] or '-':15} {key}")
        if any(t is None or t.lang != row[4] or t.prob < 0.9 for t in tops):
            fail(f"{key}: language {detected} (worst of 5 seeds), expected {row[4]}")
        real_article = row[3] not in ("quality",)
        if real_article and words < 100:
            fail(f"{key}: only {words} words extracted")
        if row[3] == "quality":
            digits = sum(c.isdigit() for c in text) / max(1, len(text))
            lines = [l for l in text.splitlines() if l.strip()]
            dup_lines = 1 - len(set(lines)) / max(1, len(lines))
            punct_end = sum(l.rstrip()[-1] in ".!?:" for l in lines) / max(1, len(lines))
            print(f"        quality junk: digits {digits:.2f}, duplicate lines {dup_lines:.2f}, "
                  f"lines ending with punctuation {punct_end:.2f}, {len(lines)} lines")

    print("== article pages: extracted text is exactly title + paragraphs (no navigation, no footer)")
    sources = {page.url: page.article for page in WEB_SAMPLE_PAGES + WEB_EXTRA_PAGES if page.article}
    sources["bulletin.html"] = BULLETIN_ARTICLE
    mismatched = [key for key, article in sources.items()
                  if normalise(texts[key]) != normalise(article.title + "\n" + article.text)]
    print(f"  {len(sources) - len(mismatched)} of {len(sources)} match")
    for key in mismatched:
        fail(f"{key}: extracted text differs from the article")

    print("== exact duplicates (normalised text hash)")
    for key, row in expected.items():
        if row[3] == "exact_duplicate":
            same = normalise(texts[key]) == normalise(texts[row[6]])
            raw_same = texts[key] == texts[row[6]]
            print(f"  {same!s:5} (raw equal: {raw_same!s:5}) {key} == {row[6]}")
            if not same:
                fail(f"{key} does not match {row[6]} after normalisation")

    print("== near duplicates: Jaccard of word 5-grams (exact, MinHash 128)")
    for key, row in expected.items():
        if row[3] == "near_duplicate":
            a, b = shingles(texts[key]), shingles(texts[row[6]])
            j, m = jaccard(a, b), minhash_jaccard(a, b)
            print(f"  {j:.3f} {m:.3f} {key} ~ {row[6]}")
            if j < 0.85:
                fail(f"{key}: Jaccard {j:.3f} < 0.85")

    print("== distinct documents: highest pairwise Jaccard")
    distinct = [k for k, r in expected.items() if r[3] not in ("exact_duplicate", "near_duplicate")]
    pairs = sorted(((jaccard(shingles(texts[a]), shingles(texts[b])), a, b)
                    for a, b in itertools.combinations(distinct, 2)), reverse=True)
    for j, a, b in pairs[:3]:
        print(f"  {j:.3f} {a} / {b}")
    if pairs[0][0] >= 0.3:
        fail(f"distinct documents too similar: {pairs[0]}")

    print("== JSONL lines that are not documents")
    for n in NOTES:
        if not n.expect:
            try:
                has_text = "text" in json.loads(n.raw_line)
                print(f"  valid JSON, 'text' present: {has_text}: {n.raw_line[:60]}")
            except json.JSONDecodeError as exc:
                print(f"  malformed JSON ({exc.msg}): {n.raw_line[:60]}")
    print("== check", "passed" if ok else "FAILED")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-check", action="store_true", help="only write the files")
    args = parser.parse_args(argv)
    build()
    if args.no_check:
        return 0
    return 0 if check() else 1


if __name__ == "__main__":
    sys.exit(main())

# Lines of dumps/notes.jsonl that are deliberately NOT documents (absent from expected.tsv); the pipeline must
# report each as a failure and carry on with the next line:
#   line 5: {"id": "note-broken", ...   truncated, invalid JSON (unterminated string, no closing brace)
#   line 7: {"id": "note-006", "title": "Brouillon sans texte", "body": ...}   valid JSON without a "text" key
