#!/usr/bin/env python3
"""Regenerates countries.json and phone-codes.json from Unicode CLDR.

Run from the repository root (needs python3 >= 3.8, npm and the npm registry):

    python3 data/reference/generate.py

The CLDR JSON packages are fetched with `npm pack` into a temporary directory
that is deleted afterwards; nothing of them is committed.

Sources (pinned below):
- cldr-core 48.2.0 (CLDR 48, Unicode License v3):
  - supplemental/codeMappings.json: alpha-3 (`cca3`) and numeric (`ccn3`).
  - supplemental/territoryContainment.json: the groupings to leave out.
- cldr-localenames-full 48.2.0 (CLDR 48, Unicode License v3):
  main/en/territories.json: English names.
- cldr-core 33.0.0 (CLDR 33, the Unicode Data Files and Software License, the
  permissive predecessor of Unicode License v3): supplemental/
  telephoneCodeData.json, the E.164 country calling codes. CLDR dropped that
  file in release 34, so 33 is its last published version.

Which codes: the two-letter CLDR regions that have an English name, minus
- groupings and macro-regions (every region that contains others in
  territoryContainment.json: EU, EZ, UN, QO; numeric ones like 001/150 are not
  two letters),
- the ISO 3166-1 user-assigned codes (AA, QM-QZ, XA-XZ incl. XK, ZZ Unknown),
- codes CLDR gives no ISO numeric code: the exceptionally reserved AC, CP, CQ,
  DG, EA, IC, TA.
That is exactly the 249 officially assigned ISO 3166-1 alpha-2 codes.

Names (CLDR has no official names; `name.official` is derived):
- `name.official` is CLDR's default English name ("Chile", "Côte d’Ivoire",
  "Hong Kong SAR China").
- `name.common` is the same name, except where CLDR's alternative form is the
  name people use and the default is a disambiguated or formal one: the
  COMMON_ALT codes below take CLDR's `-alt-short` or `-alt-variant` form
  ("Hong Kong", "Ivory Coast"). Other alternatives are left alone on purpose:
  abbreviations (UK, US), truncations (Bosnia), former names where the default
  is the current one (Swaziland, Turkey, Czech Republic, East Timor) and
  bilingual forms (Aotearoa New Zealand, Falkland Islands (Islas Malvinas)).
- `flag` is the pair of Unicode regional indicator symbols of `cca2`.

Calling codes: CLDR's first code of the region ("+970" of Palestine's
970/972). Where CLDR is coarser than the numbering plans, OVERRIDES wins:
the NANP members other than US/CA/UM carry their area code (CLDR only has
"+1"; area codes from the North American Numbering Plan Administration), and
Pitcairn is "+64" as in ITU-T E.164 (CLDR 33 gives Inmarsat's "+870").
A country without a code gets no `idd` and no phone-codes entry (BV, HM).

industries.json and cities.json are edited by hand.
"""
import json
import pathlib
import subprocess
import tarfile
import tempfile

HERE = pathlib.Path(__file__).parent

NAMES_PKG = "cldr-localenames-full@48.2.0"
CORE_PKG = "cldr-core@48.2.0"
# The last cldr-core with supplemental/telephoneCodeData.json.
PHONE_PKG = "cldr-core@33.0.0"

# Codes whose common name is CLDR's alternative form, and which one.
COMMON_ALT = {
    "CC": "short",  # Cocos (Keeling) Islands -> Cocos Islands
    "CD": "variant",  # Congo - Kinshasa -> Congo (DRC)
    "CG": "variant",  # Congo - Brazzaville -> Congo (Republic)
    "CI": "variant",  # Côte d’Ivoire -> Ivory Coast
    "HK": "short",  # Hong Kong SAR China -> Hong Kong
    "MM": "short",  # Myanmar (Burma) -> Myanmar
    "MO": "short",  # Macao SAR China -> Macao
    "PN": "short",  # Pitcairn Islands -> Pitcairn
    "PS": "short",  # Palestinian Territories -> Palestine
}

