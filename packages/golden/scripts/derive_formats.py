#!/usr/bin/env python3
"""Derives the golden lines of the training formats from the hand-written contract lines.

An implementation independent of the exporter (another language, a plain scanner over the hand-written
bytes): it cuts the canonical text of each result and event value out of fixture/lines/*.jsonl and
re-wraps it as the formats prescribe (packages/core/src/Format.ts, README "Training formats"), for
fixture/lines into fixture/formats and for fixture/increment/lines (the jobs the increment scenario
changes) into fixture/increment/formats. Run it after changing a hand-written line or a format, and
review the diff:

    python3 packages/golden/scripts/derive_formats.py
"""
import hashlib
import pathlib

FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "fixture"
INSTRUCTION = (
    "You correct the structured extraction of an Indonesian police order letter (Surat Perintah, "
    '"Sprin"). The input is the pipeline\'s JSON: a header (nomor_sprint, perihal, ...) and a personnel '
    "table (personel: pangkat, nrp, nama, jabatan), or null when extraction failed. Answer with the "
    "corrected JSON only."
)
SHORT = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def encode(text):
    """A JSON string as contract section 6 writes it."""
    out = []
    for ch in text:
        if ch in SHORT:
            out.append(SHORT[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def scan(s, i):
    """The end of the compact JSON value starting at i."""
    c = s[i]
    if c == '"':
        i += 1
        while s[i] != '"':
            i += 2 if s[i] == "\\" else 1
        return i + 1
    if c in "{[":
        close = "}" if c == "{" else "]"
        i += 1
        if s[i] == close:
            return i + 1
        while True:
            if c == "{":
                i = scan(s, i) + 1  # the key and the colon
            i = scan(s, i)
            if s[i] == close:
                return i + 1
            i += 1
    while s[i] not in ",}]":
        i += 1
    return i


def members(s, start):
    """(key, value start, value end) of the compact object at start."""
    out = []
    i = start + 1
    while s[i] != "}":
        key_end = scan(s, i)
        key = s[i + 1 : key_end - 1]
        value_end = scan(s, key_end + 1)
        out.append((key, key_end + 1, value_end))
        i = value_end + (1 if s[value_end] == "," else 0)
    return out


def elements(s, start):
    """(start, end) of each element of the compact array at start."""
    out = []
    i = start + 1
    while s[i] != "]":
        end = scan(s, i)
        out.append((i, end))
        i = end + (1 if s[end] == "," else 0)
    return out


def hf(line):
    """Results and event values as JSON strings of their text (null stays null); confidence a float."""
    def value(text):
        return "null" if text == "null" else encode(text)

    parts = []
    for key, a, b in members(line, 0):
        text = line[a:b]
        if key in ("initial_result", "final_result"):
            text = value(text)
        elif key == "corrections":
            events = []
            for ea, eb in elements(line, a):
                fields = []
                for k, fa, fb in members(line, ea):
                    t = line[fa:fb]
                    fields.append('"%s":%s' % (k, value(t) if k in ("old_value", "new_value") else t))
                events.append("{" + ",".join(fields) + "}")
            text = "[" + ",".join(events) + "]"
        elif key == "confidence" and text.lstrip("-").isdigit():
            text += ".0"
        parts.append('"%s":%s' % (key, text))
    return "{" + ",".join(parts) + "}\n"


def derive(line):
    fields = {key: line[a:b] for key, a, b in members(line, 0)}
    job = fields["job_id"]
    before, after = fields["initial_result"], fields["final_result"]
    out = {"hf": hf(line)}
    # The training formats: conversational, job_id first; nothing for a job without a final result.
    if after == "null":
        return out
    system = '{"role":"system","content":%s}' % encode(INSTRUCTION)
    user = '{"role":"user","content":%s}' % encode(before)

    def assistant(text):
        return '{"role":"assistant","content":%s}' % encode(text)

    prompt = "[%s,%s]" % (system, user)
    out["prompt-completion"] = '{"job_id":%s,"prompt":%s,"completion":[%s]}\n' % (job, prompt, assistant(after))
    out["messages"] = '{"job_id":%s,"messages":[%s,%s,%s]}\n' % (job, system, user, assistant(after))
    if before != after:
        out["preference"] = '{"job_id":%s,"prompt":%s,"chosen":[%s],"rejected":[%s]}\n' % (
            job,
            prompt,
            assistant(after),
            assistant(before),
        )
    return out


def split(job_id, ratios, seed):
    data = ((seed + ":") if seed else "") + job_id
    h = int(hashlib.sha256(data.encode()).hexdigest()[:8], 16)
    if h * sum(ratios) < ratios[0] * 2**32:
        return "train"
    if h * sum(ratios) < (ratios[0] + ratios[1]) * 2**32:
        return "validation"
    return "test"


def main():
    # The fixture's lines, then the lines of the jobs the increment scenario changes (increment/lines).
    for base in (FIXTURE, FIXTURE / "increment"):
        for path in sorted((base / "lines").glob("*.jsonl")):
            line = path.read_text("utf-8").rstrip("\n")
            derived = derive(line)
            for fmt in ("prompt-completion", "messages", "preference", "hf"):
                target = base / "formats" / fmt / path.name
                if fmt not in derived:
                    target.unlink(missing_ok=True)
                    continue
                text = derived[fmt]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, "utf-8", newline="\n")
            job_id = line[len('{"job_id":"') : len('{"job_id":"') + 36]
            name = path.relative_to(FIXTURE).with_suffix("")
            print(name, job_id, split(job_id, (80, 10, 10), ""), split(job_id, (50, 25, 25), "sprin-2025"))


main()
