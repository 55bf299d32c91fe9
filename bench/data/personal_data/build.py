"""Builds the labelled personal-data set (dev.jsonl, test.jsonl) from the templates below.

The sentences were written for the Moisson project (letters, council minutes, contact pages, invoices,
order confirmations, server logs and statistics tables in French, German, Italian, Spanish, Polish and
English). The identifiers in them are generated here, seeded, with their real check digits (python-stdnum,
libphonenumber), so that every labelled span is a valid identifier and every `{BAD_...}` slot is the same
kind of number with a wrong check digit, labelled as nothing. Plain numbers typed in the templates
(dates, amounts, postcodes, ISBNs, article and invoice numbers, statistics) are labelled as nothing too.

Templates alternate between the splits (even index: dev, odd: test) and each is filled COPIES times with
fresh values. Run: .venv/bin/python bench/data/personal_data/build.py [OUT_DIR]  (default: writes the two files beside it).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from stdnum import iban, luhn
from stdnum.iso7064 import mod_11_10
from stdnum.be import nn as be_nn
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir, siren, siret
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel

HERE = Path(__file__).resolve().parent
COPIES = 3
SLOT = re.compile(r"\{([A-Z_0-9]+)(?::([A-Za-z]+))?\}")

FIRST = ["jean", "marie", "lukas", "anna", "giulia", "marco", "lucia", "javier", "piotr", "agnieszka", "john", "emma"]
LAST = ["dupont", "lefebvre", "schmidt", "mueller", "rossi", "bianchi", "garcia", "lopez", "kowalski", "nowak", "smith"]
DOMAINS = {"fr": ["orange.fr", "mairie-saint-julien.fr", "exemple.org"], "de": ["web.de", "stadt-musterhausen.de"],
           "it": ["libero.it", "comune.esempio.it"], "es": ["gmail.com", "ayuntamiento-ejemplo.es"],
           "pl": ["wp.pl", "urzad-przyklad.gov.pl"], "en": ["example.co.uk", "council.example.ie"]}


class Filler:
    """Seeded generators of valid (and deliberately invalid) identifiers."""

    def __init__(self, seed: int, language: str) -> None:
        self.rng = random.Random(seed)
        self.language = language

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def EMAIL(self, _: str | None) -> str:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        local = self.rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{last}{self.rng.randint(1, 99)}", "contact", "info"])
        return f"{local}@{self.rng.choice(DOMAINS[self.language])}"

    def PHONE(self, spec: str | None) -> str:
        region = (spec or "FR")[:2]
        international = (spec or "").endswith("i")
        kind = self.rng.choice([PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE])
        example = phonenumbers.example_number_for_type(region, kind)
        national = str(example.national_number)
        for _ in range(1000):
            candidate = national[:-5] + self.digits(5)
            number = phonenumbers.parse(("0" if example.italian_leading_zero else "") + candidate, region)
            if phonenumbers.is_valid_number(number):
                break
        if international:
            return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
        text = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        if region == "FR" and self.rng.random() < 0.3:
            text = text.replace(" ", ".")
        return text

    def PHONEV(self, spec: str | None) -> str:
        """The same numbers written the other ways people write them."""
        region = (spec or "FR")[:2]
        national = self.PHONE(region)
        number = phonenumbers.parse(national, region)
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
        styles = [e164, "00" + international[1:], national.replace(" ", "-"), national.replace(" ", "")]
        if region in ("FR", "DE", "AT", "CH", "BE", "GB"):
            code, rest = international.split(" ", 1)
            styles.append(f"{code} (0){rest}" if region != "FR" else f"{code} (0){rest}")
        if region == "DE":
            area, subscriber = national.split(" ", 1)
            styles += [f"({area}) {subscriber.replace(' ', '')}", f"{area}/{subscriber.replace(' ', '')}"]
        if (spec or "").endswith("i"):  # a foreign number: written with its country code
            styles = [style for style in styles if style.startswith(("+", "00"))]
        return self.rng.choice(styles)

    def IBANC(self, spec: str | None) -> str:
        return self._iban(spec or "FR")

    def EMAILV(self, _: str | None) -> str:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        domain = self.rng.choice(DOMAINS[self.language])
        return self.rng.choice([f"{first}.{last}+newsletter@{domain}", f"{first.upper()}.{last.upper()}@{domain.upper()}",
                                f"{first}_{last}@mail.{domain}", f"{last}-{first}@{domain}", f"{first}.{last}.2024@{domain}",
                                f"{first}(at){domain}", f"{first}.{last} [at] {domain.replace('.', ' [dot] ')}"])

    def _iban(self, country: str) -> str:
        struct = iban._ibandb.info(country + "00")[0][1]["bban"]
        for _ in range(10000):
            bban = ""
            for count, kind in re.findall(r"(\d+)!([nac])", struct):
                alphabet = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "c": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}[kind]
                bban += "".join(self.rng.choice(alphabet) for _ in range(int(count)))
            number = country + iban.calc_check_digits(country + "00" + bban) + bban
            if iban.is_valid(number):
                return number
        raise RuntimeError(country)

    def IBAN(self, spec: str | None) -> str:
        return iban.format(self._iban(spec or "FR"))

    def BAD_IBAN(self, spec: str | None) -> str:
        number = self._iban(spec or "FR")
        wrong = str((int(number[2:4]) + 1 + self.rng.randint(0, 5)) % 97 + 2).zfill(2)
        return iban.format(number[:2] + wrong + number[4:])

    def _card(self) -> str:
        prefix = self.rng.choice(["4", "4", "51", "53", "2221", "5", "37"])
        if prefix == "5":
            prefix = "55"
        length = 15 if prefix == "37" else 16
        body = prefix + self.digits(length - len(prefix) - 1)
        return body + luhn.calc_check_digit(body)

    def CARD(self, _: str | None) -> str:
        number = self._card()
        if len(number) == 15:
            return f"{number[:4]} {number[4:10]} {number[10:]}"
        return self.rng.choice([" ", "-", ""]).join(number[i:i + 4] for i in range(0, 16, 4))

    def BAD_CARD(self, _: str | None) -> str:
        number = self._card()
        number = number[:-1] + str((int(number[-1]) + 1 + self.rng.randint(0, 8)) % 10)
        return " ".join(number[i:i + 4] for i in range(0, len(number), 4))

    def _nir(self) -> str:
        department = self.rng.choice(["75", "13", "69", "2A", "2B", "33", "59", str(self.rng.randint(1, 95)).zfill(2)])
        body = (self.rng.choice("12") + self.digits(2) + str(self.rng.randint(1, 12)).zfill(2) + department
                + str(self.rng.randint(1, 999)).zfill(3) + str(self.rng.randint(1, 999)).zfill(3))
        return body + nir.calc_check_digits(body)

    @staticmethod
    def _spaced_nir(n: str) -> str:
        return f"{n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:10]} {n[10:13]} {n[13:]}"

    def NIR(self, _: str | None) -> str:
        number = self._nir()
        return self._spaced_nir(number) if self.rng.random() < 0.7 else number

    def BAD_NIR(self, _: str | None) -> str:
        number = self._nir()
        wrong = str((int(number[13:]) + self.rng.randint(1, 50)) % 97 + 1).zfill(2)
        return self._spaced_nir(number[:13] + wrong)

    def DNI(self, _: str | None) -> str:
        body = self.digits(8)
        return body + dni.calc_check_digit(body)

    def BAD_DNI(self, _: str | None) -> str:
        body = self.digits(8)
        good = dni.calc_check_digit(body)
        return body + self.rng.choice([c for c in "TRWAGMYFPDXBNJZSQVHLCKE" if c != good])

    def NIE(self, _: str | None) -> str:
        body = self.rng.choice("XYZ") + self.digits(7)
        return body + nie.calc_check_digit(body)

    def CF(self, _: str | None) -> str:
        letters = "".join(self.rng.choice("BCDFGLMNPRSTVZ") for _ in range(3)) + "".join(self.rng.choice("ABCDEFGLMNRST") for _ in range(3))
        day = self.rng.randint(1, 28) + self.rng.choice([0, 40])
        body = (letters + self.digits(2) + self.rng.choice("ABCDEHLMPRST") + str(day).zfill(2)
                + self.rng.choice("ABCDEFGHLM") + self.digits(3))
        return body + codicefiscale.calc_check_digit(body)

    def _pesel(self) -> str:
        year, month, day = self.rng.randint(50, 99), self.rng.randint(1, 12), self.rng.randint(1, 28)
        body = f"{year:02d}{month:02d}{day:02d}" + self.digits(4)
        return body + pesel.calc_check_digit(body)

    def PESEL(self, _: str | None) -> str:
        return self._pesel()

    def BAD_PESEL(self, _: str | None) -> str:
        number = self._pesel()
        return number[:-1] + str((int(number[-1]) + self.rng.randint(1, 9)) % 10)

    def IDNR(self, _: str | None) -> str:
        for _ in range(100000):
            body = str(self.rng.randint(1, 9)) + self.digits(9)
            number = body + mod_11_10.calc_check_digit(body)
            if idnr.is_valid(number):
                return f"{number[:2]} {number[2:5]} {number[5:8]} {number[8:]}" if self.rng.random() < 0.5 else number
        raise RuntimeError("idnr")

    def BENN(self, _: str | None) -> str:
        body = f"{self.rng.randint(50, 99):02d}{self.rng.randint(1, 12):02d}{self.rng.randint(1, 28):02d}" + self.digits(3)
        number = body + str(97 - int(body) % 97).zfill(2)  # born before 2000
        assert be_nn.is_valid(number)
        return f"{number[:2]}.{number[2:4]}.{number[4:6]}-{number[6:9]}.{number[9:]}"

    def BSN(self, _: str | None) -> str:
        while True:
            number = str(self.rng.randint(1, 9)) + self.digits(8)
            if bsn.is_valid(number):
                return number

    def _siren(self) -> str:
        body = str(self.rng.randint(3, 9)) + self.digits(7)
        return body + luhn.calc_check_digit(body)

    def SIREN(self, _: str | None) -> str:
        number = self._siren()
        return f"{number[:3]} {number[3:6]} {number[6:]}"

    def SIRET(self, _: str | None) -> str:
        body = self._siren() + "000" + str(self.rng.randint(1, 9))
        number = body + luhn.calc_check_digit(body)
        assert siret.is_valid(number)
        return f"{number[:3]} {number[3:6]} {number[6:9]} {number[9:]}" if self.rng.random() < 0.5 else number

    def BAD_SIREN(self, _: str | None) -> str:
        number = self._siren()
        number = number[:-1] + str((int(number[-1]) + self.rng.randint(1, 9)) % 10)
        return f"{number[:3]} {number[3:6]} {number[6:]}"

    def IP(self, _: str | None) -> str:
        return self.rng.choice([f"192.168.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}",
                                f"10.{self.rng.randint(0, 255)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}",
                                f"{self.rng.randint(81, 223)}.{self.rng.randint(0, 255)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"])

    def IP6(self, _: str | None) -> str:
        groups = [format(self.rng.randint(0, 0xFFFF), "x") for _ in range(4)]
        return self.rng.choice([f"2001:db8:{groups[0]}::{groups[1]}", f"fe80::{groups[0]}:{groups[1]}:{groups[2]}:{groups[3]}",
                                "2a01:cb00:" + ":".join(groups) + ":1:2"])


LABEL = {"EMAIL": "EMAIL", "EMAILV": "EMAIL", "PHONE": "PHONE", "PHONEV": "PHONE", "IBAN": "IBAN", "IBANC": "IBAN", "CARD": "CARD", "IP": "IP", "IP6": "IP", "NIR": "NATIONAL_ID",
         "DNI": "NATIONAL_ID", "NIE": "NATIONAL_ID", "CF": "NATIONAL_ID", "PESEL": "NATIONAL_ID", "IDNR": "NATIONAL_ID",
         "BENN": "NATIONAL_ID", "BSN": "NATIONAL_ID", "SIREN": "BUSINESS_ID", "SIRET": "BUSINESS_ID"}


def fill(template: str, language: str, seed: int) -> dict:
    filler = Filler(seed, language)
    text, spans, position = "", [], 0
    for match in SLOT.finditer(template):
        text += template[position:match.start()]
        value = getattr(filler, match.group(1))(match.group(2))
        if match.group(1) in LABEL:
            spans.append({"type": LABEL[match.group(1)], "start": len(text), "end": len(text) + len(value), "value": value})
        text += value
        position = match.end()
    text += template[position:]
    return {"language": language, "text": text, "spans": spans}


def main(out: Path = HERE) -> None:
    from templates import TEMPLATES  # bench/data/personal_data/templates.py
    splits: dict[str, list[dict]] = {"dev": [], "test": []}
    for language, templates in TEMPLATES.items():
        for index, template in enumerate(templates):
            split = "dev" if index % 2 == 0 else "test"
            for copy in range(COPIES):
                record = fill(template.strip(), language, sum(map(ord, language)) * 1000 + index * 10 + copy)
                record["id"] = f"{language}-{index:02d}-{copy}"
                splits[split].append(record)
    for split, records in splits.items():
        with open(out / f"{split}.jsonl", "w", encoding="utf-8") as lines:
            for record in records:
                lines.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(split, len(records), "texts", sum(len(r["spans"]) for r in records), "spans")


if __name__ == "__main__":
    import sys
    sys.path.insert(0, str(HERE))
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
