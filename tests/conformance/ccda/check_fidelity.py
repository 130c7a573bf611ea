#!/usr/bin/env python3
# Fidelity check of `phrgate convert` over the C-CDA corpus: reads every full document (root
# {urn:hl7-org:v3}ClinicalDocument) with xml.etree, independently of phrgate's code, lists its
# facts (patient demographics; each section entry's codes with their systems, translations,
# values with units, reference ranges, dates, statuses) and looks for each in the document's
# FHIR Bundle. Prints recall per fact kind, per section and per corpus source; CTest
# (ccda_fidelity) fails below --min-recall. Stdlib only; never edits the corpus; source
# values go only into OUT_DIR files, never into the CTest log.
import argparse
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # never leave __pycache__ in the source tree
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hl7v2"))
from phrgate_output import convert_file  # noqa: E402  (reads `phrgate convert` output)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ccda_report import convertible_input  # noqa: E402  (works around convert's sniff window)
from fhir_matching import (Bundle, has_code, has_date, has_quantity, to_number, ts_parts,  # noqa: E402
                           walk)

V3 = "urn:hl7-org:v3"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def q(local):
    return f"{{{V3}}}{local}"


# C-CDA section LOINC codes -> short names (C-CDA R2.1 section templates).
SECTIONS = {
    "48765-2": "allergies", "10160-0": "medications", "11450-4": "problems", "47519-4": "procedures",
    "30954-2": "results", "8716-3": "vital-signs", "29762-2": "social-history", "46240-8": "encounters",
    "11369-6": "immunizations", "46264-8": "medical-equipment", "42348-3": "advance-directives",
    "10157-6": "family-history", "18776-5": "plan-of-treatment", "48768-6": "payers",
    "47420-5": "functional-status", "10190-7": "mental-status", "61144-2": "goals",
    "75310-3": "health-concerns", "10164-2": "history-of-present-illness", "11348-0": "past-medical-history",
    "29545-1": "physical-exam", "51848-0": "assessment", "51847-2": "assessment-and-plan",
    "46239-0": "reason-for-visit", "29299-5": "reason-for-visit", "10154-3": "chief-complaint",
    "11535-2": "hospital-discharge-diagnosis", "46241-6": "admission-diagnosis",
    "10183-2": "discharge-medications", "42346-7": "admission-medications", "29549-3": "medications-administered",
    "10187-3": "review-of-systems", "8648-8": "hospital-course", "18748-4": "diagnostic-imaging",
    "55109-3": "complications", "10219-4": "preoperative-diagnosis", "10218-6": "postoperative-diagnosis",
    "59768-2": "procedure-indications", "11493-4": "hospital-consultations", "57828-6": "prescriptions",
    "69730-0": "instructions", "85847-2": "care-team", "29554-3": "procedure-description",
    "59769-0": "postprocedure-diagnosis", "18841-7": "hospital-consultations", "10153-2": "past-medical-history",
    "10155-0": "allergies", "10157-2": "family-history", "11384-5": "physical-exam", "8709-8": "physical-exam",
    "8710-6": "physical-exam", "10223-2": "physical-exam", "11502-2": "results", "11496-7": "assessment",
    "61146-7": "goals", "62387-6": "interventions", "11383-7": "health-status-outcomes",
    "42349-1": "reason-for-referral", "121181": "dicom-object-catalog", "121109": "procedure-indications",
    "11329-0": "history-general", "121070": "findings", "121072": "impressions",
    "42347-5": "admission-diagnosis", "C-CDAV2-DDN": "hospital-discharge-diagnosis",
    "75311-1": "discharge-medications", "8653-8": "discharge-instructions", "10184-0": "physical-exam",
    "10210-3": "physical-exam", "59774-0": "anesthesia", "10216-0": "operative-note-fluids",
    "10223-6": "surgical-procedure", "59772-4": "planned-procedure", "59775-7": "procedure-disposition",
    "59770-8": "procedure-blood-loss", "59776-5": "procedure-findings", "59771-6": "procedure-implants",
    "59773-2": "procedure-specimens", "11537-8": "surgical-drains", "61149-1": "objective-data",
    "61150-9": "subjective-data", "11488-4": "consultation-notes",
}

