#!/usr/bin/env python3
# Fidelity check of `phrgate convert` over the HL7 v2 corpus: extracts the clinically meaningful
# facts (PID identifiers, name, birth date, sex, address; OBX code, value, unit, range, flags,
# status, time) from each SOURCE message with its own small HL7 v2 parser, and looks for each
# one in that message's FHIR Bundle. Independent of phrgate's code (standard tables only).
# Used by CTest (hl7v2_fidelity); conformance_report.py imports its parser. Stdlib only.
# Never edits the corpus; prints source values only into OUT_DIR, never into the CTest log.
import argparse
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # never leave __pycache__ in the source tree
import tempfile
from collections import defaultdict
from urllib.parse import unquote

from phrgate_output import (UNSUPPORTED, control_id_of, convert_file, corpus_files,
                            source_of)

# ---------------------------------------------------------------- HL7 v2 text --------------

def read_text(path):
    data = open(path, "rb").read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def starts_like_hl7v2(text):
    head = text.lstrip()[:4]
    return len(head) == 4 and head[:3] in ("MSH", "FHS", "BHS") and not head[3].isalnum()


class Message:
    """One HL7 v2 message: segments as lists of raw fields, delimiters from its MSH."""

    def __init__(self, lines):
        msh = lines[0]
        self.fs = msh[3]
        enc = msh[4:9].split(self.fs)[0] if len(msh) > 4 else ""
        enc = (enc + "^~\\&")[:4] if len(enc) < 4 else enc
        self.cs, self.rs, self.esc, self.ss = enc[0], enc[1], enc[2], enc[3]
        self.segments = []
        for line in lines:
            fields = line.split(self.fs)
            if fields[0] == "MSH":  # MSH-1 is the separator itself: shift so MSH-n is fields[n]
                fields = ["MSH", self.fs] + fields[1:]
            self.segments.append(fields)

    def field(self, seg, n):
        return seg[n] if n < len(seg) else ""

    def reps(self, raw):
        return [r for r in raw.split(self.rs)] if raw else []

    def comp(self, raw, n, sub=1):
        parts = raw.split(self.cs)
        if n > len(parts):
            return ""
        subs = parts[n - 1].split(self.ss)
        return subs[sub - 1] if sub <= len(subs) else ""

    def unescape(self, s):
        if self.esc not in s:
            return s
        e = re.escape(self.esc)
        def repl(m):
            body = m.group(1)
            table = {"F": self.fs, "S": self.cs, "T": self.ss, "R": self.rs, "E": self.esc,
                     ".br": "\n", "H": "", "N": ""}
            if body in table:
                return table[body]
            if body.startswith("X") and re.fullmatch(r"X([0-9A-Fa-f]{2})+", body):
                return bytes.fromhex(body[1:]).decode("latin-1")
            return " " if body.startswith(".") else ""
        return re.sub(e + r"([^" + e + r"]*)" + e, repl, s)

    def first(self, name):
        return next((s for s in self.segments if s[0] == name), None)

    def msh(self, n):
        return self.field(self.segments[0], n)

    def type(self):
        raw = self.msh(9)
        return f"{self.comp(raw, 1)}^{self.comp(raw, 2)}".strip("^")


def split_messages(text):
    """Segments end at CR, LF or CRLF; a message starts at each MSH; FHS/BHS/BTS/FTS dropped."""
    lines = re.split(r"\r\n|\r|\n", text)
    messages, current = [], None
    for line in lines:
        if not line.strip():
            continue
        if line.startswith("MSH") and len(line) > 4:
            current = [line]
            messages.append(current)
        elif line[:3] in ("FHS", "BHS", "BTS", "FTS"):
            continue
        elif current is not None:
            current.append(line)
    return [Message(m) for m in messages]


# ---------------------------------------------------------------- standard tables ----------

SEX_0001 = {"F": "female", "M": "male", "O": "other", "U": "unknown", "A": "other", "N": "other"}
OBX_STATUS_0085 = {"A": "amended", "C": "corrected", "D": "entered-in-error", "F": "final",
                   "P": "preliminary", "X": "cancelled"}
