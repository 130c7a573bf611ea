# The FHIR side of check_fidelity.py: where a C-CDA fact may appear in a FHIR Bundle (codings
# with their system, quantities, dates at the source's precision or as the same instant,
# statuses) and which resources belong to an entry (by the entry's ids as identifiers).
# Standard tables only (HL7 code system OIDs and URIs, FHIR's required codes); knows nothing
# of phrgate's code. Stdlib only; never prints values.
import re
from datetime import datetime, timedelta, timezone


# Code system OIDs and their FHIR URIs (HL7 terminology, https://terminology.hl7.org).
CODE_SYSTEMS = {
    "2.16.840.1.113883.6.1": ["http://loinc.org"],
    "2.16.840.1.113883.6.96": ["http://snomed.info/sct"],
    "2.16.840.1.113883.6.88": ["http://www.nlm.nih.gov/research/umls/rxnorm"],
    "2.16.840.1.113883.12.292": ["http://hl7.org/fhir/sid/cvx"],
    "2.16.840.1.113883.6.90": ["http://hl7.org/fhir/sid/icd-10-cm"],
    "2.16.840.1.113883.6.103": ["http://hl7.org/fhir/sid/icd-9-cm"],
    "2.16.840.1.113883.6.104": ["http://hl7.org/fhir/sid/icd-9-cm"],
    "2.16.840.1.113883.6.12": ["http://www.ama-assn.org/go/cpt"],
    "2.16.840.1.113883.6.285": ["urn:oid:2.16.840.1.113883.6.285", "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"],
    "2.16.840.1.113883.6.69": ["http://hl7.org/fhir/sid/ndc"],
    "2.16.840.1.113883.6.8": ["http://unitsofmeasure.org"],
    "2.16.840.1.113883.6.238": ["urn:oid:2.16.840.1.113883.6.238"],
    "2.16.840.1.113883.3.26.1.1": ["http://ncimeta.nci.nih.gov", "http://ncithesaurus-stage.nci.nih.gov",
                                   "http://ncit.nci.nih.gov"],
    "2.16.840.1.113883.6.259": ["https://www.cdc.gov/nhsn/cdaportal/terminology/codesystem/hsloc.html",
                                "urn:oid:2.16.840.1.113883.6.259"],
    "2.16.840.1.113883.6.101": ["http://nucc.org/provider-taxonomy"],
    "2.16.840.1.113883.5.4": ["http://terminology.hl7.org/CodeSystem/v3-ActCode"],
    "2.16.840.1.113883.5.6": ["http://terminology.hl7.org/CodeSystem/v3-ActClass"],
    "2.16.840.1.113883.5.1": ["http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender"],
    "2.16.840.1.113883.5.2": ["http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"],
    "2.16.840.1.113883.5.83": ["http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"],
    "2.16.840.1.113883.5.111": ["http://terminology.hl7.org/CodeSystem/v3-RoleCode"],
    "2.16.840.1.113883.5.112": ["http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration"],
    "2.16.840.1.113883.5.8": ["http://terminology.hl7.org/CodeSystem/v3-ActReason"],
    "2.16.840.1.113883.5.1063": ["http://terminology.hl7.org/CodeSystem/v3-SeverityObservation"],
    "2.16.840.1.113883.5.25": ["http://terminology.hl7.org/CodeSystem/v3-Confidentiality"],
    "2.16.840.1.113883.5.14": ["http://terminology.hl7.org/CodeSystem/v3-ActStatus"],
    "2.16.840.1.113883.5.1008": ["http://terminology.hl7.org/CodeSystem/v3-NullFlavor"],
    "2.16.840.1.113883.5.1076": ["http://terminology.hl7.org/CodeSystem/v3-ReligiousAffiliation"],
    "2.16.840.1.113883.5.60": ["http://terminology.hl7.org/CodeSystem/v3-LanguageAbilityMode"],
    "2.16.840.1.113883.5.61": ["http://terminology.hl7.org/CodeSystem/v3-LanguageAbilityProficiency"],
    "2.16.840.1.113883.5.1119": ["http://terminology.hl7.org/CodeSystem/v3-AddressUse"],
    "2.16.840.1.113883.6.121": ["urn:ietf:bcp:47"],
    "2.16.840.1.113883.1.11.11526": ["urn:ietf:bcp:47"],
}

# SNOMED CT values that FHIR represents with its own required codes (AllergyIntolerance type,
# category, reaction severity; Condition and AllergyIntolerance clinical status): the fact is
# found as the Coding or as one of these codes.
FHIR_EQUIVALENT = {
    "255604002": {"mild"}, "6736007": {"moderate"}, "24484000": {"severe"},
    "371923003": {"mild", "moderate"}, "371924009": {"moderate", "severe"},
    "419199007": {"allergy"}, "416098002": {"allergy", "medication"}, "414285001": {"allergy", "food"},
    "419511003": {"medication"}, "418471000": {"food"}, "59037007": {"intolerance", "medication"},
    "235719002": {"intolerance", "food"}, "232347008": {"environment"}, "426232007": {"environment"},
    "420134006": {"allergy", "intolerance"}, "418038007": {"allergy", "intolerance"},
    "55561003": {"active"}, "73425007": {"inactive"}, "413322009": {"resolved"},
    "CRITH": {"high"}, "CRITL": {"low"}, "CRITU": {"unable-to-assess"},
}


# ---------------------------------------------------------------- FHIR side ----------------

def walk(value):
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