# C-CDA statusCode -> FHIR status values that carry the same meaning (any resource status,
# clinicalStatus or verificationStatus in the entry's resources).
STATUS_EQUIVALENTS = {
    "completed": {"completed", "final", "finished", "amended", "corrected", "resolved", "inactive", "stopped",
                  "appended"},
    "active": {"active", "in-progress", "preliminary", "registered", "intended", "accepted", "requested",
               "planned", "arrived", "triaged"},
    "aborted": {"stopped", "not-done", "cancelled", "entered-in-error", "revoked", "abandoned"},
    "cancelled": {"cancelled", "revoked", "not-done", "entered-in-error"},
    "suspended": {"on-hold", "suspended"},
    "held": {"on-hold", "draft"},
    "new": {"draft", "proposed", "planned", "registered", "preliminary"},
    "nullified": {"entered-in-error"},
    "obsolete": {"entered-in-error", "stopped", "cancelled"},
}
CONCERN_TEMPLATES = {"2.16.840.1.113883.10.20.22.4.3", "2.16.840.1.113883.10.20.22.4.30",
                     "2.16.840.1.113883.10.20.22.4.136"}
CLINICAL_STATEMENTS = {"act", "observation", "procedure", "substanceAdministration", "supply", "encounter",
                       "organizer", "regionOfInterest", "observationMedia"}
# Subtrees that hold people, organizations, narrative or references, not the entry's facts.
SKIPPED = {"author", "performer", "informant", "reference", "text", "originalText", "templateId", "id",
           "precondition", "sdtc:", "responsibleParty", "informationRecipient"}
QUALIFIERS = {"interpretationCode", "routeCode", "targetSiteCode", "methodCode", "approachSiteCode"}
NOT_OVERALL = ("qualifier", "template-code")
# Codes whose meaning a FHIR resource carries in its type or structure, not as a Coding (the
# concern act's CONC, the allergy observation's ASSERTION, SEV and the status observations'
# code): reported as "template-code", not in overall.
STRUCTURAL = {("2.16.840.1.113883.5.4", "ASSERTION"), ("2.16.840.1.113883.5.4", "SEV"),
              ("2.16.840.1.113883.6.1", "33999-4"), ("2.16.840.1.113883.5.4", "COMMENT")}
STRUCTURAL_SYSTEMS = {"2.16.840.1.113883.5.6"}  # ActClass (CONC, ...)
GENDER = {"M": {"male"}, "F": {"female"}, "UN": {"other", "unknown"}, "U": {"unknown"}}


def local(tag):
    return tag.split("}", 1)[1] if tag.startswith(f"{{{V3}}}") else "sdtc:" + tag.rsplit("}", 1)[-1]


def clean(s):
    return re.sub(r"\s+", " ", s or "").strip()


# ---------------------------------------------------------------- C-CDA side ---------------

class Fact:
    def __init__(self, section, kind, value, check):
        self.section, self.kind, self.value, self.check = section, kind, value, check


def code_facts(el, section, kind, out):
    code, oid = el.get("code"), el.get("codeSystem")
    if kind == "code" and (oid in STRUCTURAL_SYSTEMS or (oid, code) in STRUCTURAL):
        kind = "template-code"
    if code and not el.get("nullFlavor"):
        out.append(Fact(section, kind, f"{oid}|{code}", lambda sc, c=code.strip(), o=oid: has_code(sc, c, o)))
    for t in el.findall(q("translation")):
        tc, to = t.get("code"), t.get("codeSystem")
        if tc:
            out.append(Fact(section, "translation", f"{to}|{tc}", lambda sc, c=tc.strip(), o=to: has_code(sc, c, o)))


def date_facts(el, section, out):
    if el.get("value"):
        out.append(Fact(section, "date", el.get("value"), lambda sc, v=el.get("value"): has_date(sc, v)))
    for part in ("low", "high", "center"):
        p = el.find(q(part))
        if p is not None and p.get("value"):
            out.append(Fact(section, "date", p.get("value"), lambda sc, v=p.get("value"): has_date(sc, v)))


