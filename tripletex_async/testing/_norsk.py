"""Norwegian vocabulary and number formats for the generated portfolio.

Names come as ``(display, slug)`` pairs so that e-mail addresses and web sites can be
built without transliterating æ, ø and å per record (the generator's hot path).
Organisation, bank account, KID and synthetic national identity numbers carry valid
check digits, so validators in the code under test accept them.
"""

from __future__ import annotations

__all__ = [
    "ACCOUNTS",
    "ACTIVITIES",
    "CITIES",
    "COMPANY_FORMS",
    "COUNTRIES",
    "CURRENCIES",
    "DEPARTMENTS",
    "FIRST_NAMES",
    "FREEMAIL",
    "LAST_NAMES",
    "PLACES",
    "POSTING_TEXTS",
    "PRODUCTS",
    "PROJECTS",
    "STREETS",
    "TRADES",
    "VAT_TYPES",
    "bank_account",
    "kid",
    "national_id",
    "organization_number",
]

#: First part of a company name.
PLACES: tuple[tuple[str, str], ...] = (
    ("Fjellheim", "fjellheim"), ("Nordlys", "nordlys"), ("Bjørkely", "bjorkely"),
    ("Solberg", "solberg"), ("Havbris", "havbris"), ("Vestland", "vestland"),
    ("Østby", "ostby"), ("Fjordgløtt", "fjordglott"), ("Skogly", "skogly"),
    ("Elvebakken", "elvebakken"), ("Granli", "granli"), ("Lien", "lien"),
    ("Haugen", "haugen"), ("Bergtun", "bergtun"), ("Dalsbø", "dalsbo"),
    ("Strandli", "strandli"), ("Åsen", "asen"), ("Bakkehaug", "bakkehaug"),
    ("Moen", "moen"), ("Trollheim", "trollheim"), ("Nordkapp", "nordkapp"),
    ("Sjøsiden", "sjosiden"), ("Furulund", "furulund"), ("Lyngvær", "lyngvaer"),
    ("Kvitfjell", "kvitfjell"), ("Høgset", "hogset"), ("Rørvik", "rorvik"),
    ("Sandnes", "sandnes"), ("Fossli", "fossli"), ("Engebråten", "engebraten"),
    ("Tindevegen", "tindevegen"), ("Breivik", "breivik"), ("Årdal", "ardal"),
    ("Midtbø", "midtbo"), ("Sørlie", "sorlie"), ("Vikane", "vikane"),
    ("Holmen", "holmen"), ("Løkken", "lokken"), ("Grønland", "gronland"),
    ("Bølgen", "bolgen"), ("Stølen", "stolen"), ("Kjærnes", "kjaernes"),
)  # fmt: skip

#: Second part of a company name: the trade.
TRADES: tuple[tuple[str, str], ...] = (
    ("Bygg", "bygg"), ("Rør", "ror"), ("Elektro", "elektro"), ("Regnskap", "regnskap"),
    ("Transport", "transport"), ("Maskin", "maskin"), ("Eiendom", "eiendom"),
    ("Handel", "handel"), ("Consult", "consult"), ("Snekkeri", "snekkeri"),
    ("Bakeri", "bakeri"), ("Fiskeri", "fiskeri"), ("Gårdsdrift", "gardsdrift"),
    ("Frisør", "frisor"), ("Tannklinikk", "tannklinikk"), ("Data", "data"),
    ("Marine", "marine"), ("Maling", "maling"), ("Taktekking", "taktekking"),
    ("Landskap", "landskap"), ("Regnskapsservice", "regnskapsservice"),
    ("Bilverksted", "bilverksted"), ("Kafé", "kafe"), ("Blomster", "blomster"),
    ("Sport", "sport"), ("Reklame", "reklame"), ("Arkitekter", "arkitekter"),
    ("Økonomi", "okonomi"), ("Ventilasjon", "ventilasjon"), ("Grøntanlegg", "grontanlegg"),
)  # fmt: skip