# HL7 0396 names -> FHIR system URIs (FHIR R4 terminology page, v2-to-FHIR IG).
CODING_SYSTEMS = {
    "LN": ["http://loinc.org"], "LOINC": ["http://loinc.org"],
    "SCT": ["http://snomed.info/sct"], "SNM": ["http://snomed.info/sct"],
    "SNM3": ["http://snomed.info/sct"], "SNOMED": ["http://snomed.info/sct"],
    "UCUM": ["http://unitsofmeasure.org"],
    "I9": ["http://hl7.org/fhir/sid/icd-9-cm"], "I9C": ["http://hl7.org/fhir/sid/icd-9-cm"],
    "I10": ["http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cm"],
    "I10C": ["http://hl7.org/fhir/sid/icd-10-cm"],
    "C4": ["http://www.ama-assn.org/go/cpt"], "CPT": ["http://www.ama-assn.org/go/cpt"],
    "RXNORM": ["http://www.nlm.nih.gov/research/umls/rxnorm"],
    "CVX": ["http://hl7.org/fhir/sid/cvx"], "NDC": ["http://hl7.org/fhir/sid/ndc"],
}

# ---------------------------------------------------------------- normalisation ------------


def norm_text(s):
    return re.sub(r"\s+", " ", s or "").strip().casefold()


DECIMAL = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def to_number(s):
    if isinstance(s, (int, float)) and not isinstance(s, bool):
        return float(s)
    text = str(s).strip() if s is not None else ""
    return float(text) if DECIMAL.fullmatch(text) else None


def same_number(a, b):
    return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def hl7_date(ts):
    """'20200102153000-0500' -> '2020-01-02' (or '2020-01' / '2020' at the sent precision)."""
    digits = re.match(r"\s*(\d{4})(\d{2})?(\d{2})?", ts or "")
    if not digits:
        return None
    return "-".join(p for p in digits.groups() if p)


def hl7_datetime(ts):
    """Like hl7_date, plus 'THH:MM' when the hour and minute were sent (zone not compared)."""
    day = hl7_date(ts)
    hm = re.match(r"\s*\d{8}(\d{2})(\d{2})", ts or "")
    return f"{day}T{hm.group(1)}:{hm.group(2)}" if day and hm else day


def numbers_in(s):
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?", s or "")]


# ---------------------------------------------------------------- facts --------------------

class Fact:
    def __init__(self, kind, value, check):
        self.kind, self.value, self.check = kind, value, check  # check(context) -> bool


def patient_facts(m):
    pid = m.first("PID")
    if pid is None:
        return []
    facts = []
    for rep in m.reps(m.field(pid, 3)):
        value = m.unescape(m.comp(rep, 1)).strip()
        if value:
            facts.append(Fact("pid.identifier", value, lambda c, v=value: any(
                (i.get("value") or "").strip() == v for p in c["patients"] for i in p.get("identifier", []))))
    for rep in m.reps(m.field(pid, 5)):
        family = norm_text(m.unescape(m.comp(rep, 1, 1)))
        given = norm_text(m.unescape(m.comp(rep, 2)))
        if family:
            facts.append(Fact("pid.name.family", family, lambda c, v=family: any(
                norm_text(n.get("family")) == v for p in c["patients"] for n in p.get("name", []))))
        if given:
            facts.append(Fact("pid.name.given", given, lambda c, v=given: any(
                norm_text(g) == v or norm_text(" ".join(n.get("given", []))).startswith(v)
                for p in c["patients"] for n in p.get("name", []) for g in n.get("given", []))))
    birth = hl7_date(m.comp(m.field(pid, 7), 1))
    if birth:
        facts.append(Fact("pid.birthDate", birth, lambda c, v=birth: any(
            (p.get("birthDate") or "").startswith(v) for p in c["patients"])))
    sex = m.comp(m.field(pid, 8), 1).strip().upper()
    if sex in SEX_0001:
        facts.append(Fact("pid.gender", f"{sex}->{SEX_0001[sex]}", lambda c, v=SEX_0001[sex]: any(
            p.get("gender") == v for p in c["patients"])))
    for rep in m.reps(m.field(pid, 11)):
        street = norm_text(m.unescape(m.comp(rep, 1, 1)))
        city = norm_text(m.unescape(m.comp(rep, 3)))
        postal = norm_text(m.unescape(m.comp(rep, 5)))
        addresses = lambda c: [a for p in c["patients"] for a in p.get("address", [])]
        if street:
            facts.append(Fact("pid.address.street", street, lambda c, v=street: any(
                v in norm_text(l) for a in addresses(c) for l in a.get("line", []))))
        if city:
            facts.append(Fact("pid.address.city", city, lambda c, v=city: any(
                norm_text(a.get("city")) == v for a in addresses(c))))
        if postal:
            facts.append(Fact("pid.address.postalCode", postal, lambda c, v=postal: any(
                norm_text(a.get("postalCode")) == v for a in addresses(c))))
    return facts