def is_concern(el):
    return any(t.get("root") in CONCERN_TEMPLATES for t in el.findall(q("templateId")))


def statement_facts(el, section, out, status_here):
    """Facts of one clinical statement and everything nested in it."""
    status = el.find(q("statusCode"))
    if status_here and status is not None and status.get("code") in STATUS_EQUIVALENTS and not is_concern(el):
        ok = STATUS_EQUIVALENTS[status.get("code")]
        out.append(Fact(section, "status", status.get("code"), lambda sc, ok=ok: bool(sc.statuses & ok)))
    organizer = local(el.tag) == "organizer"
    walk_children(el, section, out, organizer)


def walk_children(el, section, out, organizer=False):
    for c in el:
        if not isinstance(c.tag, str):
            continue
        name = local(c.tag)
        if name in SKIPPED or name.startswith("sdtc:"):
            continue
        if name in CLINICAL_STATEMENTS:
            # Organizer components (results, vital signs) are resources of their own.
            statement_facts(c, section, out, status_here=organizer)
        elif name == "code":
            code_facts(c, section, "code", out)
        elif name in QUALIFIERS:
            code_facts(c, section, "qualifier", out)
        elif name == "value":
            value_facts(c, section, out)
        elif name == "effectiveTime":
            if c.get(XSI_TYPE, "").split(":")[-1] not in ("PIVL_TS", "EIVL_TS", "SXPR_TS"):
                date_facts(c, section, out)
        elif name == "referenceRange":
            for v in c.iter(q("value")):
                for part in ("low", "high"):
                    p = v.find(q(part))
                    if p is not None and p.get("value"):
                        out.append(Fact(section, "range", f"{p.get('value')} {p.get('unit', '')}",
                                        lambda sc, x=p.get("value"), u=p.get("unit"): has_quantity(sc, x, u)))
        elif name in ("doseQuantity", "rateQuantity"):
            if c.get("value"):
                out.append(Fact(section, "value.quantity", f"{c.get('value')} {c.get('unit', '')}",
                                lambda sc, x=c.get("value"), u=c.get("unit"): has_quantity(sc, x, u)))
        elif name in ("statusCode", "priorityCode", "languageCode", "confidentialityCode", "time", "setId",
                      "repeatNumber", "maxDoseQuantity", "administrationUnitCode", "quantity"):
            continue
        else:
            walk_children(c, section, out)


def value_facts(v, section, out):
    xt = v.get(XSI_TYPE, "").split(":")[-1]
    if xt in ("CD", "CE", "CV", "CO", "CS"):
        code_facts(v, section, "value.code", out)
    elif xt == "PQ" and v.get("value"):
        out.append(Fact(section, "value.quantity", f"{v.get('value')} {v.get('unit', '')}",
                        lambda sc, x=v.get("value"), u=v.get("unit"): has_quantity(sc, x, u)))
    elif xt in ("INT", "REAL") and v.get("value"):
        x = to_number(v.get("value"))
        if x is not None:
            out.append(Fact(section, "value.quantity", v.get("value"),
                            lambda sc, x=x: any(abs(n - x) < 1e-9 for n in sc.numbers)))
    elif xt in ("TS", "IVL_TS"):
        date_facts(v, section, out)
    elif xt == "IVL_PQ":
        for part in ("low", "high"):
            p = v.find(q(part))
            if p is not None and p.get("value"):
                out.append(Fact(section, "value.quantity", f"{p.get('value')} {p.get('unit', '')}",
                                lambda sc, x=p.get("value"), u=p.get("unit"): has_quantity(sc, x, u)))


def entry_ids(el):
    """(root, extension) of every id in the statement, outside people and references."""
    ids = []
    for c in el:
        if not isinstance(c.tag, str):
            continue
        name = local(c.tag)
        if name == "id" and c.get("root") and not c.get("nullFlavor"):
            ids.append((c.get("root"), c.get("extension")))
        elif name not in SKIPPED and not name.startswith("sdtc:"):
            ids.extend(entry_ids(c))
    return ids