#: (suffix, Client/Company ``type`` enum value); AS dominates as in the register.
COMPANY_FORMS: tuple[tuple[str, str], ...] = (
    ("AS", "AS"), ("AS", "AS"), ("AS", "AS"), ("AS", "AS"), ("AS", "AS"),
    ("ENK", "ENK"), ("ANS", "ANS"), ("DA", "DA"), ("SA", "SA"),
)  # fmt: skip

FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("Ola", "ola"), ("Kari", "kari"), ("Ingrid", "ingrid"), ("Lars", "lars"),
    ("Håkon", "hakon"), ("Sigrid", "sigrid"), ("Øystein", "oystein"), ("Åse", "ase"),
    ("Bjørn", "bjorn"), ("Marit", "marit"), ("Nils", "nils"), ("Solveig", "solveig"),
    ("Kjetil", "kjetil"), ("Tone", "tone"), ("Espen", "espen"), ("Ragnhild", "ragnhild"),
    ("Jørgen", "jorgen"), ("Astrid", "astrid"), ("Trond", "trond"), ("Liv", "liv"),
    ("Synnøve", "synnove"), ("Geir", "geir"), ("Hege", "hege"), ("Stian", "stian"),
    ("Mari", "mari"), ("Even", "even"), ("Guro", "guro"), ("Sindre", "sindre"),
    ("Eirik", "eirik"), ("Tiril", "tiril"), ("Magnus", "magnus"), ("Frøydis", "froydis"),
)  # fmt: skip

LAST_NAMES: tuple[tuple[str, str], ...] = (
    ("Hansen", "hansen"), ("Johansen", "johansen"), ("Olsen", "olsen"),
    ("Larsen", "larsen"), ("Andersen", "andersen"), ("Pedersen", "pedersen"),
    ("Nilsen", "nilsen"), ("Kristiansen", "kristiansen"), ("Jensen", "jensen"),
    ("Karlsen", "karlsen"), ("Berg", "berg"), ("Haugen", "haugen"), ("Hagen", "hagen"),
    ("Dahl", "dahl"), ("Jørgensen", "jorgensen"), ("Halvorsen", "halvorsen"),
    ("Lund", "lund"), ("Sørensen", "sorensen"), ("Strand", "strand"),
    ("Bakken", "bakken"), ("Solberg", "solberg"), ("Ødegård", "odegard"), ("Aas", "aas"),
    ("Sæther", "saether"), ("Brække", "braekke"), ("Løvås", "lovas"), ("Fjeld", "fjeld"),
    ("Holm", "holm"), ("Myklebust", "myklebust"), ("Våge", "vage"),
)  # fmt: skip

#: Where private people have their e-mail.
FREEMAIL = ("gmail.com", "online.no", "hotmail.com", "outlook.com", "icloud.com")

#: (postal code, city).
CITIES: tuple[tuple[str, str], ...] = (
    ("0150", "Oslo"), ("0568", "Oslo"), ("5003", "Bergen"), ("7010", "Trondheim"),
    ("4006", "Stavanger"), ("9008", "Tromsø"), ("3015", "Drammen"), ("1530", "Moss"),
    ("2317", "Hamar"), ("6003", "Ålesund"), ("8006", "Bodø"), ("4610", "Kristiansand"),
    ("2609", "Lillehammer"), ("3510", "Hønefoss"), ("1606", "Fredrikstad"),
    ("3110", "Tønsberg"), ("6800", "Førde"), ("9600", "Hammerfest"), ("8300", "Svolvær"),
    ("5700", "Voss"), ("2815", "Gjøvik"), ("1337", "Sandvika"), ("4307", "Sandnes"),
    ("7500", "Stjørdal"), ("6413", "Molde"), ("3920", "Porsgrunn"), ("2000", "Lillestrøm"),
)  # fmt: skip

STREETS: tuple[str, ...] = (
    "Storgata", "Kirkegata", "Fjordveien", "Bjørkeveien", "Skolegata", "Industriveien",
    "Havnegata", "Solbakken", "Granåsen", "Øvre Slottsgate", "Strandveien", "Løkkeveien",
    "Sjøgata", "Kongens gate", "Dronningens gate", "Torggata", "Bryggen", "Nedre Vollgate",
    "Åsveien", "Myrveien", "Furuveien", "Lindealléen", "Gamle Drammensvei", "Stasjonsveien",
)  # fmt: skip