def system_matches(name, system):
    name = (name or "").strip()
    if not name:
        return True
    upper = name.upper()
    if upper in CODING_SYSTEMS:
        return system in CODING_SYSTEMS[upper]
    hl7 = re.fullmatch(r"HL7(\d{4})", upper)
    if hl7:
        return system == f"http://terminology.hl7.org/CodeSystem/v2-{hl7.group(1)}"
    return upper in unquote(system or "").upper()


def codings(cc):
    return (cc or {}).get("coding", []) if isinstance(cc, dict) else []


def quantities(obs):
    """The Quantities of an Observation's value[x] (Quantity, Range bounds, Ratio terms)."""
    out = [obs["valueQuantity"]] if "valueQuantity" in obs else []
    if "valueRange" in obs:
        out += [obs["valueRange"].get(k, {}) for k in ("low", "high")]
    if "valueRatio" in obs:
        out += [obs["valueRatio"].get(k, {}) for k in ("numerator", "denominator")]
    return out


def value_check(m, obx, obr):
    """(source value text, check(obs) -> bool) for OBX-5 by OBX-2, or None when not compared."""
    vtype = m.comp(m.field(obx, 2), 1).strip().upper()
    raw = m.field(obx, 5)
    reps = m.reps(raw)
    if not raw.strip() or not reps:
        return None
    first = reps[0]
    if vtype == "NM":
        text = m.unescape(first).strip()
        num = to_number(text)
        if num is not None:
            return text, lambda o: same_number(to_number(o.get("valueQuantity", {}).get("value")), num) \
                or same_number(to_number(o.get("valueInteger")), num)
        return text, lambda o: norm_text(o.get("valueString")) == norm_text(text) or (
            "valueQuantity" in o and numbers_in(text) and same_number(
                to_number(o["valueQuantity"].get("value")), numbers_in(text)[0]))
    if vtype == "SN":
        text = m.unescape(first).replace(m.cs, " ").strip()
        nums = numbers_in(" ".join(m.comp(first, i) for i in (2, 4)))
        def sn(o, nums=nums, text=text):
            found = [to_number(q.get("value")) for q in quantities(o)]
            if nums and all(any(same_number(n, f) for f in found) for n in nums):
                return True
            return bool(o.get("valueString")) and all(
                any(same_number(n, f) for f in numbers_in(o["valueString"])) for n in nums)
        return text, sn
    if vtype in ("CE", "CWE", "CNE", "CF", "IS", "ID"):
        code = m.unescape(m.comp(first, 1)).strip()
        text = m.unescape(m.comp(first, 2)).strip()
        if code:
            return code, lambda o: any(c.get("code") == code for c in codings(o.get("valueCodeableConcept")))
        if text:
            return text, lambda o: norm_text(text) in (norm_text((o.get("valueCodeableConcept") or {}).get("text")),
                                                       norm_text(o.get("valueString")))
        return None
    if vtype in ("DT", "DTM", "TS"):
        d = hl7_date(m.comp(first, 1))
        return (d, lambda o: (o.get("valueDateTime") or (o.get("valuePeriod") or {}).get("start") or "")
                .startswith(d)) if d else None
    if vtype in ("ST", "TX", "FT", ""):
        text = norm_text(" ".join(m.unescape(r) for r in reps))
        if not text:
            return None
        # Equal after normalisation; long texts may also sit inside a longer valueString.
        return text, lambda o: bool(o.get("valueString")) and (
            text == norm_text(o["valueString"]) or (len(text) >= 20 and text in norm_text(o["valueString"])))
    return None  # ED, RP, NA, TM, NR, ...: not compared


