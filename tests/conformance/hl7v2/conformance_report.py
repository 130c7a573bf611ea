#!/usr/bin/env python3
# Second half of run_conformance.sh: reads the `phrgate convert` outputs and the validator
# results it left in OUT_DIR, classifies every message (valid / rejected / FAILING), prints the
# counts per corpus source, compares with FHIR-Converter's expected outputs, writes details.
# Exit 1 when any converted message is invalid, else 0. Stdlib only; the HL7 v2 splitter is
# check_fidelity.py's. Never prints patient data to stdout (values go to OUT_DIR files only).
import glob
import json
import os
import sys

sys.dont_write_bytecode = True  # never leave __pycache__ in the source tree
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_fidelity as hl7  # noqa: E402  (the independent HL7 v2 parser)
import phrgate_output as phrgate_out  # noqa: E402

CLASSES = ("valid", "rejected-malformed", "rejected-unsupported", "FAILING", "non-message-file")
HEADINGS = ("valid", "rej. malformed", "rej. unsupported", "FAILING", "non-message files")


def load_runs(out_dir):
    """[(path, exit status, stdout, stderr)] in the order run_conformance.sh converted them."""
    runs = []
    with open(os.path.join(out_dir, "convert", "files.tsv"), encoding="utf-8") as fh:
        for row in fh:
            ident, rc, path = row.rstrip("\n").split("\t", 2)
            base = os.path.join(out_dir, "convert", ident)
            with open(base + ".ndjson", encoding="utf-8", errors="replace") as o, \
                    open(base + ".err", encoding="utf-8", errors="replace") as e:
                runs.append((path, int(rc), o.read(), e.read()))
    return runs


def classify(corpus, out_dir):
    """One row per message (or per file phrgate refused as a whole)."""
    results = [json.loads(l) for l in open(os.path.join(out_dir, "validation.ndjson"), encoding="utf-8")]
    rows, line_base = [], 0
    for path, rc, stdout_text, stderr_text in load_runs(out_dir):
        source, rel = phrgate_out.source_of(path, corpus), os.path.relpath(path, corpus)
        bundles, errors, file_error = phrgate_out.parse_convert_output(path, stdout_text, stderr_text)
        text = hl7.read_text(path)
        messages = hl7.split_messages(text) if hl7.starts_like_hl7v2(text) else []
        row = lambda i, cls, detail, mtype="", bundle=None: rows.append(
            {"source": source, "file": rel, "index": i, "type": mtype, "class": cls,
             "detail": detail, "bundle": bundle})
        if rc not in (0, 1):  # 0 all converted, 1 some rejected; else a crash or the timeout
            row(0, "FAILING", f"phrgate convert exited with status {rc}")
        if file_error:
            cls = "rejected-malformed" if hl7.starts_like_hl7v2(text) else "non-message-file"
            row(0, cls, f"phrgate: {file_error}")
        elif len(bundles) + len(errors) < len(messages):
            row(0, "FAILING", f"phrgate accounted for {len(bundles) + len(errors)} of {len(messages)} messages")
        for i in sorted(set(bundles) | set(errors)):
            mtype = messages[i - 1].type() if i <= len(messages) else "?"
            if i in errors:
                if phrgate_out.UNSUPPORTED.search(errors[i]):
                    row(i, "rejected-unsupported", f"rejected: unsupported type {mtype}", mtype)
                else:
                    row(i, "rejected-malformed", f"rejected: {errors[i]}", mtype)
                continue
            number, bundle_text = bundles[i]
            result = results[line_base + number]
            issues = result["errors"]
            detail = "; ".join(f"[{e['validator']}] {e['resource']}"
                               f"{'#' + str(e['entry']) if e['entry'] >= 0 else ''} "
                               f"{e['path']}: {e['message']}" for e in issues)
            row(i, "FAILING" if issues else "valid", detail, mtype, bundle_text)
        line_base += len(bundles)
    if line_base != len(results):
        raise SystemExit(f"validator results ({len(results)}) do not match bundles ({line_base})")
    return rows, results