#: (code, description, factor): index 0 is the company currency.
CURRENCIES: tuple[tuple[str, str, int], ...] = (
    ("NOK", "Norske kroner", 1), ("EUR", "Euro", 1), ("USD", "Amerikanske dollar", 1),
    ("SEK", "Svenske kroner", 100), ("DKK", "Danske kroner", 100),
    ("GBP", "Britiske pund", 1), ("CHF", "Sveitsiske franc", 1),
    ("JPY", "Japanske yen", 100), ("PLN", "Polske zloty", 100),
    ("ISK", "Islandske kroner", 100), ("CAD", "Kanadiske dollar", 1),
    ("AUD", "Australske dollar", 1), ("CNY", "Kinesiske yuan", 100),
)  # fmt: skip

#: (name, alpha-2, alpha-3, numeric): index 0 is Norway.
COUNTRIES: tuple[tuple[str, str, str, str], ...] = (
    ("Norge", "NO", "NOR", "578"), ("Sverige", "SE", "SWE", "752"),
    ("Danmark", "DK", "DNK", "208"), ("Finland", "FI", "FIN", "246"),
    ("Tyskland", "DE", "DEU", "276"), ("Storbritannia", "GB", "GBR", "826"),
    ("Island", "IS", "ISL", "352"), ("Polen", "PL", "POL", "616"),
    ("Nederland", "NL", "NLD", "528"), ("Frankrike", "FR", "FRA", "250"),
    ("Spania", "ES", "ESP", "724"), ("USA", "US", "USA", "840"),
    ("Litauen", "LT", "LTU", "440"), ("Italia", "IT", "ITA", "380"),
)  # fmt: skip

#: (number, name, percentage, deduction): index 0 is high-rate output VAT, index 1 the
#: matching input VAT; the order is what records refer to by index.
VAT_TYPES: tuple[tuple[str, str, float, float], ...] = (
    ("3", "Utgående avgift, høy sats", 25.0, 0.0),
    ("1", "Fradrag inngående avgift, høy sats", 25.0, 100.0),
    ("0", "Ingen avgiftsbehandling (anskaffelser)", 0.0, 0.0),
    ("31", "Utgående avgift, middels sats", 15.0, 0.0),
    ("33", "Utgående avgift, lav sats", 12.0, 0.0),
    ("11", "Fradrag inngående avgift, middels sats", 15.0, 100.0),
    ("13", "Fradrag inngående avgift, lav sats", 12.0, 100.0),
    ("5", "Ingen utgående avgift (innenfor mva-loven)", 0.0, 0.0),
    ("6", "Ingen utgående avgift (utenfor mva-loven)", 0.0, 0.0),
    ("52", "Avgiftsfri utførsel av varer og tjenester", 0.0, 0.0),
    ("14", "Fradrag inngående avgift, høy sats, kjøp av tjenester fra utlandet", 25.0, 100.0),
    ("81", "Innførsel av varer, med fradrag for inngående avgift, høy sats", 25.0, 100.0),
    ("86", "Kjøp av tjenester fra utlandet, med fradrag, høy sats", 25.0, 100.0),
    ("7", "Ingen avgiftsbehandling (inntekter)", 0.0, 0.0),
)

