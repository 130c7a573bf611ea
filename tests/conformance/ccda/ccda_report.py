#!/usr/bin/env python3
# Second half of run_conformance.sh (C-CDA): reads the `phrgate convert` outputs and validator
# results it left in OUT_DIR, classifies every document (valid / rejected / FAILING) per corpus
# source, compares with FHIR-Converter's expected outputs (resource types and counts, key codes,
# Patient) and with the vendors' and HL7's recommended conversions of ccda-on-fhir's shared CCD.
# Also lists the corpus's full documents (--list-documents). Stdlib only; exit 1 when any
# converted document is invalid FHIR. Never prints patient data to stdout (OUT_DIR files only).
import glob
import hashlib
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # never leave __pycache__ in the source tree
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hl7v2"))
import phrgate_output  # noqa: E402  (reads `phrgate convert` output)

V3_ROOT = "{urn:hl7-org:v3}ClinicalDocument"
CLASSES = ("valid", "rejected", "FAILING")
ON_FHIR = os.path.join("ccda", "HL7-ccda-on-fhir", "mappings", "examples", "CDAtoFHIRExamples")


def list_documents(corpus):
    """Every file under corpus/ccda whose root element is a ClinicalDocument (any namespace)."""
    out = []
    for d, _, names in os.walk(os.path.join(corpus, "ccda")):
        for n in names:
            path = os.path.join(d, n)
            try:
                for _, el in ET.iterparse(path, events=("start",)):
                    if el.tag.rsplit("}", 1)[-1] == "ClinicalDocument":
                        out.append(path)
                    break
            except (ET.ParseError, OSError, ValueError, UnicodeDecodeError):
                continue
    return sorted(out)


SNIFF_WINDOW = 512  # bytes `phrgate convert` looks at to recognise a format (gateway/cli)


def convertible_input(path, work_dir):
    """`path`, or, when its root element starts after phrgate convert's sniff window (a long
    comment before it), a copy in work_dir without the comments and processing instructions
    before the root (the same document). Returns (path to convert, copied?)."""
    data = open(path, "rb").read()
    if b"ClinicalDocument" in data[:SNIFF_WINDOW]:
        return path, False
    start = data.find(b"<ClinicalDocument")
    if start < 0:
        m = re.search(rb"<[A-Za-z_][\w.-]*:ClinicalDocument", data)
        start = m.start() if m else -1
    if start < 0:
        return path, False
    decl = re.match(rb"^(\xef\xbb\xbf)?\s*<\?xml[^>]*\?>", data)
    os.makedirs(work_dir, exist_ok=True)
    copy = os.path.join(work_dir, hashlib.sha1(path.encode()).hexdigest()[:12] + "-" + os.path.basename(path))
    with open(copy, "wb") as fh:
        fh.write((decl.group(0) + b"\n" if decl else b"") + data[start:])
    return copy, True


def root_tag(path):
    try:
        for _, el in ET.iterparse(path, events=("start",)):
            return el.tag
    except (ET.ParseError, OSError, ValueError):
        return ""
    return ""


def load_runs(out_dir):
    runs = []
    with open(os.path.join(out_dir, "convert", "files.tsv"), encoding="utf-8") as fh:
        for row in fh:
            ident, rc, path, converted = row.rstrip("\n").split("\t", 3)
            base = os.path.join(out_dir, "convert", ident)
            with open(base + ".ndjson", encoding="utf-8", errors="replace") as o, \
                    open(base + ".err", encoding="utf-8", errors="replace") as e:
                runs.append((path, converted, int(rc), o.read(), e.read()))
    return runs


def classify(corpus, out_dir):
    results = [json.loads(l) for l in open(os.path.join(out_dir, "validation.ndjson"), encoding="utf-8")]
    rows, line = [], 0
    for path, converted, rc, stdout_text, stderr_text in load_runs(out_dir):
        rel = os.path.relpath(path, corpus)
        source = os.path.relpath(path, os.path.join(corpus, "ccda")).split(os.sep)[0]
        bundles, errors, file_error = phrgate_output.parse_convert_output(converted, stdout_text, stderr_text)
        v3 = root_tag(path) == V3_ROOT
        row = {"source": source, "file": rel, "path": path, "v3": v3, "bundle": None, "detail": "",
               "copied": converted != path}
        tool_error = next((l for l in stderr_text.splitlines() if l.startswith("phrgate convert:")), None)
        if rc not in (0, 1):
            row.update({"class": "FAILING", "detail": f"phrgate convert exited with status {rc}"})
        elif tool_error:  # about phrgate itself (options, mapping tables), not the document
            row.update({"class": "FAILING", "detail": tool_error})
        elif 1 in bundles:
            result = results[line + bundles[1][0]]
            issues = result["errors"]
            row["bundle"] = json.loads(bundles[1][1])
            row["class"] = "FAILING" if issues else "valid"
            row["detail"] = "; ".join(f"[{e['validator']}] {e['resource']}"
                                      f"{'#' + str(e['entry']) if e['entry'] >= 0 else ''} "
                                      f"{e['path']}: {e['message']}" for e in issues)
        else:
            why = file_error or next(iter(errors.values()), "no output")
            row.update({"class": "rejected", "detail": why})
            if v3:
                row["detail"] += " (a urn:hl7-org:v3 ClinicalDocument)"
        line += len(bundles)
        rows.append(row)
    if line != len(results):
        raise SystemExit(f"validator results ({len(results)}) do not match bundles ({line})")
    return rows, results