def print_counts(rows):
    per = defaultdict(Counter)
    for r in rows:
        per[r["source"]][r["class"]] += 1
    print(f"{'corpus source':<50}" + "".join(f"{h:>18}" for h in HEADINGS))
    total = Counter()
    for s in sorted(per):
        total.update(per[s])
        print(f"{s:<50}" + "".join(f"{per[s][c]:>18}" for c in CLASSES))
    print(f"{'TOTAL':<50}" + "".join(f"{total[c]:>18}" for c in CLASSES))
    unsupported = Counter(r["type"] or "?" for r in rows if r["class"] == "rejected-unsupported")
    print("\nrejected: unsupported type " + ", ".join(f"{t} ({n})" for t, n in sorted(unsupported.items())))
    malformed = Counter(r["detail"] for r in rows if r["class"] == "rejected-malformed")
    print("rejected as malformed:")
    for d, n in malformed.most_common():
        print(f"  {n:>4}  {d}")
    return total


# ---------------------------------------------------------------- FHIR-Converter -----------

def resources_of(bundle):
    return [e.get("resource", {}) for e in (bundle or {}).get("entry", []) if e.get("resource")]


def obs_codings(resources):
    return {(c.get("system", ""), c.get("code", "")) for r in resources if r.get("resourceType") == "Observation"
            for c in (r.get("code") or {}).get("coding", [])}


def identifier_values(resources, rtype):
    return {i.get("value") for r in resources if r.get("resourceType") == rtype
            for i in r.get("identifier", []) if i.get("value")}


def compare_fhir_converter(corpus, rows, out_dir):
    """Per message that both converted: resource types and counts, Observation codings,
    Patient.gender, identifier values. Summary to stdout, values to OUT_DIR."""
    base = os.path.join(corpus, "hl7v2", "microsoft-FHIR-Converter")
    expected = sorted(glob.glob(os.path.join(base, "**", "Expected", "Hl7v2", "*", "*-expected.json"), recursive=True))
    inputs = {}
    for p in glob.glob(os.path.join(base, "**", "*.hl7"), recursive=True):
        inputs.setdefault(os.path.basename(p)[:-4], p)
    by_file = defaultdict(list)
    for r in rows:
        by_file[r["file"]].append(r)
    lines, details, categories, not_compared = [], [], Counter(), Counter()
    for exp_path in expected:
        stem = os.path.basename(exp_path)[: -len("-expected.json")]
        src = inputs.get(stem)
        if not src:
            continue
        mine = [r for r in by_file[os.path.relpath(src, corpus)] if r["index"] >= 1]
        if len(mine) != 1 or mine[0]["bundle"] is None:
            if len(mine) == 1 and mine[0]["class"] == "rejected-unsupported":
                not_compared[mine[0]["type"]] += 1
            else:
                why = mine[0]["detail"] if len(mine) == 1 else f"{len(mine)} messages"
                lines.append(f"  {stem:<34} not compared ({why})")
            continue
        ours = resources_of(json.loads(mine[0]["bundle"]))
        theirs = resources_of(json.load(open(exp_path, encoding="utf-8-sig")))
        ct_ours = Counter(r.get("resourceType") for r in ours)
        ct_theirs = Counter(r.get("resourceType") for r in theirs)
        only_theirs = sorted(t for t in ct_theirs if t not in ct_ours)
        only_ours = sorted(t for t in ct_ours if t not in ct_theirs)
        count_diff = sorted(t for t in ct_ours if t in ct_theirs and ct_ours[t] != ct_theirs[t])
        co, cc = obs_codings(ours), obs_codings(theirs)
        codes_o, codes_t = {c for _, c in co}, {c for _, c in cc}
        same = co & cc
        sys_diff = {c for s, c in (co - cc) if c in codes_t}
        g_o = next((r.get("gender") for r in ours if r.get("resourceType") == "Patient"), None)
        g_t = next((r.get("gender") for r in theirs if r.get("resourceType") == "Patient"), None)
        ids = {}
        for rtype in sorted(set(ct_ours) & set(ct_theirs)):
            io, it = identifier_values(ours, rtype), identifier_values(theirs, rtype)
            if io or it:
                ids[rtype] = (len(io & it), sorted(io - it), sorted(it - io))
        for t in only_theirs:
            categories[f"resource type only in FHIR-Converter: {t}"] += 1
        for t in only_ours:
            categories[f"resource type only in phrgate: {t}"] += 1
        for t in count_diff:
            categories[f"different count of {t}"] += 1
        if sys_diff:
            categories["Observation code: same code, different system"] += 1
        if codes_o - codes_t:
            categories["Observation code only in phrgate"] += 1
        if codes_t - codes_o:
            categories["Observation code only in FHIR-Converter"] += 1
        if g_o != g_t:
            categories[f"Patient.gender differs ({g_o} vs {g_t})"] += 1
        for rtype, (_, o_only, t_only) in ids.items():
            if t_only:
                categories[f"identifier value only in FHIR-Converter: {rtype}"] += 1
            if o_only:
                categories[f"identifier value only in phrgate: {rtype}"] += 1
        lines.append(
            f"  {stem:<34} types: {sum(ct_ours.values())} vs {sum(ct_theirs.values())} resources"
            f" ({len(only_theirs)} types only FC, {len(only_ours)} only phrgate, {len(count_diff)} counts differ);"
            f" obs codings: {len(same)} same, {len(sys_diff)} system differs,"
            f" {len(codes_o - codes_t)} only phrgate, {len(codes_t - codes_o)} only FC;"
            f" gender {'same' if g_o == g_t else 'DIFFERS'};"
            f" ids: " + ", ".join(f"{t} {n} same/{len(a)} only phrgate/{len(b)} only FC" for t, (n, a, b) in ids.items()))
        details.append({"message": stem, "phrgate_types": ct_ours, "fhir_converter_types": ct_theirs,
                        "observation_codings_only_phrgate": sorted(map(list, co - cc)),
                        "observation_codings_only_fhir_converter": sorted(map(list, cc - co)),
                        "gender": [g_o, g_t],
                        "identifiers": {t: {"only_phrgate": a, "only_fhir_converter": b} for t, (n, a, b) in ids.items()}})
    print(f"\nFHIR-Converter expected outputs compared ({len(details)} messages; phrgate vs FC):")
    print("\n".join(lines))
    if not_compared:
        print(f"  not compared, phrgate rejects their type ({sum(not_compared.values())} samples): "
              + ", ".join(sorted(not_compared)))
    print("difference categories (messages):")
    for c, n in sorted(categories.items()):
        print(f"  {n:>3}  {c}")
    with open(os.path.join(out_dir, "fhir-converter-comparison.json"), "w") as fh:
        json.dump(details, fh, indent=1, default=dict)