#: (number, name, Account ``type``): indices 0-3 are referred to by records.
ACCOUNTS: tuple[tuple[int, str, str], ...] = (
    (1500, "Kundefordringer", "ASSETS"),
    (1920, "Bankinnskudd", "ASSETS"),
    (2400, "Leverandørgjeld", "LIABILITIES"),
    (3000, "Salgsinntekt, avgiftspliktig", "OPERATING_REVENUES"),
    (4000, "Innkjøp av råvarer og halvfabrikata", "OPERATING_EXPENSES"),
    (5000, "Lønn til ansatte", "OPERATING_EXPENSES"),
    (2700, "Utgående merverdiavgift", "LIABILITIES"),
    (2710, "Inngående merverdiavgift", "LIABILITIES"),
    (6300, "Leie lokale", "OPERATING_EXPENSES"),
    (6800, "Kontorrekvisita", "OPERATING_EXPENSES"),
    (7140, "Reisekostnad, ikke oppgavepliktig", "OPERATING_EXPENSES"),
    (1900, "Kontanter", "ASSETS"),
    (1200, "Maskiner og anlegg", "ASSETS"),
    (1460, "Innkjøpte varer for videresalg", "ASSETS"),
    (2000, "Aksjekapital", "EQUITY"),
    (2050, "Annen egenkapital", "EQUITY"),
    (2600, "Forskuddstrekk", "LIABILITIES"),
    (2770, "Skyldig arbeidsgiveravgift", "LIABILITIES"),
    (2940, "Skyldige feriepenger", "LIABILITIES"),
    (3100, "Salgsinntekt, avgiftsfri", "OPERATING_REVENUES"),
    (3200, "Salgsinntekt, utenfor avgiftsområdet", "OPERATING_REVENUES"),
    (4300, "Innkjøp av varer for videresalg", "OPERATING_EXPENSES"),
    (5400, "Arbeidsgiveravgift", "OPERATING_EXPENSES"),
    (6000, "Avskrivning på bygninger og anlegg", "OPERATING_EXPENSES"),
    (6340, "Lys, varme", "OPERATING_EXPENSES"),
    (6540, "Inventar", "OPERATING_EXPENSES"),
    (6700, "Revisjons- og regnskapshonorar", "OPERATING_EXPENSES"),
    (6900, "Telefon", "OPERATING_EXPENSES"),
    (7000, "Drivstoff", "OPERATING_EXPENSES"),
    (7320, "Reklamekostnad", "OPERATING_EXPENSES"),
    (7500, "Forsikringspremie", "OPERATING_EXPENSES"),
    (7770, "Bank- og kortgebyrer", "OPERATING_EXPENSES"),
    (8040, "Renteinntekt, skattefri", "INVESTMENT_INCOME"),
    (8150, "Annen rentekostnad", "COST_OF_CAPITAL"),
    (8300, "Betalbar skatt", "TAX_ON_ORDINARY_ACTIVITIES"),
    (8800, "Årsresultat", "ANNUAL_RESULT"),
)

DEPARTMENTS: tuple[str, ...] = (
    "Hovedavdeling", "Salg", "Regnskap", "Verksted", "Prosjekt", "Administrasjon",
    "Lager", "Service", "Marked", "IT", "Innkjøp", "Kundesenter",
)  # fmt: skip

#: (name, ``activityType``, chargeable).
ACTIVITIES: tuple[tuple[str, str, bool], ...] = (
    ("Prosjektledelse", "PROJECT_GENERAL_ACTIVITY", True),
    ("Montering", "PROJECT_GENERAL_ACTIVITY", True),
    ("Rådgivning", "PROJECT_GENERAL_ACTIVITY", True),
    ("Reisetid", "PROJECT_GENERAL_ACTIVITY", False),
    ("Møter", "GENERAL_ACTIVITY", False),
    ("Administrasjon", "GENERAL_ACTIVITY", False),
    ("Kurs og opplæring", "GENERAL_ACTIVITY", False),
    ("Befaring", "PROJECT_SPECIFIC_ACTIVITY", True),
    ("Dokumentasjon", "PROJECT_SPECIFIC_ACTIVITY", True),
    ("Feilretting", "TASK", True),
    ("Internt arbeid", "GENERAL_ACTIVITY", False),
    ("Service og vedlikehold", "PROJECT_GENERAL_ACTIVITY", True),
)