def print_counts(rows):
    per = defaultdict(Counter)
    for r in rows:
        per[r["source"]][r["class"]] += 1
    print(f"{'corpus source (full documents)':<40}" + "".join(f"{c:>12}" for c in CLASSES))
    total = Counter()
    for s in sorted(per):
        total.update(per[s])
        print(f"{s:<40}" + "".join(f"{per[s][c]:>12}" for c in CLASSES))
    print(f"{'TOTAL':<40}" + "".join(f"{total[c]:>12}" for c in CLASSES))
    reasons = Counter(re.sub(r"line \d+", "line N", r["detail"]) for r in rows if r["class"] == "rejected")
    if reasons:
        print("rejected:")
        for d, n in reasons.most_common():
            print(f"  {n:>4}  {d}")
    return total


# ---------------------------------------------------------------- comparisons --------------

GROUP = {"MedicationStatement": "Medication*", "MedicationRequest": "Medication*",
         "MedicationAdministration": "Medication*", "Medication": "Medication*"}
KEY_FIELDS = ("code", "vaccineCode", "medicationCodeableConcept", "type")


def resources_in(value):
    """Every resource (a dict with resourceType) in a JSON value, Bundles opened."""
    out = []
    if isinstance(value, list):
        for v in value:
            out += resources_in(v)
    elif isinstance(value, dict):
        if isinstance(value.get("resourceType"), str) and value["resourceType"] != "Bundle":
            out.append(value)
        for k, v in value.items():
            if k in ("entry", "resource", "contained") or (isinstance(v, (list, dict)) and k == "resources"):
                out += resources_in(v)
    return out


def key_codings(resources):
    """{(type group, system, code)} of the resources' main codes (code, vaccineCode, ...)."""
    out = set()
    for r in resources:
        t = r.get("resourceType")
        if t in ("Patient", "Practitioner", "Organization", "Composition", "Provenance", "Location",
                 "PractitionerRole", "DocumentReference", "Device"):
            continue
        fields = ("code", "vaccineCode", "medicationCodeableConcept") if t != "Encounter" else ("type",)
        for f in fields:
            vals = r.get(f)
            for cc in vals if isinstance(vals, list) else [vals]:
                for c in (cc or {}).get("coding", []) if isinstance(cc, dict) else []:
                    if c.get("code"):
                        out.add((GROUP.get(t, t), c.get("system", ""), str(c["code"])))
    return out


def patient_summary(resources):
    p = next((r for r in resources if r.get("resourceType") == "Patient"), None)
    if not p:
        return None
    return {"gender": p.get("gender"), "birthDate": p.get("birthDate"),
            "identifiers": sorted(str(i.get("value")) for i in p.get("identifier", []) if i.get("value"))}