class Scope:
    """The resources an entry's facts are looked for in, with indexes over them."""

    def __init__(self, resources):
        self.resources = resources
        nodes = [n for r in resources for n in walk(r)]
        self.codings = [(n.get("system", ""), str(n["code"]).strip()) for n in nodes
                        if isinstance(n, dict) and isinstance(n.get("code"), (str, int))]
        self.quantities = [n for n in nodes if isinstance(n, dict) and isinstance(n.get("value"), (int, float))]
        self.strings = [n for n in nodes if isinstance(n, str)]
        self.words = set(self.strings)
        self.numbers = [n for n in nodes if isinstance(n, (int, float)) and not isinstance(n, bool)]
        self.statuses = set()
        for n in nodes:
            if isinstance(n, dict):
                if isinstance(n.get("status"), str):
                    self.statuses.add(n["status"])
                for key in ("clinicalStatus", "verificationStatus"):
                    for c in (n.get(key) or {}).get("coding", []) if isinstance(n.get(key), dict) else []:
                        self.statuses.add(str(c.get("code")))


def system_ok(system, oid):
    if not oid:
        return True
    known = CODE_SYSTEMS.get(oid)
    if system in ("urn:oid:" + oid,) or (known and system in known):
        return True
    return known is None  # an OID without a well-known URI: the code alone decides


def has_code(scope, code, oid):
    if any(c == code and system_ok(s, oid) for s, c in scope.codings):
        return True
    alt = FHIR_EQUIVALENT.get(code)
    return bool(alt) and any(c in alt for _, c in scope.codings) or bool(alt and alt & scope.words)


def to_number(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def has_quantity(scope, value, unit):
    v = to_number(value)
    if v is None:
        return False
    for qty in scope.quantities:
        if abs(float(qty["value"]) - v) > 1e-9 * max(1.0, abs(v)):
            continue
        if not unit or unit == "1" or unit in (qty.get("unit"), qty.get("code")):
            return True
    return False


TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$")


def ts_parts(ts):
    """(date prefix at the source precision, aware datetime or None) of an HL7 TS."""
    m = TS.match(ts or "")
    if not m:
        return None, None
    y, mo, d, h, mi, s, z = m.groups()
    prefix = y + (f"-{mo}" if mo else "") + (f"-{d}" if mo and d else "")
    instant = None
    if d and h and z:
        sign = 1 if z[0] == "+" else -1
        tz = timezone(sign * timedelta(hours=int(z[1:3]), minutes=int(z[3:5])))
        instant = datetime(int(y), int(mo), int(d), int(h), int(mi or 0), int(s or 0), tzinfo=tz)
    return prefix, instant


FHIR_INSTANT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def fhir_instant(s):
    m = FHIR_INSTANT.match(s)
    if not m:
        return None
    y, mo, d, h, mi, sec, z = m.groups()
    tz = timezone.utc if z == "Z" else timezone((1 if z[0] == "+" else -1) *
                                                timedelta(hours=int(z[1:3]), minutes=int(z[4:6])))
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec or 0), tzinfo=tz)


def has_date(scope, ts):
    prefix, instant = ts_parts(ts)
    if not prefix:
        return False
    for s in scope.strings:
        if s.startswith(prefix):
            return True
        if instant is not None and len(s) > 10 and fhir_instant(s) == instant:
            return True
    return False


# ---------------------------------------------------------------- alignment ----------------

def identifier_values(resource):
    vals = set()
    ids = resource.get("identifier", [])
    for i in ids if isinstance(ids, list) else [ids]:
        if isinstance(i, dict) and i.get("value"):
            vals.add(str(i["value"]))
    return vals


def id_wanted(root, ext):
    if ext:
        return {ext}
    return {root, "urn:oid:" + root, "urn:uuid:" + root.lower(), "urn:uuid:" + root}


class Bundle:
    def __init__(self, bundle):
        self.entries = [e for e in bundle.get("entry", []) if isinstance(e.get("resource"), dict)]
        self.resources = [e["resource"] for e in self.entries]
        self.by_ref = {}
        for e in self.entries:
            r = e["resource"]
            if e.get("fullUrl"):
                self.by_ref[e["fullUrl"]] = r
            if r.get("id"):
                self.by_ref[f"{r.get('resourceType')}/{r['id']}"] = r
        self.refs = {id(r): {n["reference"] for n in walk(r) if isinstance(n, dict) and isinstance(n.get("reference"), str)}
                     for r in self.resources}
        self.patients = Scope([r for r in self.resources if r.get("resourceType") == "Patient"])
        self.everything = Scope(self.resources)

    def scope_for(self, ids):
        """Resources carrying one of the entry's ids, plus those they reference or that
        reference them (one hop; Patient and Practitioner-like hubs excluded); None if none."""
        wanted = set()
        for root, ext in ids:
            wanted |= id_wanted(root, ext)
        hits = [r for r in self.resources if identifier_values(r) & wanted]
        if not hits:
            return None
        hubs = {"Patient", "Practitioner", "PractitionerRole", "Organization", "Location", "Encounter",
                "Composition", "DocumentReference", "Provenance", "Device"}
        scope = {id(r): r for r in hits}
        keys = {k for k, r in self.by_ref.items() if any(r is h for h in hits)}
        for h in hits:
            for ref in self.refs[id(h)]:
                t = self.by_ref.get(ref)
                if t is not None and t.get("resourceType") not in hubs:
                    scope[id(t)] = t
        for r in self.resources:
            if r.get("resourceType") not in hubs and self.refs[id(r)] & keys:
                scope[id(r)] = r
        return Scope(list(scope.values()))