def sections_of(doc):
    body = doc.find(f"{q('component')}/{q('structuredBody')}")
    out = []

    def add(sec):
        code = sec.find(q("code"))
        key = code.get("code") if code is not None else None
        name = SECTIONS.get(key or "", f"other:{key or 'uncoded'}")
        out.append((name, sec))
        for comp in sec.findall(q("component")):
            for sub in comp.findall(q("section")):
                add(sub)

    if body is not None:
        for comp in body.findall(q("component")):
            for sec in comp.findall(q("section")):
                add(sec)
    return out


def patient_facts(doc):
    out = []
    for role in doc.findall(f"{q('recordTarget')}/{q('patientRole')}"):
        for i in role.findall(q("id")):
            root, ext = i.get("root"), i.get("extension")
            if i.get("nullFlavor") or not (root or ext):
                continue
            want = {ext} if ext else {root, "urn:oid:" + root}
            out.append(Fact("patient", "patient.identifier", ext or root,
                            lambda sc, w=want: any(isinstance(n, dict) and n.get("value") in w
                                                   for r in sc.resources for n in walk(r.get("identifier", [])))))
        for a in role.findall(q("addr")):
            for tag, kind in (("streetAddressLine", "patient.address.line"), ("city", "patient.address.city"),
                              ("state", "patient.address.state"), ("postalCode", "patient.address.postalCode")):
                for e in a.findall(q(tag)):
                    if clean(e.text):
                        out.append(Fact("patient", kind, clean(e.text),
                                        lambda sc, t=clean(e.text).lower(): any(clean(s).lower() == t
                                                                                for s in sc.strings)))
        for t in role.findall(q("telecom")):
            raw = t.get("value") or ""
            val = re.sub(r"^(tel:|mailto:|fax:)(//)?", "", raw)
            if val:
                digits = re.sub(r"\D", "", val) if raw.startswith(("tel:", "fax:")) else None
                out.append(Fact("patient", "patient.telecom", val,
                                lambda sc, v=val.lower(), d=digits: any(
                                    (d and re.sub(r"\D", "", s).endswith(d[-10:])) or s.lower().endswith(v)
                                    for s in sc.strings)))
        pat = role.find(q("patient"))
        if pat is None:
            continue
        for n in pat.findall(q("name")):
            for tag, kind in (("family", "patient.name.family"), ("given", "patient.name.given")):
                for e in n.findall(q(tag)):
                    if clean(e.text):
                        out.append(Fact("patient", kind, clean(e.text),
                                        lambda sc, t=clean(e.text).lower(): any(clean(s).lower() == t
                                                                                for s in sc.strings)))
        bt = pat.find(q("birthTime"))
        if bt is not None and bt.get("value"):
            prefix = ts_parts(bt.get("value"))[0]
            out.append(Fact("patient", "patient.birthDate", bt.get("value"),
                            lambda sc, p=prefix: any(str(r.get("birthDate", "")).startswith(p or "?")
                                                     for r in sc.resources)))
        g = pat.find(q("administrativeGenderCode"))
        if g is not None and g.get("code") in GENDER:
            out.append(Fact("patient", "patient.gender", g.get("code"),
                            lambda sc, ok=GENDER[g.get("code")]: any(r.get("gender") in ok for r in sc.resources)))
        for tag, kind in (("raceCode", "patient.race"), ("ethnicGroupCode", "patient.ethnicity"),
                          ("maritalStatusCode", "patient.maritalStatus")):
            for e in list(pat.findall(q(tag))) + list(pat.findall("{urn:hl7-org:sdtc}" + tag)):
                if e.get("code") and not e.get("nullFlavor"):
                    out.append(Fact("patient", kind, e.get("code"),
                                    lambda sc, c=e.get("code"), o=e.get("codeSystem"): has_code(sc, c, o)))
        for lc in pat.findall(f"{q('languageCommunication')}/{q('languageCode')}"):
            if lc.get("code"):
                out.append(Fact("patient", "patient.language", lc.get("code"),
                                lambda sc, c=lc.get("code"): any(c2.lower() == c.lower() for _, c2 in sc.codings)))
    return out