def lenient_json(text):
    """JSON with // and /* */ comments and trailing commas (ccda-on-fhir's .jsonc files)."""
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        else:
            out.append(c)
        i += 1
    cleaned = re.sub(r",\s*([}\]])", r"\1", "".join(out))
    for candidate in (cleaned, "[" + cleaned + "]", "{" + cleaned + "}"):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def compare_fhir_converter(corpus, rows, out_dir):
    base = os.path.join(corpus, "ccda", "microsoft-FHIR-Converter")
    expected = sorted(glob.glob(os.path.join(base, "**", "Expected", "Ccda", "*", "*-expected.json"), recursive=True))
    inputs = {os.path.splitext(os.path.basename(p))[0]: p
              for p in glob.glob(os.path.join(base, "data", "SampleData", "Ccda", "*.ccda"))}
    by_path = {r["path"]: r for r in rows}
    lines, details, categories = [], [], Counter()
    for exp_path in expected:
        stem = os.path.basename(exp_path)[: -len("-expected.json")]
        mine = by_path.get(inputs.get(stem, ""))
        if not mine or mine["bundle"] is None:
            lines.append(f"  {stem:<48} not compared ({mine['class'] + ': ' + mine['detail'][:80] if mine else 'no input'})")
            continue
        ours = resources_in(mine["bundle"])
        theirs = resources_in(json.load(open(exp_path, encoding="utf-8-sig")))
        ct_o, ct_t = Counter(GROUP.get(r["resourceType"], r["resourceType"]) for r in ours), \
            Counter(GROUP.get(r["resourceType"], r["resourceType"]) for r in theirs)
        ko, kt = key_codings(ours), key_codings(theirs)
        po, pt = patient_summary(ours), patient_summary(theirs)
        for t in sorted(set(ct_t) - set(ct_o)):
            categories[f"resource type only in FHIR-Converter: {t}"] += 1
        for t in sorted(set(ct_o) - set(ct_t)):
            categories[f"resource type only in phrgate: {t}"] += 1
        for t in sorted(set(ct_o) & set(ct_t)):
            if ct_o[t] != ct_t[t]:
                categories[f"{t}: phrgate {'more' if ct_o[t] > ct_t[t] else 'fewer'} than FHIR-Converter"] += 1
        for g, s, c in kt - ko:
            categories[f"key code only in FHIR-Converter: {g}"] += 1
        for field in ("gender", "birthDate"):
            if po and pt and po[field] != pt[field]:
                categories[f"Patient.{field} differs"] += 1
        same_codes = {(g, c) for g, _, c in ko} & {(g, c) for g, _, c in kt}
        sys_diff = len(same_codes) - len(ko & kt)
        lines.append(f"  {stem:<48} {sum(ct_o.values()):>4} vs {sum(ct_t.values()):>4} resources;"
                     f" key codes {len(ko & kt)} same, {sys_diff} other system, {len(ko - kt)} only phrgate,"
                     f" {len(kt - ko)} only FC")
        details.append({"document": stem, "types_phrgate": ct_o, "types_fhir_converter": ct_t,
                        "key_codes_only_phrgate": sorted(map(list, ko - kt)),
                        "key_codes_only_fhir_converter": sorted(map(list, kt - ko)),
                        "patient": {"phrgate": po, "fhir_converter": pt}})
    print(f"\nFHIR-Converter expected outputs compared ({len(details)} documents; phrgate vs FC):")
    print("\n".join(lines))
    print("difference categories (count over documents; key codes counted per code):")
    for c, n in sorted(categories.items(), key=lambda x: (-x[1], x[0])):
        print(f"  {n:>4}  {c}")
    with open(os.path.join(out_dir, "fhir-converter-comparison.json"), "w") as fh:
        json.dump(details, fh, indent=1, default=dict)


REC_DOMAIN = {"allergy": "Allergy", "diagnosticsreport": "Result", "encounterdx": "Problem",
              "encounter": "Encounter", "immunization": "Immunization", "medication": "Medication",
              "note": "Notes", "patient": "Demographics", "problem": "Problem", "procedure": "Procedure",
              "result": "Result", "social": "Social History", "vital": "Vital Sign",
              "providerorganization": "Organization"}