#: (name, unit price in NOK excluding VAT, index into VAT_TYPES): food is 15 %.
PRODUCTS: tuple[tuple[str, float, int], ...] = (
    ("Konsulenttime", 1250.0, 0), ("Timepris montør", 895.0, 0), ("Kaffe 500 g", 89.9, 3),
    ("Rørdeler sett", 349.0, 0), ("Gipsplate 12,5 mm", 129.0, 0),
    ("Maling hvit 10 l", 1490.0, 0), ("Skruer 4x40 (200 stk)", 119.0, 0),
    ("Årslisens programvare", 12000.0, 0), ("Servicebesøk", 1750.0, 0), ("Frakt", 250.0, 0),
    ("Kjøregodtgjørelse", 4.5, 2), ("Takstein", 32.5, 0), ("Isolasjon 200 mm", 599.0, 0),
    ("Vindusvask", 450.0, 0), ("Klipp og føn", 695.0, 0), ("Brød, grovt", 54.0, 3),
    ("Blomsterbukett", 399.0, 0), ("Regnskapsførsel, måned", 3500.0, 0),
    ("Årsoppgjør", 15000.0, 0), ("Dekkskift", 550.0, 0), ("Fiskesuppe 1 l", 129.0, 3),
)  # fmt: skip

PROJECTS: tuple[str, ...] = (
    "Rehabilitering bad", "Nytt tak låve", "Årsoppgjør", "Nettbutikk", "Tilbygg garasje",
    "Oppgradering ventilasjon", "Utskifting av vinduer", "Ny kontorløsning",
    "Vedlikeholdsavtale", "Fasademaling", "Drenering", "Kjøkkenrenovering",
    "Flytting av lager", "Migrering til sky", "Hageanlegg", "Brannsikring",
)  # fmt: skip

POSTING_TEXTS: tuple[str, ...] = (
    "Salg av varer", "Innbetaling fra kunde", "Husleie", "Lønn", "Strøm", "Drivstoff",
    "Kontorrekvisita", "Betaling leverandør", "Bankgebyr", "Forsikring", "Telefoni",
    "Reise og opphold", "Reklame", "Varekjøp", "Avskrivning", "Feriepenger",
)  # fmt: skip

#: Check-digit weights, last digit first (the loops below peel digits off the end).
_ORG_WEIGHTS = (2, 3, 4, 5, 6, 7, 2, 3)
_ACCOUNT_WEIGHTS = (2, 3, 4, 5, 6, 7, 2, 3, 4, 5)
_FNR_K1 = (2, 5, 4, 9, 8, 1, 6, 7, 3)
_FNR_K2 = (2, 3, 4, 5, 6, 7, 2, 3, 4, 5)


def _mod11(number: int, weights: tuple[int, ...]) -> int | None:
    """The MOD11 check digit of ``number``, or None when none exists (remainder 1).

    Integer arithmetic rather than a string walk: this runs for most generated parties.
    """
    total = 0
    for weight in weights:
        number, digit = divmod(number, 10)
        total += digit * weight
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def organization_number(n: int) -> str:
    """A valid 9-digit organisation number derived from ``n`` (starts with 8 or 9)."""
    base = 80_000_000 + (n * 7_919) % 19_999_999
    while (check := _mod11(base, _ORG_WEIGHTS)) is None:
        base += 1
    return f"{base}{check}"


def bank_account(n: int) -> str:
    """A valid 11-digit Norwegian bank account number derived from ``n``."""
    base = 1_503_000_000 + (n * 104_729) % 1_000_000_000
    while (check := _mod11(base, _ACCOUNT_WEIGHTS)) is None:
        base += 1
    return f"{base}{check}"


def kid(n: int) -> str:
    """A KID with a MOD10 (Luhn) check digit, as Norwegian invoices carry."""
    digits = f"{n:09d}"
    total = 0
    for i, d in enumerate(reversed(digits)):
        v = int(d) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return f"{digits}{(10 - total % 10) % 10}"


def national_id(day: int, month: int, year: int, serial: int) -> str:
    """A synthetic fødselsnummer: month + 80, Skatteetaten's mark for test persons.

    Such numbers never belong to a real person, yet carry valid check digits.
    """
    serial %= 500
    while True:
        head = ((day * 100 + month + 80) * 100 + year % 100) * 1000 + serial
        k1 = _mod11(head, _FNR_K1)
        k2 = _mod11(head * 10 + k1, _FNR_K2) if k1 is not None else None
        if k1 is not None and k2 is not None:
            return f"{head:09d}{k1}{k2}"
        serial = (serial + 1) % 500
