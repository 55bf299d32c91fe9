"""Personal data through a whole run: identifiers replaced by typed placeholders in the corpus, counted per type in
the warehouse, a checksum-invalid number left alone, and a type the policy rejects keeping its document out."""

from __future__ import annotations

import json
from pathlib import Path

from e2e import corpus_rows, run_moisson, warehouse

NIR_BASE = "1850578006084"
NIR = f"{NIR_BASE[0]} {NIR_BASE[1:3]} {NIR_BASE[3:5]} {NIR_BASE[5:7]} {NIR_BASE[7:10]} {NIR_BASE[10:]} " \
      f"{97 - int(NIR_BASE) % 97:02d}"
WRONG_NIR = NIR[:-2] + f"{(97 - int(NIR_BASE) % 97 + 1) % 97:02d}"  # the same number with a wrong key
IBAN = "FR14 2004 1010 0505 0001 3M02 606"
LETTER = ("Madame, je vous remercie pour votre courrier concernant l'inscription de mon fils à l'école de musique "
          "de la commune. Vous pouvez me joindre au 06 12 34 56 78 ou par courriel à claire.martin@example.fr pour "
          "fixer un rendez-vous. Mon numéro de sécurité sociale est le {nir}, comme demandé dans le formulaire. "
          "Le dossier porte la référence {wrong}, que le secrétariat m'a donnée la semaine dernière.")
INVOICE = ("Facture de la salle des fêtes pour la réunion de l'association des parents d'élèves du mois de mars. "
           "Le règlement se fait par virement sur le compte {iban} avant la fin du mois, à l'ordre du trésor public.")


def test_identifiers_are_redacted_counted_and_a_rejected_type_keeps_its_document_out(tmp_path: Path) -> None:
    lines = [{"id": "letter", "text": LETTER.format(nir=NIR, wrong=WRONG_NIR)}, {"id": "invoice", "text": INVOICE.format(iban=IBAN)}]
    (tmp_path / "notes.jsonl").write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n")
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {name: notes, kind: files, paths: ['notes.jsonl'], license: CC0-1.0}\n"
        "policy:\n  languages: [fr]\n  licenses: {allow: [CC0-1.0]}\n  quality: {enabled: false}\n"
        "  personal_data: {iban: reject}\n", encoding="utf-8")
    result = run_moisson(tmp_path / "sources.yaml", tmp_path / "data")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [(text,)] = corpus_rows(tmp_path / "data", "text")
    assert "<PHONE>" in text and "<EMAIL>" in text and "<NATIONAL_ID>" in text
    assert "06 12 34 56 78" not in text and "claire.martin" not in text and NIR not in text
    assert WRONG_NIR in text  # a number whose key is wrong is no NIR: left as written
    with warehouse(tmp_path / "data") as con:
        rows = dict(con.execute("SELECT record_key, personal_data FROM documents").fetchall())
        invoice = con.execute("SELECT status, reason, reason_detail FROM documents WHERE record_key LIKE '%invoice'").fetchone()
    letter = next(json.loads(value) for key, value in rows.items() if key.endswith("letter"))
    assert letter == {"EMAIL": 1, "NATIONAL_ID": 1, "PHONE": 1}
    assert invoice[:2] == ("rejected", "personal_data") and "IBAN" in invoice[2]