def main(argv):
    if len(argv) != 2:
        print("usage: conformance_report.py CORPUS_DIR OUT_DIR", file=sys.stderr)
        return 2
    corpus, out_dir = argv
    rows, results = classify(corpus, out_dir)
    total = print_counts(rows)
    with open(os.path.join(out_dir, "messages.tsv"), "w", encoding="utf-8") as fh:
        fh.write("source\tfile\tmessage\ttype\tclass\tdetail\n")
        for r in rows:
            fh.write(f"{r['source']}\t{r['file']}\t{r['index']}\t{r['type']}\t{r['class']}\t{r['detail']}\n")
    warnings = Counter((w["validator"], w["resource"], w["path"], w["message"]) for res in results for w in res["warnings"])
    with open(os.path.join(out_dir, "warnings.tsv"), "w", encoding="utf-8") as fh:
        fh.write("count\tvalidator\tresource\tpath\tmessage\n")
        for (v, res, p, m), n in warnings.most_common():
            fh.write(f"{n}\t{v}\t{res}\t{p}\t{m}\n")
    by_validator = Counter(w[0] for w in warnings.elements())
    print("\nvalidator warnings (not failures; warnings.tsv): " +
          (", ".join(f"{v} {n}" for v, n in sorted(by_validator.items())) or "none"))
    compare_fhir_converter(corpus, rows, out_dir)
    failing = [r for r in rows if r["class"] == "FAILING"]
    if failing:
        print(f"\nFAILING ({len(failing)} messages converted to invalid FHIR):")
        for r in failing:
            print(f"  {r['file']} message {r['index']} ({r['type']}): {r['detail']}")
    print(f"\n{total['valid']} valid, {total['FAILING']} failing, "
          f"{total['rejected-malformed'] + total['rejected-unsupported']} rejected; details in {out_dir}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