# ---------------------------------------------------------------- corpus -------------------

def full_documents(corpus):
    root = os.path.join(corpus, "ccda")
    out = []
    for d, _, names in os.walk(root):
        for n in sorted(names):
            path = os.path.join(d, n)
            if not n.lower().endswith((".xml", ".ccda", ".cda")):
                continue
            try:
                doc = ET.parse(path).getroot()
            except (ET.ParseError, OSError, ValueError):
                continue
            if doc.tag == q("ClinicalDocument"):
                out.append((path, doc))
    return sorted(out, key=lambda x: x[0])


def source_of(path, corpus):
    return os.path.relpath(path, os.path.join(corpus, "ccda")).split(os.sep)[0]


def document_facts(doc):
    """[(fact, ids of its entry or None)]: patient facts first, then each entry's."""
    facts = [(f, None) for f in patient_facts(doc)]
    for name, sec in sections_of(doc):
        for entry in sec.findall(q("entry")):
            for st in entry:
                if isinstance(st.tag, str) and local(st.tag) in CLINICAL_STATEMENTS:
                    out = []
                    statement_facts(st, name, out, status_here=True)
                    ids = entry_ids(st)
                    facts += [(f, ("entry", tuple(ids), id(st))) for f in out]
    return facts


def parse_thresholds(spec):
    out = {}
    for part in (spec or "").split(","):
        if part.strip():
            kind, _, value = part.rpartition("=")
            out[kind.strip() or "overall"] = float(value)
    return out


def ratio(f, t):
    return f / t if t else 1.0