def compare_ccda_on_fhir(corpus, rows, out_dir):
    base = os.path.join(corpus, ON_FHIR)
    mine = next((r for r in rows if r["path"].startswith(os.path.join(base, "Input"))), None)
    if not os.path.isdir(base):
        return
    print("\nccda-on-fhir: the shared CCD converted by phrgate vs each vendor and HL7's recommendation (Rec)")
    if not mine or mine["bundle"] is None:
        print(f"  not compared: phrgate {mine['class'] + ': ' + mine['detail'] if mine else 'did not convert the input'}")
        return
    ours = resources_in(mine["bundle"])
    ko = key_codings(ours)
    ko_codes = {(g, c) for g, _, c in ko}
    files = []
    for domain in sorted(os.listdir(os.path.join(base, "Raw_Output"))):
        d = os.path.join(base, "Raw_Output", domain)
        if os.path.isdir(d) and domain != "Bundle-Complete":
            files += [(domain, os.path.basename(p).split("_")[0].split(" ")[0], p) for p in sorted(glob.glob(os.path.join(d, "*.json")))]
    for p in sorted(glob.glob(os.path.join(base, "Rec_Output", "*"))):
        key = re.sub(r"[^a-z]", "", os.path.basename(p).lower().replace("rec_", "").split(".")[0].replace("_draft", ""))
        domain = next((v for k, v in REC_DOMAIN.items() if key.startswith(k)), key)
        files.append((domain, "Rec", p))
    per_vendor, lines, details, unreadable = defaultdict(lambda: [0, 0, 0]), [], [], []
    for domain, vendor, p in files:
        data = lenient_json(open(p, encoding="utf-8-sig", errors="replace").read())
        if data is None:
            unreadable.append(os.path.relpath(p, base))
            continue
        theirs = resources_in(data)
        kt = key_codings(theirs)
        kt_codes = {(g, c) for g, _, c in kt}
        matched = kt_codes & ko_codes
        exact = kt & ko
        pv = per_vendor[vendor]
        pv[0] += len(kt_codes)
        pv[1] += len(matched)
        pv[2] += len(exact)
        pt, po = patient_summary(theirs), patient_summary(ours)
        extra = ""
        if pt and po:
            extra = "; Patient gender " + ("same" if pt["gender"] == po["gender"] else "DIFFERS") + \
                    ", birthDate " + ("same" if pt["birthDate"] == po["birthDate"] else "DIFFERS")
        types = Counter(r["resourceType"] for r in theirs)
        lines.append(f"  {domain:<15} {vendor:<8} {sum(types.values()):>3} resources "
                     f"({', '.join(f'{t} {n}' for t, n in sorted(types.items()))}); key codes "
                     f"{len(matched)}/{len(kt_codes)} also in phrgate ({len(exact)} same system){extra}")
        details.append({"domain": domain, "vendor": vendor, "file": os.path.relpath(p, base),
                        "key_codes_missing_in_phrgate": sorted(map(list, kt - ko))})
    print("\n".join(lines))
    print("per vendor: key codes of their resources that phrgate's Bundle also has (same code / same system too)")
    for v, (t, m, e) in sorted(per_vendor.items()):
        print(f"  {v:<10} {m:>4}/{t:<4} codes, {e:>4} with the same system")
    ct = Counter(GROUP.get(r["resourceType"], r["resourceType"]) for r in ours)
    print("  phrgate's Bundle: " + ", ".join(f"{t} {n}" for t, n in sorted(ct.items())))
    if unreadable:
        print(f"  unreadable vendor files (not JSON even leniently): {len(unreadable)}")
    with open(os.path.join(out_dir, "ccda-on-fhir-comparison.json"), "w") as fh:
        json.dump(details, fh, indent=1)


def main(argv):
    if len(argv) == 3 and argv[0] == "--list-documents":
        # "original\tpath to convert" per full document (copies made in argv[2], see above).
        for p in list_documents(argv[1]):
            print(f"{p}\t{convertible_input(p, argv[2])[0]}")
        return 0
    if len(argv) != 2:
        print("usage: ccda_report.py CORPUS_DIR OUT_DIR | --list-documents CORPUS_DIR COPY_DIR", file=sys.stderr)
        return 2
    corpus, out_dir = argv
    rows, results = classify(corpus, out_dir)
    total = print_counts(rows)
    copied = sum(1 for r in rows if r["copied"])
    if copied:
        print(f"note: {copied} documents start their root element after byte {SNIFF_WINDOW}, where "
              "`phrgate convert` stops looking for it; they were converted from a copy without the "
              "comments before the root (see docs/conformance-ccda.md)")
    with open(os.path.join(out_dir, "documents.tsv"), "w", encoding="utf-8") as fh:
        fh.write("source\tfile\tclass\tdetail\n")
        for r in rows:
            fh.write(f"{r['source']}\t{r['file']}\t{r['class']}\t{r['detail']}\n")
    warnings = Counter((w["validator"], w["resource"], w["path"], w["message"]) for res in results for w in res["warnings"])
    with open(os.path.join(out_dir, "warnings.tsv"), "w", encoding="utf-8") as fh:
        fh.write("count\tvalidator\tresource\tpath\tmessage\n")
        for (v, res, p, m), n in warnings.most_common():
            fh.write(f"{n}\t{v}\t{res}\t{p}\t{m}\n")
    by_validator = Counter(w[0] for w in warnings.elements())
    print("\nvalidator warnings (not failures; warnings.tsv): " +
          (", ".join(f"{v} {n}" for v, n in sorted(by_validator.items())) or "none"))
    resources = Counter(t for res in results for t, n in res["types"].items() for _ in range(n))
    print("resources produced: " + ", ".join(f"{t} {n}" for t, n in sorted(resources.items())))
    compare_fhir_converter(corpus, rows, out_dir)
    compare_ccda_on_fhir(corpus, rows, out_dir)
    failing = [r for r in rows if r["class"] == "FAILING"]
    if failing:
        print(f"\nFAILING ({len(failing)} documents converted to invalid FHIR):")
        for r in failing:
            print(f"  {r['file']}: {r['detail'][:2000]}")
    print(f"\n{total['valid']} valid, {total['FAILING']} failing, {total['rejected']} rejected; details in {out_dir}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