def obx_facts(m, obx, obr, claim):
    """Facts of one OBX; claim(code, value_check) picks its Observation (or None)."""
    code = m.unescape(m.comp(m.field(obx, 3), 1)).strip()
    system = m.comp(m.field(obx, 3), 3).strip()
    value = value_check(m, obx, obr)
    obs = claim(code, value[1] if value else None)
    facts = [Fact("obx.observation", f"OBX-{m.field(obx, 1) or '?'}", lambda c: obs is not None)]
    got = lambda f: (lambda c: obs is not None and f(obs))
    if code:
        facts.append(Fact("obx.code", f"{code}^{system}", got(lambda o: any(
            c.get("code") == code and system_matches(system, c.get("system")) for c in codings(o.get("code"))))))
    if value:
        facts.append(Fact("obx.value", value[0], got(value[1])))
        # A unit is a fact of numeric values: NM/SN/NR, or a number sent as text ("68", "<15").
        vtype = m.comp(m.field(obx, 2), 1).strip().upper()
        numeric = vtype in ("NM", "SN", "NR") or re.fullmatch(
            r"\s*(<|>|<=|>=)?\s*[-+]?(\d+\.?\d*|\.\d+)\s*", m.reps(m.field(obx, 5))[0]) is not None
        unit_raw = m.field(obx, 6)
        units = {norm_text(m.unescape(m.comp(unit_raw, i))) for i in (1, 2)} - {""}
        if units and numeric:
            facts.append(Fact("obx.unit", "|".join(sorted(units)), got(lambda o: any(
                norm_text(q.get(k)) in units for q in quantities(o) for k in ("unit", "code")))))
    rr = m.unescape(m.field(obx, 7)).strip()
    if rr:
        def rr_found(o, rr=rr):
            for r in o.get("referenceRange", []):
                if norm_text(r.get("text")) == norm_text(rr):
                    return True
                bounds = [to_number(r.get(k, {}).get("value")) for k in ("low", "high") if k in r]
                if bounds and sorted(bounds) == sorted(numbers_in(rr)):
                    return True
            return False
        facts.append(Fact("obx.referenceRange", rr, got(rr_found)))
    for flag_rep in m.reps(m.field(obx, 8)):
        flag = m.comp(flag_rep, 1).strip()
        if flag:
            facts.append(Fact("obx.interpretation", flag, got(lambda o, f=flag: any(
                (c.get("code") or "").upper() == f.upper() for i in o.get("interpretation", [])
                for c in codings(i)) or any(norm_text(i.get("text")) == norm_text(f)
                                             for i in o.get("interpretation", [])))))
    status = m.comp(m.field(obx, 11), 1).strip().upper()
    if status in OBX_STATUS_0085:
        facts.append(Fact("obx.status", f"{status}->{OBX_STATUS_0085[status]}",
                          got(lambda o, s=OBX_STATUS_0085[status]: o.get("status") == s)))
    when = hl7_datetime(m.comp(m.field(obx, 14), 1)) or (hl7_datetime(m.comp(m.field(obr, 7), 1)) if obr else None)
    if when:
        facts.append(Fact("obx.effectiveTime", when, got(lambda o, w=when: any(
            (t or "").startswith(w) for t in (o.get("effectiveDateTime"), o.get("effectiveInstant"),
                                              (o.get("effectivePeriod") or {}).get("start"))))))
    return facts


# Segments of the IG's ADT_A01 map beyond PID/OBX: reported, never part of "overall".
EXTRA_SEGMENTS = {"AL1": ("al1.allergen", "AllergyIntolerance"), "DG1": ("dg1.diagnosis", "Condition"),
                  "PR1": ("pr1.procedure", "Procedure")}


