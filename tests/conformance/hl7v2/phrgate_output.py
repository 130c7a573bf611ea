# Reads what `phrgate convert FILE` prints (NDJSON Bundles on stdout, one "FILE: message N
# [control id X]: error" line per message it cannot convert on stderr) and gives each Bundle its
# message index in the file. Used by check_fidelity.py and conformance_report.py; knows nothing
# of phrgate's code, only its documented CLI output. Never changes the corpus.
import os
import re
import subprocess

ERROR_LINE = re.compile(r"^message (\d+)(?: control id (.*?))?: (.*)$")
UNSUPPORTED = re.compile(r"unsupported (message type|trigger)", re.I)


def corpus_files(corpus):
    root = os.path.join(corpus, "hl7v2")
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.join(d, n) for n in names]
    return sorted(out)


def source_of(path, corpus):
    rel = os.path.relpath(path, os.path.join(corpus, "hl7v2"))
    return rel.split(os.sep)[0]


def parse_convert_output(path, stdout_text, stderr_text):
    """Reads `phrgate convert FILE` output. Returns (bundles, errors, file_error): bundles maps
    1-based message index -> (line number in stdout, JSON text), errors index -> error text;
    a bundle's index is the next one that no stderr line names."""
    errors, file_error = {}, None
    prefix = path + ": "
    for line in stderr_text.splitlines():
        rest = line[len(prefix):] if line.startswith(prefix) else line
        mt = ERROR_LINE.match(rest)
        if mt:
            errors[int(mt.group(1))] = mt.group(3)
        elif rest.strip():
            file_error = rest.strip()
    lines = stdout_text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    bundles, index = {}, 0
    for number, l in enumerate(lines):
        index += 1
        while index in errors:
            index += 1
        bundles[index] = (number, l.rstrip("\r"))
    return bundles, errors, file_error


def convert_file(binary, path):
    p = subprocess.run([binary, "convert", path], capture_output=True, timeout=120)
    return parse_convert_output(path, p.stdout.decode("utf-8", "replace"),
                                p.stderr.decode("utf-8", "replace"))


def control_id_of(bundle):
    for e in bundle.get("entry", []):
        r = e.get("resource", {})
        if r.get("resourceType") == "Provenance":
            for ent in r.get("entity", []):
                v = ((ent.get("what") or {}).get("identifier") or {}).get("value")
                if v is not None:
                    return v
    return None