def main(argv):
    ap = argparse.ArgumentParser(description="Fidelity of phrgate convert over the C-CDA corpus")
    ap.add_argument("phrgate")
    ap.add_argument("corpus")
    ap.add_argument("out_dir", nargs="?")
    ap.add_argument("--min-recall", default="",
                    help="0.9 (overall) or key=0.9,... with keys overall, a fact kind (code, date, "
                         "patient.gender...) or section.<name>; exit 1 below")
    args = ap.parse_args(argv)
    corpus = os.environ.get("PHRGATE_CORPUS") or args.corpus
    if not os.path.isdir(os.path.join(corpus, "ccda")):
        print(f"corpus not found at {corpus}/ccda: skipped")
        return 77
    if not os.access(args.phrgate, os.X_OK):
        print(f"phrgate binary not found: {args.phrgate}", file=sys.stderr)
        return 2
    out_dir = args.out_dir or tempfile.mkdtemp(prefix="phrgate-ccda-fidelity-")
    os.makedirs(out_dir, exist_ok=True)

    found_kind, total_kind = defaultdict(int), defaultdict(int)
    found_sec, total_sec = defaultdict(int), defaultdict(int)
    found_src, total_src = defaultdict(int), defaultdict(int)
    misses, notes, per_doc = [], [], []
    counts = defaultdict(int)
    for path, doc in full_documents(corpus):
        rel, source = os.path.relpath(path, corpus), source_of(path, corpus)
        counts["documents"] += 1
        bundles, errors, file_error = convert_file(args.phrgate, convertible_input(path, os.path.join(out_dir, "inputs"))[0])
        facts = document_facts(doc)
        if file_error or errors or 1 not in bundles:
            why = file_error or errors.get(1) or "no output"
            counts["documents rejected by phrgate (facts not counted)"] += 1
            counts["facts in rejected documents"] += len(facts)
            notes.append(f"{rel}\trejected: {why}")
            continue
        bundle = Bundle(json.loads(bundles[1][1]))
        scopes, aligned, entries = {}, set(), set()
        f_doc = 0
        for fact, where in facts:
            if where is None:
                scope = bundle.patients
            else:
                key = where[2]
                entries.add(key)
                if key not in scopes:
                    scopes[key] = bundle.scope_for(where[1])
                if scopes[key] is not None:
                    aligned.add(key)
                scope = scopes[key] or bundle.everything
            ok = bool(fact.check(scope))
            counted = fact.kind not in NOT_OVERALL
            total_kind[fact.kind] += 1
            found_kind[fact.kind] += ok
            if counted:
                total_sec[fact.section] += 1
                found_sec[fact.section] += ok
                total_src[source] += 1
                found_src[source] += ok
                f_doc += ok
            if not ok:
                misses.append(f"{rel}\t{fact.section}\t{fact.kind}\t{fact.value}")
        counts["documents compared"] += 1
        counts["entries"] += len(entries)
        counts["entries aligned by id (else searched in the whole Bundle)"] += len(aligned)
        n_counted = sum(1 for f, _ in facts if f.kind not in NOT_OVERALL)
        per_doc.append((rel, f_doc, n_counted))

    kinds = sorted(total_kind)
    core = [k for k in kinds if k not in NOT_OVERALL]
    recall = {k: ratio(found_kind[k], total_kind[k]) for k in kinds}
    recall.update({f"section.{s}": ratio(found_sec[s], total_sec[s]) for s in total_sec})
    n_found, n_total = sum(found_kind[k] for k in core), sum(total_kind[k] for k in core)
    recall["overall"] = ratio(n_found, n_total)
    entry_kinds = [k for k in core if not k.startswith("patient.")]
    recall["entries"] = ratio(sum(found_kind[k] for k in entry_kinds), sum(total_kind[k] for k in entry_kinds))
    recall["patient"] = ratio(found_sec.get("patient", 0), total_sec.get("patient", 0))

    lines = [f"{'fact kind':<40} found/total  recall"]
    for k in core:
        lines.append(f"{k:<40} {found_kind[k]:>5}/{total_kind[k]:<5}  {recall[k]:.3f}")
    lines.append(f"{'overall':<40} {n_found:>5}/{n_total:<5}  {recall['overall']:.3f}")
    lines.append(f"{'  entries (all sections)':<40} {'':>11}  {recall['entries']:.3f}")
    lines.append(f"{'  patient demographics':<40} {'':>11}  {recall['patient']:.3f}")
    for k in NOT_OVERALL:
        if k in total_kind:
            lines.append(f"{k + ' (not in overall)':<40} {found_kind[k]:>5}/{total_kind[k]:<5}  {recall[k]:.3f}")
    lines += ["", f"{'per section':<40} found/total  recall"]
    for s in sorted(total_sec, key=lambda s: -total_sec[s]):
        lines.append(f"{s:<40} {found_sec[s]:>5}/{total_sec[s]:<5}  {recall['section.' + s]:.3f}")
    lines += ["", f"{'per corpus source':<40} found/total  recall"]
    for s in sorted(total_src):
        lines.append(f"{s:<40} {found_src[s]:>5}/{total_src[s]:<5}  {ratio(found_src[s], total_src[s]):.3f}")
    lines.append("")
    lines += [f"{k}: {v}" for k, v in sorted(counts.items())]
    report = "\n".join(lines)
    print(report)
    with open(os.path.join(out_dir, "fidelity-summary.txt"), "w") as fh:
        fh.write(report + "\n")
    with open(os.path.join(out_dir, "fidelity-misses.tsv"), "w") as fh:
        fh.write("file\tsection\tfact\tsource value\n" + "".join(x + "\n" for x in misses))
    with open(os.path.join(out_dir, "fidelity-notes.tsv"), "w") as fh:
        fh.write("".join(x + "\n" for x in notes))
    with open(os.path.join(out_dir, "fidelity-per-document.tsv"), "w") as fh:
        fh.write("file\tfound\ttotal\trecall\n" +
                 "".join(f"{r}\t{f}\t{t}\t{ratio(f, t):.3f}\n" for r, f, t in per_doc))
    print(f"details: {out_dir} ({len(misses)} misses)")

    if not counts["documents compared"]:
        print("FAIL: phrgate converted none of the documents (see fidelity-notes.tsv)")
        return 1
    failed = [f"{k} recall {recall.get(k, 0):.3f} < {v}" for k, v in parse_thresholds(args.min_recall).items()
              if recall.get(k, 0.0) < v]
    for f in failed:
        print(f"FAIL: {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