def extra_facts(m, seg, resources):
    kind, rtype = EXTRA_SEGMENTS[seg[0]]
    raw = m.field(seg, 3)
    code, text = m.unescape(m.comp(raw, 1)).strip(), norm_text(m.unescape(m.comp(raw, 2)))
    if not code and not text:
        return []
    targets = [r for r in resources if r.get("resourceType") == rtype]
    return [Fact(kind, code or text, lambda c: any(
        (code and any(x.get("code") == code for x in codings(r.get("code")))) or
        (text and norm_text((r.get("code") or {}).get("text")) == text) for r in targets))]


def message_facts(m, bundle):
    """All facts of the message, each with found True/False against the bundle."""
    resources = [e.get("resource", {}) for e in (bundle or {}).get("entry", [])]
    context = {"patients": [r for r in resources if r.get("resourceType") == "Patient"]}
    observations = [r for r in resources if r.get("resourceType") == "Observation"]
    source_codes = {m.comp(m.field(s, 3), 1).strip() for s in m.segments if s[0] == "OBX"} - {""}
    used = set()

    def claim(code, check):
        def has_code(o, c):
            return any(x.get("code") == c for x in codings(o.get("code")))
        pool = [i for i, o in enumerate(observations) if i not in used and (
            has_code(o, code) if code else not any(has_code(o, c) for c in source_codes))]
        pick = next((i for i in pool if check and check(observations[i])), pool[0] if pool else None)
        if pick is None:
            return None
        used.add(pick)
        return observations[pick]

    results = [(f, f.check(context)) for f in patient_facts(m)]
    obr = None
    for seg in m.segments:
        if seg[0] == "OBR":
            obr = seg
        elif seg[0] == "OBX" and not m.type().startswith("MDM"):
            # MDM's OBX segments are the document's content: the v2-to-FHIR IG maps them into
            # the DocumentReference, not into Observations, so they are not result facts.
            results += [(f, f.check(context)) for f in obx_facts(m, seg, obr, claim)]
        elif seg[0] in EXTRA_SEGMENTS:
            results += [(f, f.check(context)) for f in extra_facts(m, seg, resources)]
    return results


# ---------------------------------------------------------------- report -------------------

def parse_thresholds(spec):
    out = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        kind, _, value = part.rpartition("=")
        out[kind.strip() or "overall"] = float(value)
    return out