# Calling codes finer than CLDR's (see the module docstring).
OVERRIDES = {
    "AG": "+1268", "AI": "+1264", "AS": "+1684", "BB": "+1246", "BM": "+1441", "BS": "+1242",
    "DM": "+1767", "DO": "+1809", "GD": "+1473", "GU": "+1671", "JM": "+1876", "KN": "+1869",
    "KY": "+1345", "LC": "+1758", "MP": "+1670", "MS": "+1664", "PR": "+1787", "SX": "+1721",
    "TC": "+1649", "TT": "+1868", "VC": "+1784", "VG": "+1284", "VI": "+1340",
    "PN": "+64",
}


def user_assigned(code):
    """ISO 3166-1 user-assigned alpha-2 codes: AA, QM-QZ, XA-XZ, ZZ."""
    return code in ("AA", "ZZ") or code[0] == "X" or (code[0] == "Q" and code[1] >= "M")


def fetch(spec, members, into):
    """`npm pack`s `spec` into `into` and returns the named members, parsed."""
    out = subprocess.run(
        ["npm", "pack", "--silent", spec], cwd=into, check=True, capture_output=True, text=True
    )
    tgz = into / out.stdout.strip().splitlines()[-1]
    with tarfile.open(tgz) as tar:
        return [json.load(tar.extractfile("package/" + m)) for m in members]


def flag(cca2):
    return "".join(chr(0x1F1E6 + ord(ch) - ord("A")) for ch in cca2)


def write(path, items):
    """One JSON object per line, so diffs show one entry per change."""
    lines = ",\n".join(json.dumps(i, ensure_ascii=False) for i in items)
    path.write_text("[\n" + lines + "\n]\n")


def main():
    with tempfile.TemporaryDirectory(prefix="cldr-") as tmp:
        tmp = pathlib.Path(tmp)
        (names,) = fetch(NAMES_PKG, ["main/en/territories.json"], tmp)
        mappings, containment = fetch(
            CORE_PKG,
            ["supplemental/codeMappings.json", "supplemental/territoryContainment.json"],
            tmp,
        )
        (phones_data,) = fetch(PHONE_PKG, ["supplemental/telephoneCodeData.json"], tmp)
    version = mappings["supplemental"]["version"]["_cldrVersion"]
    names = names["main"]["en"]["localeDisplayNames"]["territories"]
    codes = mappings["supplemental"]["codeMappings"]
    groups = {k.split("-")[0] for k in containment["supplemental"]["territoryContainment"]}
    calling = phones_data["supplemental"]["telephoneCodeData"]

    countries, phones, no_code = [], [], []
    for cca2 in sorted(names):
        if len(cca2) != 2 or not cca2.isalpha() or cca2 in groups or user_assigned(cca2):
            continue
        m = codes.get(cca2, {})
        if "_numeric" not in m:
            continue
        official = names[cca2]
        alt = COMMON_ALT.get(cca2)
        common = names[f"{cca2}-alt-{alt}"] if alt else official
        country = {
            "cca2": cca2,
            "cca3": m["_alpha3"],
            "ccn3": m["_numeric"],
            "name": {"common": common, "official": official},
            "flag": flag(cca2),
        }
        cldr_codes = calling.get(cca2, [])
        code = OVERRIDES.get(cca2) or (
            "+" + cldr_codes[0]["telephoneCountryCode"] if cldr_codes else None
        )
        if code:
            country["idd"] = {"root": code[:2], "suffixes": [code[2:]] if len(code) > 2 else []}
            phones.append(
                {"cca2": cca2, "cca3": country["cca3"], "name": common, "code": code, "flag": country["flag"]}
            )
        else:
            no_code.append(cca2)
        countries.append(country)
    countries.sort(key=lambda c: c["cca3"])
    phones.sort(key=lambda p: p["cca3"])
    write(HERE / "countries.json", countries)
    write(HERE / "phone-codes.json", phones)
    print(f"CLDR {version}: {len(countries)} countries, {len(phones)} phone codes; no calling code: {no_code}")


if __name__ == "__main__":
    main()
