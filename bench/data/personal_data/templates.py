"""The texts of the labelled personal-data set, written for the Moisson project (see build.py).

Slots: {TYPE} or {TYPE:ARG} is filled by build.Filler; TYPE names starting with BAD_ are the same kind of
number with a wrong check digit and are labelled as nothing, like every number typed here.
Even-indexed templates of a language go to dev, odd-indexed ones to test.
"""

TEMPLATES: dict[str, list[str]] = {
    "fr": [
        """Madame, Monsieur,
Suite à notre entretien du 14/03/2024, je vous prie de trouver ci-joint mon dossier. Vous pouvez me joindre au {PHONE:FR}
ou par courriel à {EMAIL}. Mon numéro de sécurité sociale est le {NIR}. Merci de verser l'indemnité de 1 250,00 € sur
le compte IBAN {IBAN:FR}. Je reste à votre disposition.
Jean Dupont, 12 rue des Lilas, 75011 Paris""",
        """Compte rendu du conseil municipal du 5 juin 2023
Présents : 17 conseillers sur 19. Le budget primitif 2023 s'élève à 2 345 678 € en fonctionnement et 987 654 € en
investissement. La délibération n° 2023-045 est adoptée par 15 voix pour et 2 abstentions. Pour toute question sur
la délibération, contacter le secrétariat au {PHONE:FR} ou {EMAIL}. Prochaine séance : 12.09.2023 à 18 h 30.
Population légale au 1er janvier 2021 : 4 512 habitants (INSEE, code commune 38185).""",
        """Nous contacter
Standard : {PHONE:FR} (du lundi au vendredi, 9 h - 17 h)
Depuis l'étranger : {PHONE:FRi}
Service client : {EMAIL}
Siège social : 8 avenue de la République, 69003 Lyon. SAS au capital de 150 000 €, RCS Lyon {SIREN},
SIRET {SIRET}. N° TVA intracommunautaire : voir facture.""",
        """FACTURE N° F-2024-00127 du 28/02/2024
Client : Association Les Amis du Livre, 3 place du Marché, 13001 Marseille
Réf. article 4006381333931 : 12 x 14,90 € = 178,80 € ; ISBN 978-2-07-036822-8 : 3 x 8,50 € = 25,50 €
Total HT : 204,30 € — TVA 5,5 % : 11,24 € — Total TTC : 215,54 €
Règlement par virement : IBAN {IBAN:FR} (BIC CCBPFRPPXXX). Ancien compte, ne plus utiliser : {BAD_IBAN:FR}.
Émetteur : Librairie du Centre, SIRET {SIRET}, tél. {PHONE:FR}.""",
        """Statistiques départementales 2022
Département 75 : 2 133 111 habitants, 105,4 km², densité 20 238 hab./km²
Département 13 : 2 043 110 habitants, 5 087 km²
Nombre de demandeurs d'emploi : 312 450 (catégorie A), 498 760 (catégories A, B, C)
Codes postaux concernés : 75001 à 75020, 13001 à 13016. Série chronologique : 2018 2019 2020 2021 2022
Indice des prix : 104,7 ; 106,3 ; 111,8. Taux de chômage : 7,1 %.""",
        """Objet : rectification de mon dossier
Le numéro {BAD_NIR} figurant sur votre courrier du 3 mai 2024 est erroné. Mon numéro de sécurité sociale correct
est {NIR}. Vous pouvez vérifier auprès de la CPAM ou m'appeler au {PHONE:FR}. Dossier n° 2024-118-774.
Employeur : SAS Dupuis et Fils, SIRET {SIRET}.""",
        """Paiement de votre commande n° 10458872 du 17/11/2023
Carte bancaire : {CARD} (expire 09/27). Montant débité : 89,90 €. Une carte de test {BAD_CARD} a été refusée.
Adresse IP de connexion enregistrée : {IP}. Pour toute réclamation : {EMAIL}.""",
        """Journal du serveur (extrait)
2024-01-15 08:12:44 connexion refusée depuis {IP} (3 tentatives)
2024-01-15 08:13:02 connexion acceptée depuis {IP6}
Version du logiciel : version 2.4.1.7 ; article 1.2.3.4 du règlement intérieur. Ticket n° 4471-2024.""",
        """Attestation employeur
Nous certifions que M. Karim Benali, né le 02/07/1988, numéro de sécurité sociale {NIR}, est employé depuis le
1er septembre 2019 en CDI, rémunération brute annuelle 32 400 €. Entreprise : SARL Bâti-Sud, SIREN {SIREN}.
Contact RH : {EMAIL}, {PHONE:FR}.""",
        """Relevé d'identité bancaire
Titulaire : Mme Sophie Martin, entrepreneur individuel (SIREN {SIREN})
IBAN : {IBAN:FR}
Code banque 30004, code guichet 00823, clé RIB 47. Domiciliation : Agence Paris-Bastille, référence
interne R-01-44-55. Ancien IBAN (clé erronée) : {BAD_IBAN:FR}.""",
        """Annuaire des services
Accueil de la mairie : {PHONE:FR} — État civil : {PHONE:FR} — Urbanisme : {EMAIL}
Horaires : lundi 8 h 30 - 12 h, mercredi 14 h - 18 h. Permanence du maire le 1er samedi du mois.
Contact belge : {PHONE:BEi}. Numéro national belge du délégué : {BENN}.""",
        """Rapport annuel d'activité 2023
Dossiers traités : 12 458 (contre 11 902 en 2022, +4,7 %). Délai moyen : 23 jours. Appels reçus : 45 210.
Budget : 1 234 567,89 €. Numéros d'affaires 2023-00451, 2023-00452. Référence BOAMP 23-123456.
Identifiant mal recopié dans le formulaire : {BAD_SIREN} (clé invalide). Contact presse : {EMAIL}. SIREN de l'organisme : {SIREN}.""",
        """Coordonnées mises à jour (mail du 02/10/2023)
Écrire à <{EMAILV}> ou mailto:{EMAIL}. Appeler le {PHONEV:FR} ou, depuis Bruxelles, le {PHONEV:BEi}.
Virement : {IBANC:FR}. Carte enregistrée {CARD}, NIR {NIR}. Interface d'administration : http://{IP}:8080/admin.
Ne pas confondre avec la référence client 0612345678-B, le lot n° 06 12 34, l'ISSN 0335-5322, le code APE 4711D,
la commande 1234 5678 9012 3456 7890, le dossier n° 0612345678
ni le montant de 612 345 678 €. Téléphones de la fiche 2019 : voir annexe 3.""",
        """Fiche adhérent n° 2024/0312
Nom : Mme Claire Moreau, née le 21/06/1979 à Ajaccio, NIR {NIR}. Portable : {PHONEV:FR}. Courriel : {EMAILV}.
Prélèvement sur {IBANC:FR} (mandat SEPA n° 2024-000318). Accès au portail depuis {IP} le 03/01/2024 à 10:42:17.
Montants des cotisations 2021 2022 2023 : 45,00 ; 48,00 ; 50,00. Code postal 20000. Ancien numéro {BAD_NIR}.
Tél. du club, à ne pas confondre avec le n° de licence 0123456789-FFT : {PHONEV:FR}.""",
    ],
    "de": [
        """Sehr geehrte Damen und Herren,
bitte überweisen Sie den Betrag von 1.480,00 € bis zum 31.03.2024 auf mein Konto IBAN {IBAN:DE}. Meine steuerliche
Identifikationsnummer lautet {IDNR}. Für Rückfragen erreichen Sie mich unter {PHONE:DE} oder {EMAIL}.
Mit freundlichen Grüßen, Lukas Schmidt, Hauptstraße 12, 10115 Berlin""",
        """Niederschrift über die Sitzung des Gemeinderats vom 14. Juni 2023
Anwesend: 21 von 24 Mitgliedern. Der Haushaltsplan 2024 sieht Erträge von 18.452.300 € vor. Beschluss Nr. 2023/117
wurde mit 19 Ja-Stimmen angenommen. Ansprechpartnerin im Rathaus: Frau Weber, Telefon {PHONE:DE}, E-Mail {EMAIL}.
Einwohnerzahl am 31.12.2022: 12.874. Postleitzahl 79098.""",
        """Kontakt und Impressum
Musterfirma GmbH, Industriestraße 5, 80331 München
Telefon: {PHONE:DE} | Fax: {PHONE:DE} | International: {PHONE:DEi}
E-Mail: {EMAIL} | Registergericht: Amtsgericht München, HRB 123456 | USt-IdNr.: siehe Rechnung
Französische Niederlassung: Musterfirma France SARL, SIRET {SIRET}""",
        """Rechnung Nr. 2024-0457 vom 12.02.2024
Artikel 4006381333931: 3 Stück à 24,95 € = 74,85 €; ISBN 978-3-16-148410-0: 1 Stück 39,90 €
Summe netto 114,75 €, USt 19 % 21,80 €, Gesamt 136,55 €. Zahlbar innerhalb von 14 Tagen auf
IBAN {IBAN:DE} (BIC COBADEFFXXX). Die IBAN {BAD_IBAN:DE} aus dem letzten Schreiben ist ungültig.
Lieferant: Dupont SARL (Frankreich), SIRET {SIRET}.""",
        """Statistischer Bericht 2022
Bevölkerung: 83.237.124; Haushalte: 40.937.000; Fläche 357.588 km². Arbeitslose im Jahresdurchschnitt: 2.418.000.
Tabellenwerte: 2018 2019 2020 2021 2022 — 102,3 104,1 105,8 109,2 117,4
Aktenzeichen 4 K 1234/22. Telefonumfrage mit 1.203 Befragten.""",
        """Bestellbestätigung
Ihre Bestellung 302-5578123-4471 wurde bezahlt mit der Kreditkarte {CARD}. Betrag: 59,99 €.
Die zuvor eingegebene Nummer {BAD_CARD} war ungültig. IP-Adresse der Bestellung: {IP}. Rückfragen: {EMAIL}.""",
        """Anmeldung zur Weiterbildung
Name: Anna Müller, geb. 04.11.1990. Steuer-ID: {IDNR}. Telefon mobil: {PHONE:DE}.
Kursnummer 2024-WB-118, Gebühr 480 €, Raum 3.12. Rückmeldung bitte an {EMAIL}.""",
        """Protokoll des Servers
[2024-02-03 10:14:55] Zugriff von {IP} auf /intern/login (HTTP 403)
[2024-02-03 10:15:10] Zugriff von {IP6} (HTTP 200)
Softwareversion v 3.10.2.1, Paragraph 1.2.3.4 der Nutzungsordnung. Vorgangsnummer 88712.""",
        """Lieber Herr Becker,
wie telefonisch besprochen ({PHONE:ATi}), sende ich Ihnen die Unterlagen für Wien. Unsere Kontoverbindung in
Österreich: {IBAN:AT}. Die Rechnung Nr. 77/2023 über 2.340,00 € ist am 15. Januar fällig.
Viele Grüße aus Salzburg, {EMAIL}""",
        """Vereinsmitteilung
Mitgliedsbeiträge 2024: Erwachsene 60 €, Jugendliche 30 €. Mitgliederzahl: 1.245 (Stand 01.01.2024).
Kassenwart: Thomas Krüger, {PHONE:DE}, {EMAIL}. Bankverbindung des Vereins: {IBAN:DE}.
Steuernummer des Vereins 143/215/50917 (kein persönliches Merkmal).""",
        """Neue Kontaktdaten ab 01.04.2024
Schreiben Sie an <{EMAILV}> oder {EMAIL}. Telefon {PHONEV:DE}, aus der Schweiz {PHONEV:CHi}.
Überweisung: {IBANC:DE}. Kreditkarte {CARD}. Verwaltungsoberfläche: http://{IP}:8443/.
Nicht verwechseln mit Kundennummer 0301234567-K, Los 030 12 34, ISSN 0044-2976, Artikel 4006381333931,
Bestellnummer 1234 5678 9012 3456 7890 oder dem Betrag 301.234.567 €. Kundennummer 0301234567.
Aktenzeichen-Nr. 0891234567. Steuer-ID im Formular: {IDNR}.""",
        """Mitgliedsantrag Nr. 2024/0815
Name: Jonas Wagner, geboren am 17.08.1982 in Köln, Steueridentifikationsnummer {IDNR}. Mobil: {PHONEV:DE}.
E-Mail: {EMAILV}. Lastschrift von {IBANC:DE} (Mandatsreferenz 2024-000815). Anmeldung von {IP} am 05.01.2024 um
09:13:55. Beiträge 2021 2022 2023: 96,00; 96,00; 108,00. PLZ 50667. Vereinsregister VR 12345, Amtsgericht Köln.
Telefon der Geschäftsstelle (nicht die Mitgliedsnummer 0221123456): {PHONEV:DE}.""",
    ],
    "it": [
        """Gentile dottoressa,
le invio i miei dati per la pratica n. 2024/1182. Codice fiscale: {CF}. Potete contattarmi al numero {PHONE:IT}
oppure all'indirizzo {EMAIL}. Il rimborso di 320,50 euro può essere accreditato sull'IBAN {IBAN:IT}.
Cordiali saluti, Giulia Rossi, via Roma 15, 00184 Roma""",
        """Verbale della seduta del Consiglio comunale del 22 marzo 2023
Presenti 14 consiglieri su 16. Il bilancio di previsione 2023 pareggia in 4.567.890 euro. La delibera n. 45/2023
è approvata all'unanimità. Per informazioni: Ufficio Segreteria, tel. {PHONE:IT}, {EMAIL}.
Abitanti al 31/12/2022: 8.431. CAP 20121. Codice ISTAT 015146.""",
        """Contatti
Centralino: {PHONE:IT} — Dall'estero: {PHONE:ITi}
Posta elettronica: {EMAIL}
Sede legale: Via Garibaldi 8, 10122 Torino. Capitale sociale 50.000 euro. Partita IVA: vedi fattura.""",
        """Fattura n. 2024/00318 del 15/01/2024
Articolo 8001234567890: 5 pezzi x 12,40 euro = 62,00 euro; ISBN 978-88-04-66289-3: 2 x 18,00 euro
Imponibile 98,00 euro, IVA 22 % 21,56 euro, totale 119,56 euro. Pagamento con bonifico su IBAN {IBAN:IT}.
Il codice fiscale {CF} del cliente è stato verificato. Ordine n. 457812.
Fornitore francese: Fromagerie Petit SAS, SIREN {SIREN}.""",
        """Dati statistici regionali 2022
Popolazione residente: 9.943.004; superficie 23.863 km²; densità 416,7 ab./km². Occupati: 4.512.000.
Serie storica: 2018 2019 2020 2021 2022 — tasso di disoccupazione 6,7 7,1 7,8 6,9 5,9.
Chiamate al numero verde nel 2022: 34.512.""",
        """Conferma di pagamento
Ordine n. 7781-2024 pagato con carta {CARD}. Importo 145,00 euro. La carta {BAD_CARD} è stata rifiutata.
Indirizzo IP registrato: {IP}. Assistenza: {EMAIL}, {PHONE:IT}.""",
        """Modulo di iscrizione
Cognome e nome: Marco Bianchi. Codice fiscale: {CF}. Nato a Milano il 10/10/1985.
Cellulare: {PHONE:IT}. E-mail: {EMAIL}. Quota di iscrizione 75 euro, ricevuta n. 2024-0091.""",
        """Registro degli accessi
12/02/2024 09:41:07 accesso negato da {IP} (utente sconosciuto)
12/02/2024 09:42:15 accesso consentito da {IP6}
Versione 4.2.0.1 del software; articolo 1.2.3.4 del regolamento. Segnalazione n. 5521.""",
        """Comunicazione ai soci
La quota annuale di 40 euro va versata entro il 28/02/2024 sull'IBAN dell'associazione {IBAN:IT}.
Attenzione: l'IBAN {BAD_IBAN:IT} pubblicato nel notiziario di gennaio contiene un errore.
Tesoriera: Lucia Ferri, {PHONE:IT}, {EMAIL}. Soci iscritti: 312.""",
        """Lettera di assunzione
Si conferma l'assunzione di Francesca Conti, codice fiscale {CF}, dal 1° aprile 2024, livello 3, retribuzione
annua lorda 28.500 euro. Per comunicazioni: {EMAIL}. Contatto svizzero del consulente: {PHONE:CHi}.""",
        """Nuovi recapiti dal 01/04/2024
Scrivere a <{EMAILV}> o {EMAIL}. Telefono {PHONEV:IT}, dalla Svizzera {PHONEV:CHi}.
Bonifico: {IBANC:IT}. Carta {CARD}. Pannello di amministrazione: http://{IP}:8080/.
Da non confondere con il codice cliente 0612345678-R, il lotto 06 12 34, l'ISSN 0391-5239, il codice ATECO 47.11.10,
l'ordine 1234 5678 9012 3456 7890 o l'importo di 345.678.901 euro. Pratica n. 0612345678. Codice fiscale del titolare: {CF}.""",
        """Domanda di adesione n. 2024/0412
Nome: Sara Galli, nata il 03/05/1990 a Bologna, codice fiscale {CF}. Cellulare: {PHONEV:IT}. E-mail: {EMAILV}.
Addebito su {IBANC:IT} (mandato SEPA 2024-000412). Accesso da {IP} il 07/01/2024 alle 11:21:09.
Quote 2021 2022 2023: 30,00; 30,00; 35,00. CAP 40121. Tessera n. 0512345678 (non è un telefono).
Telefono della segreteria: {PHONEV:IT}.""",
    ],
    "es": [
        """Estimado señor:
Le adjunto la documentación solicitada para el expediente 2024/3381. Mi DNI es {DNI} y puede localizarme en el
teléfono {PHONE:ES} o en {EMAIL}. Le ruego que abone los 640,00 € en la cuenta {IBAN:ES}.
Atentamente, Javier García, calle Mayor 23, 28013 Madrid""",
        """Acta del Pleno del Ayuntamiento de 9 de mayo de 2023
Asisten 11 de los 13 concejales. El presupuesto municipal para 2023 asciende a 6.789.012 €. El acuerdo 23/2023 se
aprueba por mayoría. Información: Secretaría, tel. {PHONE:ES}, {EMAIL}. Población a 1 de enero de 2022: 15.342
habitantes. Código postal 41001.""",
        """Contacto
Atención al cliente: {PHONE:ES} (de 9:00 a 18:00) · Desde el extranjero: {PHONE:ESi}
Correo: {EMAIL}
Domicilio social: Paseo de Gracia 12, 08007 Barcelona. Capital social 60.000 €.""",
        """Factura n.º 2024-A-0099 de 20/02/2024
Artículo 8412345678905: 4 unidades x 9,95 € = 39,80 €; ISBN 978-84-376-0494-7: 1 x 21,00 €
Base imponible 60,80 €, IVA 21 % 12,77 €, total 73,57 €. Pago por transferencia a {IBAN:ES}.
NIF del cliente: {DNI}. El DNI {BAD_DNI} indicado en el pedido no es válido.
Proveedor francés: Vins du Sud SARL, SIRET {SIRET}.""",
        """Estadísticas provinciales 2022
Población: 6.751.251 habitantes; superficie 8.028 km². Parados registrados: 345.678. Afiliados: 3.456.789.
Serie: 2018 2019 2020 2021 2022 — 10,2 11,4 15,5 13,3 12,9. Viviendas iniciadas: 23.456.
Teléfono de información estadística 012 (servicio gratuito).""",
        """Confirmación de pago
Pedido 55120034 abonado con la tarjeta {CARD}. Importe: 230,00 €. La tarjeta {BAD_CARD} fue rechazada.
IP del comprador: {IP}. Para incidencias: {EMAIL}.""",
        """Solicitud de empadronamiento
Nombre: Lucía López. NIE: {NIE}. Fecha de llegada: 03/09/2023. Teléfono: {PHONE:ES}. Correo: {EMAIL}.
Vivienda: calle del Sol 4, 2.º B, 46001 Valencia. Referencia catastral 9872023VH5797S0001WX.""",
        """Registro del servidor
2024-03-01 11:02:33 acceso denegado desde {IP}
2024-03-01 11:03:10 acceso permitido desde {IP6}
Versión 5.1.2.3 del programa; artículo 1.2.3.4 de las normas. Incidencia n.º 3345.""",
        """Carta a los socios
La cuota de 2024 (35 €) se domicilia en la cuenta {IBAN:ES}. El número {BAD_IBAN:ES} que aparecía en el boletín
era incorrecto. Tesorero: Pablo Ruiz, DNI {DNI}, móvil {PHONE:ES}, {EMAIL}. Socios: 487.""",
        """Contrato de alquiler
Arrendador: Carmen Díaz, DNI {DNI}. Arrendatario: Mark Jones, NIE {NIE}. Renta mensual 850 €, fianza 1.700 €.
Duración: 5 años desde el 01/02/2024. Teléfonos: {PHONE:ES} y {PHONE:GBi}. Referencia 2024/ALQ/0042.""",
        """Nuevos datos de contacto desde el 01/04/2024
Escriba a <{EMAILV}> o {EMAIL}. Teléfono {PHONEV:ES}, desde el Reino Unido {PHONEV:GBi}.
Transferencia: {IBANC:ES}. Tarjeta {CARD}. Panel de administración: http://{IP}:8080/.
No confundir con el código de cliente 612345678-C, el lote 91 234, el ISSN 0210-1963, el CNAE 4711,
el pedido 1234 5678 9012 3456 7890 ni el importe de 612.345.678 €. Expediente n.º 912345678. NIE del titular: {NIE}.""",
        """Solicitud de alta n.º 2024/0519
Nombre: Marta Sánchez, nacida el 09/02/1987 en Sevilla, DNI {DNI}. Móvil: {PHONEV:ES}. Correo: {EMAILV}.
Domiciliación en {IBANC:ES} (mandato SEPA 2024-000519). Acceso desde {IP} el 08/01/2024 a las 12:30:45.
Cuotas 2021 2022 2023: 60,00; 60,00; 65,00. C. P. 41004. DNI mal escrito en el formulario anterior: {BAD_DNI}.
Teléfono de la secretaría: {PHONEV:ES}.""",
    ],
    "pl": [
        """Szanowni Państwo,
w załączeniu przesyłam wniosek nr 2024/118. Mój numer PESEL to {PESEL}. Proszę o kontakt pod numerem {PHONE:PL}
lub adresem {EMAIL}. Zwrot kwoty 1 250,00 zł proszę przelać na rachunek {IBAN:PL}.
Z poważaniem, Piotr Kowalski, ul. Długa 5, 00-238 Warszawa""",
        """Protokół z sesji Rady Gminy z dnia 15 czerwca 2023 r.
Obecnych 13 z 15 radnych. Budżet gminy na 2023 r. wynosi 24 567 890 zł. Uchwała nr XLII/312/2023 została
przyjęta 12 głosami. Informacji udziela sekretariat: tel. {PHONE:PL}, {EMAIL}. Liczba mieszkańców: 7 812.
Kod pocztowy 31-042.""",
        """Kontakt
Infolinia: {PHONE:PL} (pon.–pt. 8:00–16:00) · Z zagranicy: {PHONE:PLi}
E-mail: {EMAIL}
Siedziba: ul. Marszałkowska 10, 00-590 Warszawa. Kapitał zakładowy 100 000 zł.""",
        """Faktura VAT nr FV/2024/02/117 z dnia 14.02.2024
Towar 5901234123457: 6 szt. x 19,99 zł = 119,94 zł; ISBN 978-83-240-1234-5: 1 szt. 49,00 zł
Razem netto 168,94 zł, VAT 23 % 38,86 zł, brutto 207,80 zł. Płatność na rachunek {IBAN:PL}.
Rachunek {BAD_IBAN:PL} z poprzedniej faktury jest nieaktualny.""",
        """Dane statystyczne za 2022 r.
Ludność: 37 766 327; powierzchnia 312 696 km². Bezrobotni: 812 345. Przeciętne wynagrodzenie 6 346,15 zł.
Szereg: 2018 2019 2020 2021 2022 — 5,8 5,2 6,3 5,8 5,2. Liczba mieszkań oddanych: 238 500.
Numer sprawy 123 456 789 00 w rejestrze spraw.""",
        """Potwierdzenie płatności
Zamówienie 2024/5567 opłacone kartą {CARD}. Kwota: 349,00 zł. Karta {BAD_CARD} została odrzucona.
Adres IP klienta: {IP}. Reklamacje: {EMAIL}.""",
        """Formularz zgłoszeniowy
Imię i nazwisko: Agnieszka Nowak, PESEL: {PESEL}, urodzona 1985 r. Telefon komórkowy: {PHONE:PL}.
E-mail: {EMAIL}. Błędnie wpisany PESEL z poprzedniego formularza: {BAD_PESEL}. Opłata 120 zł.""",
        """Dziennik serwera
2024-01-20 14:05:12 odmowa dostępu z {IP}
2024-01-20 14:06:40 dostęp z {IP6}
Wersja 2.0.1.5 programu; punkt 1.2.3.4 regulaminu. Zgłoszenie nr 7712.""",
        """Umowa zlecenia nr 45/2024
Zleceniobiorca: Tomasz Wiśniewski, PESEL {PESEL}, tel. {PHONE:PL}. Wynagrodzenie 3 200 zł brutto płatne na
rachunek {IBAN:PL} do 10. dnia miesiąca. Okres: 01.03.2024 – 31.08.2024. Kontakt: {EMAIL}.""",
        """Ogłoszenie
Zebranie wspólnoty mieszkaniowej odbędzie się 12.04.2024 o godz. 18:00 w lokalu nr 3. Zaliczka na fundusz
remontowy: 2,50 zł/m². Zarządca: {PHONE:PL}, {EMAIL}. Numer konta wspólnoty: {IBAN:PL}. Lokali: 48.""",
        """Nowe dane kontaktowe od 01.04.2024
Prosimy pisać na <{EMAILV}> lub {EMAIL}. Telefon {PHONEV:PL}, z Niemiec {PHONEV:DEi}.
Przelew: {IBANC:PL}. Karta {CARD}. Panel administracyjny: http://{IP}:8080/.
Nie mylić z numerem klienta 512345678-K, partią 12 34, ISSN 0137-9585, kodem PKD 47.11.Z,
zamówieniem 1234 5678 9012 3456 7890 ani kwotą 512 345 678 zł. Nr klienta 512345678. PESEL właściciela: {PESEL}.""",
        """Deklaracja członkowska nr 2024/0620
Imię i nazwisko: Katarzyna Zielińska, ur. 14.07.1984 w Gdańsku, PESEL {PESEL}. Komórka: {PHONEV:PL}.
E-mail: {EMAILV}. Polecenie zapłaty z rachunku {IBANC:PL}. Logowanie z {IP} dnia 09.01.2024 o 13:45:02.
Składki 2021 2022 2023: 120,00; 120,00; 150,00. Kod pocztowy 80-001. Błędny PESEL z formularza: {BAD_PESEL}.
Telefon sekretariatu: {PHONEV:PL}.""",
    ],
    "en": [
        """Dear Sir or Madam,
Further to your letter of 14 March 2024 (ref. 2024/778), please find my details below. You can reach me on
{PHONE:GB} or at {EMAIL}. Please pay the refund of £245.00 into my account {IBAN:GB}.
Yours faithfully, Emma Smith, 22 Station Road, Cambridge CB1 2JH""",
        """Minutes of the Parish Council meeting held on 6 June 2023
Present: 9 of 11 councillors. The precept for 2023/24 was set at £145,600. Resolution 23/41 was carried by 8 votes
to 1. Enquiries to the Clerk, tel. {PHONE:GB}, {EMAIL}. Electorate: 3,412. Population (2021 census): 4,987.""",
        """Contact us
Switchboard: {PHONE:GB} · From abroad: {PHONE:GBi} · Dublin office: {PHONE:IEi}
Email: {EMAIL}
Registered office: 1 High Street, London EC1A 1BB. Company number 01234567. VAT registration on invoices.
French branch: Example France SAS, R.C.S. Paris {SIREN}.""",
        """INVOICE No. INV-2024-0311, dated 21/02/2024
Item 5012345678900: 2 x £18.50 = £37.00; ISBN 978-0-14-103614-4: 1 x £9.99
Subtotal £46.99, VAT 20 % £9.40, total £56.39. Pay by transfer to {IBAN:GB} (BIC NWBKGB2L).
Please do not use the old account {BAD_IBAN:GB}. Customer phone: {PHONE:GB}.
Supplier: Atelier Martin SAS, RCS Lyon {SIREN}.""",
        """Regional statistics 2022
Population: 5,479,900; area 77,933 km². Claimant count: 123,456. Median weekly pay £612.30.
Series: 2018 2019 2020 2021 2022 — 4.1 3.9 4.8 4.6 3.8. Dwellings completed: 17,890.
Helpline statistics: 48,213 calls answered; 1,234,567 page views.""",
        """Payment confirmation
Order 114-5567890-1234 paid with card {CARD}. Amount: €79.00. Card {BAD_CARD} was declined.
Customer IP address: {IP}. Support: {EMAIL}.""",
        """Registration form
Name: John Walsh. Dutch citizen service number (BSN): {BSN}. Mobile: {PHONE:IE}. Email: {EMAIL}.
Date of birth 12/05/1979. Course fee €150, receipt no. 2024-0077, room 2.14.""",
        """Server log
2024-02-11 07:55:01 denied access from {IP} (5 attempts)
2024-02-11 07:56:19 accepted connection from {IP6}
Running version 1.2.3.4 of the daemon; see section 4.1.2.3 of the manual. Ticket #88213.""",
        """Employment reference
This is to confirm that Ms Ana Silva has worked with us since 1 March 2020. For reference checks please call
{PHONE:GB} or write to {EMAIL}. Her Spanish identity number (DNI {DNI}) and her French social security number
{NIR} are on file. Salary: £31,500 per annum.""",
        """Newsletter
Membership renewals (£25) are due by 31/03/2024. Bank details: {IBAN:IE}. The account {BAD_IBAN:IE} printed last
month was wrong. Treasurer: {PHONE:IE}, {EMAIL}. Members: 1,024. Italian tax code of our Rome contact: {CF}.
Polish partner's PESEL {PESEL} was sent by post. Data protection officer: {EMAIL}.""",
        """New contact details from 1 April 2024
Write to <{EMAILV}> or {EMAIL}. Phone {PHONEV:GB}, from Ireland {PHONEV:IEi}.
Transfer: {IBANC:GB}. Card {CARD}. Admin panel: http://{IP}:8080/.
Not to be confused with customer number 07400123456-C, batch 020 79, ISSN 0028-0836, SIC code 47110,
order 1234 5678 9012 3456 7890 or the amount of £740,012,345. Account no. 07400123456. Dutch BSN of the account holder: {BSN}.""",
        """Membership application no. 2024/0721
Name: Oliver Brown, born 30/11/1981 in Leeds. Mobile: {PHONEV:GB}. Email: {EMAILV}.
Direct debit from {IBANC:GB} (mandate 2024-000721). Logged in from {IP} on 10/01/2024 at 14:02:33.
Fees 2021 2022 2023: £40.00; £40.00; £45.00. Postcode LS1 4DY. Membership card 0113 4960 (not a phone number).
Office phone: {PHONEV:GB}. Italian codice fiscale of the partner: {CF}.""",
    ],
}