def main(argv):
    ap = argparse.ArgumentParser(description="Fidelity of phrgate convert over the HL7 v2 corpus")
    ap.add_argument("phrgate")
    ap.add_argument("corpus")
    ap.add_argument("out_dir", nargs="?")
    ap.add_argument("--min-recall", default="",
                    help="0.9 (overall) or kind=0.9,... (e.g. overall=0.95,obx.value=0.9); exit 1 below")
    args = ap.parse_args(argv)
    corpus = os.environ.get("PHRGATE_CORPUS") or args.corpus
    if not os.path.isdir(os.path.join(corpus, "hl7v2")):
        print(f"corpus not found at {corpus}/hl7v2: skipped")
        return 77
    out_dir = args.out_dir or tempfile.mkdtemp(prefix="phrgate-fidelity-")
    os.makedirs(out_dir, exist_ok=True)

    found = defaultdict(lambda: defaultdict(int))  # source -> kind -> n
    total = defaultdict(lambda: defaultdict(int))
    misses, notes = [], []
    counts = defaultdict(int)
    converted, rejected = [], []  # (source, rel, index, message, bundle or error)
    for path in corpus_files(corpus):
        text = read_text(path)
        if not starts_like_hl7v2(text):
            continue
        source, rel = source_of(path, corpus), os.path.relpath(path, corpus)
        bundles, errors, file_error = convert_file(args.phrgate, path)
        if file_error:
            notes.append(f"{rel}\tfile\t{file_error}")
        for i, m in enumerate(split_messages(text), 1):
            if i in errors:
                if UNSUPPORTED.search(errors[i]):
                    counts["messages of unsupported types"] += 1
                else:
                    rejected.append((source, rel, i, m, errors[i]))
            elif i in bundles:
                converted.append((source, rel, i, m, json.loads(bundles[i][1])))
            else:
                notes.append(f"{rel}\t{i}\tno output for this message (split differs?)")
                counts["messages without output"] += 1
    # "Types phrgate converts" = the types (MSH-9.1^9.2) of the messages it converted here.
    converted_types = {m.type() for _, _, _, m, _ in converted}
    for source, rel, i, m, error in rejected:
        if m.type() in converted_types:
            counts["messages of converted types rejected (facts not counted)"] += 1
            counts["facts in those rejected messages"] += len(message_facts(m, None))
            notes.append(f"{rel}\t{i}\trejected: {error}")
        else:
            counts["messages of other types rejected as malformed"] += 1
    for source, rel, i, m, bundle in converted:
        cid = control_id_of(bundle)
        if cid is not None and cid != m.unescape(m.msh(10)).strip():
            notes.append(f"{rel}\t{i}\tbundle control id differs from MSH-10: alignment lost")
            counts["messages misaligned"] += 1
            continue
        counts["messages compared"] += 1
        for fact, ok in message_facts(m, bundle):
            total[source][fact.kind] += 1
            if ok:
                found[source][fact.kind] += 1
            else:
                misses.append(f"{rel}\t{i}\t{m.type()}\t{fact.kind}\t{fact.value!r}")

    extra = {k for k, _ in EXTRA_SEGMENTS.values()}
    kinds = sorted({k for s in total for k in total[s]})
    core = [k for k in kinds if k not in extra]
    all_found = {k: sum(found[s][k] for s in total) for k in kinds}
    all_total = {k: sum(total[s][k] for s in total) for k in kinds}
    recall = {k: all_found[k] / all_total[k] for k in kinds if all_total[k]}
    n_found, n_total = sum(all_found[k] for k in core), sum(all_total[k] for k in core)
    recall["overall"] = n_found / n_total if n_total else 1.0

    lines = ["fact kind (PID, OBX)                   found/total  recall"]
    for k in core:
        lines.append(f"{k:<38} {all_found[k]:>5}/{all_total[k]:<5}  {recall[k]:.3f}")
    lines.append(f"{'overall':<38} {n_found:>5}/{n_total:<5}  {recall['overall']:.3f}")
    lines.append("other segments of the IG's ADT_A01 map (not in overall):")
    for k in sorted(set(kinds) & extra):
        lines.append(f"  {k:<36} {all_found[k]:>5}/{all_total[k]:<5}  {recall[k]:.3f}")
    lines.append("")
    lines.append(f"{'per corpus source (PID, OBX)':<50} found/total  recall")
    for s in sorted(total):
        f, t = sum(found[s][k] for k in core), sum(total[s][k] for k in core)
        lines.append(f"{s:<50} {f:>5}/{t:<5}  {f / t if t else 1:.3f}")
    lines.append("")
    lines.append("message types converted (so compared): " + " ".join(sorted(converted_types)))
    lines += [f"{k}: {v}" for k, v in sorted(counts.items())]
    report = "\n".join(lines)
    print(report)
    with open(os.path.join(out_dir, "fidelity-summary.txt"), "w") as fh:
        fh.write(report + "\n")
    with open(os.path.join(out_dir, "fidelity-misses.tsv"), "w") as fh:
        fh.write("file\tmessage\ttype\tfact\tsource value\n" + "".join(x + "\n" for x in misses))
    with open(os.path.join(out_dir, "fidelity-notes.tsv"), "w") as fh:
        fh.write("".join(x + "\n" for x in notes))
    with open(os.path.join(out_dir, "fidelity-per-source.json"), "w") as fh:
        json.dump({s: {k: [found[s][k], total[s][k]] for k in total[s]} for s in total}, fh, indent=1)
    print(f"details: {out_dir} ({len(misses)} misses)")

    failed = [f"{k} recall {recall.get(k, 0):.3f} < {v}" for k, v in parse_thresholds(args.min_recall).items()
              if recall.get(k, 0.0) < v]
    for f in failed:
        print(f"FAIL: {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
