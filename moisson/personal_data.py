"""Personal data in a document's text: found, then redacted, counted or made a reason to reject.

GDPR asks a training corpus to minimise personal data, and a redaction that also blanks invoice numbers,
postcodes and statistics spoils the text for nothing. So every number-shaped identifier is accepted only
when its own rule says so: a checksum (IBAN mod 97, Luhn, the NIR key 97 - n mod 97, the control letters
of the DNI/NIE and codice fiscale, PESEL, Steuer-ID, Belgian and Dutch numbers, through python-stdnum)
or a numbering plan (phone numbers through Google's libphonenumber data, leniency VALID). A number that
fails its checksum is never redacted. Identifiers whose checksum passes for one random number in ten or
eleven (BSN, PESEL, Steuer-ID, a bare Belgian national number, SIREN/SIRET) are accepted only next to
the word that names them, or (PESEL, Steuer-ID) in a text of that country's language.

Decisions, each tested (tests/test_personal_data.py) and measured (bench/personal_data.py):
- Phone numbers written the national way are tried in the numbering plans of the text's language
  (LANGUAGE_REGIONS: a French text tries France, Belgium, Switzerland); written the international way
  (+CC, 00CC) they are found in any text. Trying all 27 plans on every number would make any eight
  digits a phone somewhere. A number right after the word for a file, customer or member number (and
  no word for a telephone), glued to letters, a date, years, dotted thousands or an ISSN is not a phone.
- Dotted quads after "version", "art.", "section"... are release or clause numbers, not IP addresses.
- 13 digits that make a valid EAN-13 are an article number, not a card; card numbers inside URLs are ids.

Pure: text in, spans and text out. Cost: a text with neither a digit nor an '@' (nor an "(at)") costs
one scan. Every pattern starts with a character class (which the regex engine skips to quickly) followed
by a look-behind, so that only the start of a run of candidate characters is tried, and every repetition
is bounded: hostile inputs (megabytes of digits or '@') take linear time. A run of digits too long for one
phone number is cut between numbers before libphonenumber sees it, whose retries on long runs cost most.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator, Literal, NamedTuple

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher
from stdnum import ean, issn
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.be import nn as be_nn
from stdnum.de import idnr as de_idnr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.fr import nir as fr_nir
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret
from stdnum.it import codicefiscale as it_codicefiscale
from stdnum.nl import bsn as nl_bsn
from stdnum.pl import pesel as pl_pesel

from moisson.config import PersonalDataPolicy

DataType = Literal["EMAIL", "PHONE", "IBAN", "CARD", "IP", "NATIONAL_ID", "BUSINESS_ID"]
DATA_TYPES: tuple[DataType, ...] = ("EMAIL", "PHONE", "IBAN", "CARD", "IP", "NATIONAL_ID", "BUSINESS_ID")
# Overlapping candidates: the most specific type wins (an IBAN's digits are not also a phone number),
# then the longest span.
# A SIREN/SIRET is only accepted after the word that names it, so there it beats a card (14 Luhn digits
# are both); a national number's structure (birth month, department) is more telling than a Luhn digit.
SPECIFICITY: dict[str, int] = {"EMAIL": 0, "IBAN": 1, "BUSINESS_ID": 2, "NATIONAL_ID": 3, "CARD": 4, "IP": 5, "PHONE": 6}


class Span(NamedTuple):
    """One identifier found in a text: `text[start:end] == value`."""
    type: DataType
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class Redaction:
    """The text with its redacted identifiers replaced by `<TYPE>`, the number of identifiers found per
    type (redacted, counted or rejecting alike), and the first type in the text whose action is `reject`."""
    text: str
    counts: dict[str, int] = field(default_factory=dict)
    rejected_by: DataType | None = None


# --- the pre-filter -----------------------------------------------------------------------------------

ANY_CANDIDATE = re.compile(r"[0-9@]")

# --- e-mail ---------------------------------------------------------------------------------------------

EMAIL = re.compile(
    r"(?<![\w.%+\-])[\w.%+\-]{1,64}@"
    r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.){1,8}[^\W\d_]{2,24}(?![\w\-]|\.[^\W_])")


# The address written so that harvesters miss it: "info(at)firma.de", "jean [at] exemple [dot] fr".
AT_WORD = r"[\[({]\s?(?:at|@|arobase|chez|malpa)\s?[\])}]"
DOT_WORD = r"[\[({]\s?(?:dot|punkt|point|punto|kropka)\s?[\])}]"
OBFUSCATED_AT = re.compile(r"(?i)" + AT_WORD)
OBFUSCATED_EMAIL = re.compile(
    r"(?i)(?<![\w.%+\-])[\w.%+\-]{1,64}\s?" + AT_WORD + r"\s?"
    r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?(?:\s?" + DOT_WORD + r"\s?|\.)){1,8}[^\W\d_]{2,24}(?![\w\-]|\.[^\W_])")


def _emails(text: str) -> Iterator[Span]:
    if "@" in text:
        for match in EMAIL.finditer(text):
            local = match.group().split("@", 1)[0]
            if not (local.startswith(".") or local.endswith(".") or ".." in local):
                yield Span("EMAIL", match.start(), match.end(), match.group())
    if OBFUSCATED_AT.search(text):
        for match in OBFUSCATED_EMAIL.finditer(text):
            yield Span("EMAIL", match.start(), match.end(), match.group())


# --- IBAN -----------------------------------------------------------------------------------------------

# Country code, check digits, then 11 to 30 letters or digits, each optionally after one space (the
# printed groups of four). The match can swallow a following word ("... 189 BIC"), so shorter cuts at
# each space are tried too.
IBAN = re.compile(r"[A-Z](?<![0-9A-Za-z][A-Z])[A-Z][0-9]{2}(?: ?[0-9A-Z]){11,30}(?![0-9A-Za-z])")


def _ibans(text: str) -> Iterator[Span]:
    for match in IBAN.finditer(text):
        value = match.group()
        while len(value) >= 15:
            if stdnum_iban.is_valid(value):
                yield Span("IBAN", match.start(), match.start() + len(value), value)
                break
            cut = value.rfind(" ")
            if cut < 0:
                break
            value = value[:cut]


# --- payment cards ---------------------------------------------------------------------------------------

# Not inside a word or a URL ("/posts/2395361813834269", "?id=..."), where long Luhn-valid ids abound.
CARD = re.compile(r"\d(?<![\w.,\-/=#?&]\d)(?<!\d[ \-]\d)(?:[ \-]?\d){12,18}(?![ \-]?\d|[.,]\d|[\w/])")
CARD_GROUPS = ((4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1), (4, 4, 4, 4, 1), (4, 4, 4, 4, 2),
               (4, 4, 4, 3), (4, 4, 4, 2), (4, 4, 5))
# Issuer prefixes and the lengths each issues: a 15-digit NIR starting 27 is no Mastercard (16 digits).
CARD_ISSUERS: tuple[tuple[re.Pattern[str], range | tuple[int, ...]], ...] = tuple((re.compile(prefix), lengths) for prefix, lengths in (
    (r"4", (13, 16, 19)),                                            # Visa (and Carte Bancaire co-badged)
    (r"5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)", (16,)),  # Mastercard
    (r"3[47]", (15,)),                                               # American Express
    (r"6011|65|64[4-9]|62", range(16, 20)),                          # Discover, UnionPay
    (r"35(?:2[89]|[3-8]\d)", range(16, 20)),                         # JCB
    (r"30[0-5]|36|3[89]", range(14, 20)),                            # Diners Club
    (r"5[06-9]|6\d", range(13, 20)),                                 # Maestro
))


def _issued(digits: str) -> bool:
    return any(prefix.match(digits) and len(digits) in lengths for prefix, lengths in CARD_ISSUERS)


def _card_grouping_ok(value: str) -> bool:
    """Card numbers are printed whole or in the issuer's groups; a run of spaced numbers that happens to
    pass Luhn (a statistics row) is grouped otherwise."""
    groups = re.split(r"[ \-]", value)
    return len(groups) == 1 or tuple(len(g) for g in groups) in CARD_GROUPS


def _article_number(digits: str) -> bool:
    """Thirteen digits are a barcode (EAN-13, ISBN-13) far more often than a card: only Visa ever issued
    13-digit cards, long withdrawn, and a barcode carries its own check digit."""
    return len(digits) == 13 and (not digits.startswith("4") or ean.is_valid(digits))


def _cards(text: str) -> Iterator[Span]:
    for match in CARD.finditer(text):
        value = match.group()
        digits = re.sub(r"\D", "", value)
        if (13 <= len(digits) <= 19 and _card_grouping_ok(value) and _issued(digits)
                and luhn.is_valid(digits) and not _article_number(digits)):
            yield Span("CARD", match.start(), match.end(), value)


# --- national identifiers ------------------------------------------------------------------------------

NIR = re.compile(r"[1-478](?<![\w\-][1-478])[ .]?\d\d[ .]?\d\d[ .]?(?:\d\d|2[AB])[ .]?\d{3}[ .]?\d{3}[ .]?\d\d(?![\w\-]|[.,]\d)")
DNI = re.compile(r"\d(?<![\w\-.]\d)(?:\d{7}|\d\.\d{3}\.\d{3})[ \-]?[A-Z](?!\w)")
NIE = re.compile(r"[XYZ](?<![\w\-][XYZ])[ \-]?\d{7}[ \-]?[A-Z](?!\w)")
CODICE_FISCALE = re.compile(
    r"[A-Z](?<!\w[A-Z])[A-Z]{5}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z](?!\w)")
BELGIAN_FORMATTED = re.compile(r"\d(?<![\w.\-]\d)\d\.\d\d\.\d\d[ \-]\d{3}[.\-]\d\d(?![\w]|[.,\-]\d)")
ELEVEN_DIGITS = re.compile(r"\d(?<![\w.,\-/]\d)(?:\d{10}|\d \d{3} \d{3} \d{3})(?![\w]|[.,\-/]\d)")
NINE_DIGITS = re.compile(r"\d(?<![\w.,\-/]\d)(?:\d{8}|\d{3}\.\d\d\.\d{3}|\d\d \d{3} \d{3})(?![\w]|[.,\-/]\d)")
# The words that name the weak identifiers, looked for just before the number.
KEYWORD_WINDOW = 48
PESEL_WORDS = re.compile(r"(?i)\bpesel\b")
IDNR_WORDS = re.compile(r"(?i)steuer-?\s?id|steuer-?identifikationsnummer|identifikationsnummer|\bidnr\b|\btin\b")
BELGIAN_WORDS = re.compile(
    r"(?i)num[ée]ro\s+(?:de\s+)?(?:registre\s+)?national|registre\s+national|rijksregister|nationalregister"
    r"|national\s+(?:register\s+|registration\s+)?number|\bNISS\b|\bINSZ\b")
BSN_WORDS = re.compile(r"(?i)\bBSN\b|burgerservicenummer|sofi-?nummer|citizen\s+service\s+number")


def _language(language: str | None) -> str:
    return (language or "").replace("_", "-").split("-", 1)[0].lower()


def _named_before(text: str, start: int, words: re.Pattern[str]) -> bool:
    return words.search(text, max(0, start - KEYWORD_WINDOW), start) is not None


def _checked(pattern: re.Pattern[str], text: str, is_valid: Callable[[str], bool]) -> Iterator[Span]:
    for match in pattern.finditer(text):
        if is_valid(match.group()):
            yield Span("NATIONAL_ID", match.start(), match.end(), match.group())


def _national_ids(text: str, language: str) -> Iterator[Span]:
    yield from _checked(NIR, text, fr_nir.is_valid)
    yield from _checked(DNI, text, lambda value: es_dni.is_valid(value.replace(".", "")))
    yield from _checked(NIE, text, es_nie.is_valid)
    yield from _checked(CODICE_FISCALE, text, it_codicefiscale.is_valid)
    yield from _checked(BELGIAN_FORMATTED, text, be_nn.is_valid)
    for match in ELEVEN_DIGITS.finditer(text):
        value, start = match.group(), match.start()
        if pl_pesel.is_valid(value) and (language == "pl" or _named_before(text, start, PESEL_WORDS)):
            yield Span("NATIONAL_ID", start, match.end(), value)
        elif de_idnr.is_valid(value) and (language == "de" or _named_before(text, start, IDNR_WORDS)):
            yield Span("NATIONAL_ID", start, match.end(), value)
        elif be_nn.is_valid(value) and _named_before(text, start, BELGIAN_WORDS):
            yield Span("NATIONAL_ID", start, match.end(), value)
    for match in NINE_DIGITS.finditer(text):
        if nl_bsn.is_valid(match.group()) and _named_before(text, match.start(), BSN_WORDS):
            yield Span("NATIONAL_ID", match.start(), match.end(), match.group())


# --- SIREN / SIRET ---------------------------------------------------------------------------------------

BUSINESS_NUMBER = re.compile(r"\d(?<![\w.,\-/]\d)\d\d ?\d{3} ?\d{3}(?: ?\d{5})?(?![\w]|[.,\-/]\d)")
BUSINESS_WORDS = re.compile(r"(?i)\bSIRE[NT]\b|\bR\.?\s?C\.?\s?S\.?\b|immatricul")


def _business_ids(text: str) -> Iterator[Span]:
    for match in BUSINESS_NUMBER.finditer(text):
        value = match.group()
        digits = value.replace(" ", "")
        valid = fr_siret.is_valid(digits) if len(digits) == 14 else fr_siren.is_valid(digits)
        if valid and _named_before(text, match.start(), BUSINESS_WORDS):
            yield Span("BUSINESS_ID", match.start(), match.end(), value)


# --- IP addresses ----------------------------------------------------------------------------------------

IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?![\w]|\.\d)")
IPV6 = re.compile(r"[0-9A-Fa-f:](?<![\w:.][0-9A-Fa-f:])[0-9A-Fa-f]{0,3}:[0-9A-Fa-f:]{1,37}(?:\.\d{1,3}){0,3}(?![\w:]|\.\d)")
# "version 1.2.3.4", "art. 1.2.3.4": dotted numbers that name a release or a clause, not a host.
NOT_AN_ADDRESS = re.compile(
    r"(?i)(?:\bv|\bver|version|versión|versione|wersja|release|build|\bart|article|artikel|articolo|artículo"
    r"|artykuł|section|sección|sezione|abschnitt|rozdział|chapitre|kapitel|capitolo|capítulo|paragraph|point|punkt"
    r"|§|isbn|\bno|\bnr|\bn°)[.:]?\s*$")


def _ips(text: str) -> Iterator[Span]:
    for match in IPV4.finditer(text):
        value = match.group()
        if NOT_AN_ADDRESS.search(text, max(0, match.start() - 16), match.start()):
            continue
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            continue
        yield Span("IP", match.start(), match.end(), value)
    if ":" not in text:
        return
    for match in IPV6.finditer(text):
        value = match.group()
        if not any(char.isdigit() for char in value) or value.count(":") < 2:
            continue
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            continue
        yield Span("IP", match.start(), match.end(), value)


# --- phone numbers -----------------------------------------------------------------------------------------

# The numbering plans tried for a number written the national way, by the text's language. A number
# written the international way (+33 ..., 0033 ...) carries its own country and is found in any text.
# Plans without a trunk prefix whose numbers are short (Luxembourg, Monaco, San Marino, Andorra) are left
# out of the national lists: there any eight digits, "2021 2022", are a valid number.
LANGUAGE_REGIONS: dict[str, tuple[str, ...]] = {
    "fr": ("FR", "BE", "CH"), "de": ("DE", "AT", "BE", "CH"), "it": ("IT", "CH"),
    "es": ("ES",), "pl": ("PL",), "en": ("GB", "IE"), "nl": ("NL", "BE"), "pt": ("PT",), "el": ("GR", "CY"),
    "cs": ("CZ",), "sk": ("SK",), "hu": ("HU",), "ro": ("RO",), "bg": ("BG",), "hr": ("HR",), "sl": ("SI",),
    "et": ("EE",), "lv": ("LV",), "lt": ("LT",), "fi": ("FI",), "sv": ("SE", "FI"), "da": ("DK",), "mt": ("MT",),
    "ga": ("IE",), "lb": ("LU",), "eu": ("ES", "FR"), "ca": ("ES", "FR"), "br": ("FR",), "oc": ("FR",),
    "co": ("FR",), "als": ("FR",), "wa": ("BE",), "vls": ("BE",),
}
# Any region parses +CC and 00CC numbers (every EU plan dials 00 abroad): France's is used for them.
INTERNATIONAL_ONLY = ("FR",)
# Luxembourg's plan holds valid numbers of four to six digits: "4970", "2023-0457" would be phones.
# Every other EU plan's subscriber numbers have at least eight digits with the trunk prefix.
PHONE_MIN_DIGITS = 8
# E.164 allows 15 digits; with a trunk 0, "(0)" and an 00 prefix a written number holds at most 17.
PHONE_MAX_DIGITS = 17
PHONE_RUN = re.compile(r"[+(\d](?<![\w+\-/.,=?&#][+(\d])[\d ()./\-\u00a0\u2010-\u2015]{7,48}")
# Where a run too long for one number is cut: between two numbers ("01 23 45 67 89 / 01 98 76 54 32").
BETWEEN_NUMBERS = re.compile(r"\s*/\s*|\s+[\-\u2010-\u2015]\s+|\s{2,}|\u00a0{2,}")
RUN_END = re.compile(r"[^\d)]+$")
# A run followed by a currency or a unit is an amount or a measure, whatever its digits.
AMOUNT_AFTER = re.compile(r"(?i)\s?(?:€|eur\b|euros?\b|zł|pln\b|\$|£|%|chf\b|km\b|kg\b|m2|m²|ha\b|habitants|inhabitants"
                          r"|einwohner|abitanti|habitantes|mieszkańców|osób|tonnes|tonnen)")


# A number glued to letters ("0612345678-B", "0612345678K") is a reference, not something one dials.
REFERENCE_AFTER = re.compile(r"-?[^\W\d_]")
# An ISSN (four digits, a hyphen, four with a mod-11 check) is a serial's number in any plan.
ISSN_SHAPE = re.compile(r"\d{4}-\d{3}[\dX]")
# Shapes a numbering plan may accept that a person reads as something else: a date (31.03.2024), a
# number with dots between thousands (83.237.124), a run of years (2021 2022).
NOT_A_PHONE = re.compile(r"\d\d?[./-]\d\d?[./-](?:19|20)\d\d|\d{1,3}(?:\.\d{3})+|(?:(?:19|20)\d\d[ ,;/-]*)+")


def _trunk_zero(region: str) -> bool:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata is not None and metadata.national_prefix == "0"


# Where a national number always starts with the trunk prefix 0 (Germany, France, the UK...), a run of
# digits without a group starting with 0 is not tried: page ranges and tables cost one regex search.
TRUNK_ZERO = frozenset(region for regions in LANGUAGE_REGIONS.values() for region in regions if _trunk_zero(region))
GROUP_STARTS_WITH_ZERO = re.compile(r"(?<![\d])0")


def _phones(text: str, language: str) -> Iterator[Span]:
    regions = LANGUAGE_REGIONS.get(language, ())
    for run in PHONE_RUN.finditer(text):
        value = RUN_END.sub("", run.group())
        end = run.start() + len(value)
        if _digit_count(value) < PHONE_MIN_DIGITS or AMOUNT_AFTER.match(text, end) or REFERENCE_AFTER.match(text, end):
            continue
        for offset, piece in _pieces(value):
            if piece.startswith(("+", "00", "(+", "(00")) or not _a_reference(text, run.start() + offset):
                yield from _phones_in(piece, run.start() + offset, regions)


def _digit_count(value: str) -> int:
    return sum(char.isdigit() for char in value)


def _pieces(value: str) -> Iterator[tuple[int, str]]:
    """A run with more digits than one number can hold is a list or a table: libphonenumber would try it
    whole, fail, then try its groups one by one at great cost, so it gets the parts between numbers
    instead, and a table row of short groups costs nothing."""
    if _digit_count(value) <= PHONE_MAX_DIGITS:
        yield 0, value
        return
    start = 0
    for cut in [*BETWEEN_NUMBERS.finditer(value), None]:
        end = cut.start() if cut else len(value)
        piece = value[start:end]
        if PHONE_MIN_DIGITS <= _digit_count(piece) <= PHONE_MAX_DIGITS:
            yield start, piece
        start = cut.end() if cut else end


# A number written the national way right after the word for a file, customer or member number, with no
# word for a telephone near, is that reference ("Kundennummer 0301234567", "dossier n° 0612345678"),
# however valid a phone number its digits would make.
REFERENCE_BEFORE = re.compile(
    r"(?i)(?:\bn[°º]|\bn\.?\s?[°º]|\bno\.|\bnr\.?|\bn\.|nummer|num[ée]ro|número|numer|number|\bref\.?|\bréf\.?"
    r"|dossier|akten|kunden|client|cliente|klienta|customer|account|tessera|licen[cs]e|membership|mitglied|expediente"
    r"|pratica|sprawy|faktur|rechnung|facture|invoice|fattura|factura|order|commande|bestell|ordine|pedido|zamówieni)"
    r"[\s.:#°º-]*$")
PHONE_WORDS = re.compile(
    r"(?i)t[ée]l|phone|fax|mobil|móvil|cellulare|\bcell|komórk|portable|handy|\bgsm\b|hotline|infolinia"
    r"|appel|call|ring|whatsapp|standard|centralino|switchboard|durchwahl|numéro vert|numero verde|kontakt|contact|contatt")
REFERENCE_WINDOW = 32


def _a_reference(text: str, start: int) -> bool:
    window = text[max(0, start - REFERENCE_WINDOW):start]
    return REFERENCE_BEFORE.search(window) is not None and PHONE_WORDS.search(window) is None


# A date inside the match: a timestamp ("05.12.1972 00", "2022-12-01 09") that a plan happens to accept.
DATE_INSIDE = re.compile(r"(?:19|20)\d\d-[01]\d-[0-3]\d|[0-3]?\d[./][01]?\d[./](?:19|20)\d\d")


def _other_number(value: str) -> bool:
    return (NOT_A_PHONE.fullmatch(value) is not None or DATE_INSIDE.search(value) is not None
            or (ISSN_SHAPE.fullmatch(value) is not None and issn.is_valid(value)))


def _phones_in(value: str, start: int, regions: tuple[str, ...]) -> list[Span]:
    """The phone numbers libphonenumber finds in one run, under the first plan that finds any."""
    international = value.startswith(("+", "00", "(+", "(00"))
    zero = international or GROUP_STARTS_WITH_ZERO.search(value) is not None
    for region in (regions[:1] or INTERNATIONAL_ONLY) if international else regions:
        if not zero and region in TRUNK_ZERO:
            continue
        found = [Span("PHONE", start + m.start, start + m.end, m.raw_string)
                 for m in PhoneNumberMatcher(value, region, leniency=Leniency.VALID)
                 if _digit_count(m.raw_string) >= PHONE_MIN_DIGITS and not _other_number(m.raw_string)]
        if found:
            return found
    return []


# --- all together ------------------------------------------------------------------------------------------

def find_personal_data(text: str, language: str | None = None) -> list[Span]:
    """Every identifier in `text`, in text order, none overlapping another: where candidates overlap, the
    most specific type wins (SPECIFICITY), then the longest. `language` (ISO 639-1, e.g. 'fr', or None)
    chooses the phone numbering plans tried for numbers written without their country code and lets an
    11-digit number count as a PESEL (pl) or Steuer-ID (de) without the word that names it."""
    if not ANY_CANDIDATE.search(text) and not OBFUSCATED_AT.search(text):
        return []
    code = _language(language)
    candidates = [*_emails(text), *_ibans(text), *_cards(text), *_national_ids(text, code), *_business_ids(text),
                  *_ips(text), *_phones(text, code)]
    return _without_overlaps(candidates)


def _without_overlaps(candidates: list[Span]) -> list[Span]:
    """Resolves overlaps cluster by cluster (spans chained by overlaps), so the cost stays near linear
    in the number of candidates even when a hostile text yields millions."""
    kept: list[Span] = []
    cluster: list[Span] = []
    cluster_end = -1
    for span in sorted(candidates, key=lambda s: (s.start, s.end)):
        if cluster and span.start >= cluster_end:
            kept.extend(_best_of(cluster))
            cluster = []
        cluster_end = max(cluster_end, span.end) if cluster else span.end
        cluster.append(span)
    kept.extend(_best_of(cluster))
    return sorted(kept, key=lambda s: s.start)


def _best_of(cluster: list[Span]) -> list[Span]:
    if len(cluster) <= 1:
        return cluster
    chosen: list[Span] = []
    for span in sorted(cluster, key=lambda s: (SPECIFICITY[s.type], s.start - s.end, s.start)):
        if all(span.end <= other.start or other.end <= span.start for other in chosen):
            chosen.append(span)
    return chosen


def redact(text: str, spans: list[Span], policy: PersonalDataPolicy | None = None) -> Redaction:
    """Applies `policy` (defaults when None) to the spans `find_personal_data` returned for this text."""
    policy = policy or PersonalDataPolicy()
    if not policy.enabled:
        return Redaction(text)
    counts: dict[str, int] = {}
    rejected_by: DataType | None = None
    pieces: list[str] = []
    position = 0
    for span in spans:
        counts[span.type] = counts.get(span.type, 0) + 1
        action = policy.action(span.type)
        if action == "reject" and rejected_by is None:
            rejected_by = span.type
        if action in ("redact", "reject"):
            pieces.append(text[position:span.start])
            pieces.append(f"<{span.type}>")
            position = span.end
    pieces.append(text[position:])
    return Redaction("".join(pieces), counts, rejected_by)


def redact_personal_data(text: str, language: str | None = None,
                         policy: PersonalDataPolicy | None = None) -> Redaction:
    """find_personal_data then redact, the call the pipeline makes per document."""
    policy = policy or PersonalDataPolicy()
    if not policy.enabled:
        return Redaction(text)
    return redact(text, find_personal_data(text, language), policy)
