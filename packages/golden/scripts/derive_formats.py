#!/usr/bin/env python3
"""Derives the golden lines of the training formats from the hand-written contract lines.

An implementation independent of the exporter (another language, a plain scanner over the hand-written
bytes): it cuts the canonical text of each result and event value out of fixture/lines/*.jsonl and
re-wraps it as the formats prescribe (packages/core/src/Format.ts, README "Training formats"), with the
letters' texts of fixture/texts.json, for fixture/lines into fixture/formats and for the jobs the
increment scenario changes (fixture/increment/lines, and increment/texts.json: a text that arrives) into
fixture/increment/formats. Each input has its folder: formats/<format> the default (both for the
training formats, pipeline for hf), formats/pipeline/<format> and formats/text/<format> (text also for
jsonl and hf, with their ocr_text column). Run it after changing a hand-written line, a text or a
format, and review the diff:

    python3 packages/golden/scripts/derive_formats.py
"""
import hashlib
import json
import pathlib

FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "fixture"
INSTRUCTION = (
    "You correct the structured extraction of an Indonesian police order letter (Surat Perintah, "
    '"Sprin"). The input is the pipeline\'s JSON: a header (nomor_sprint, perihal, ...) and a personnel '
    "table (personel: pangkat, nrp, nama, jabatan), or null when extraction failed. Answer with the "
    "corrected JSON only."
)
WITH_TEXT = (
    "You correct the structured extraction of an Indonesian police order letter (Surat Perintah, "
    '"Sprin"). The input is the letter\'s OCR text, then the pipeline\'s JSON: a header (nomor_sprint, '
    "perihal, ...) and a personnel table (personel: pangkat, nrp, nama, jabatan), or null when extraction "
    "failed. Read the letter, fix what the pipeline got wrong or missed, and answer with the corrected JSON "
    "only."
)
FROM_TEXT = (
    'You extract the structure of an Indonesian police order letter (Surat Perintah, "Sprin"). The input is '
    "the letter's OCR text. Answer with its JSON only: a header (nomor_sprint, perihal, ...) and a personnel "
    "table (personel: pangkat, nrp, nama, jabatan)."
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


def with_text(line, text):
    """The line with its ocr_text column last (null for none)."""
    return line[:-1] + ',"ocr_text":%s}' % ("null" if text is None else encode(text))


def derive(line, text):
    """{folder: line} of one job: its text (None: none kept) shown by each input."""
    fields = {key: line[a:b] for key, a, b in members(line, 0)}
    job = fields["job_id"]
    before, after = fields["initial_result"], fields["final_result"]
    out = {"hf": hf(line), "text/jsonl": with_text(line, text) + "\n", "text/hf": with_text(hf(line)[:-1], text) + "\n"}
    # The training formats: conversational, job_id first; nothing for a job without a final result or
    # without an input (no pipeline result, no text, or neither, as the input asks).
    if after == "null":
        return out
    for input in ("both", "pipeline", "text"):
        if input == "text":
            turns = None if text is None else (FROM_TEXT, text)
        elif input == "both" and text is not None:
            turns = (WITH_TEXT, "OCR text:\n%s\n\nPipeline JSON:\n%s" % (text, before))
        else:
            turns = None if before == "null" else (INSTRUCTION, before)
        if turns is None:
            continue
        folder = "" if input == "both" else input + "/"
        system = '{"role":"system","content":%s}' % encode(turns[0])
        user = '{"role":"user","content":%s}' % encode(turns[1])

        def assistant(text):
            return '{"role":"assistant","content":%s}' % encode(text)

        prompt = "[%s,%s]" % (system, user)
        out[folder + "prompt-completion"] = '{"job_id":%s,"prompt":%s,"completion":[%s]}\n' % (
            job,
            prompt,
            assistant(after),
        )
        out[folder + "messages"] = '{"job_id":%s,"messages":[%s,%s,%s]}\n' % (job, system, user, assistant(after))
        if before != after and before != "null":
            out[folder + "preference"] = '{"job_id":%s,"prompt":%s,"chosen":[%s],"rejected":[%s]}\n' % (
                job,
                prompt,
                assistant(after),
                assistant(before),
            )
    return out


FOLDERS = [
    prefix + fmt for prefix in ("", "pipeline/", "text/") for fmt in ("prompt-completion", "messages", "preference")
] + ["hf", "text/jsonl", "text/hf"]


def letter_key(job_id, final_result):
    """Contract §13: the number without ASCII whitespace, ASCII a-z upper-cased; else the job id."""
    header = final_result.get("header") if isinstance(final_result, dict) else None
    number = header.get("nomor_sprint") if isinstance(header, dict) else None
    if isinstance(number, str):
        key = "".join(c.upper() if "a" <= c <= "z" else c for c in number if c not in " \t\n\v\f\r")
        if key:
            return key
    return job_id.lower()


def split(key, ratios, seed):
    data = ((seed + ":") if seed else "") + key
    h = int(hashlib.sha256(data.encode()).hexdigest()[:8], 16)
    if h * sum(ratios) < ratios[0] * 2**32:
        return "train"
    if h * sum(ratios) < (ratios[0] + ratios[1]) * 2**32:
        return "validation"
    return "test"


def main():
    texts = json.loads((FIXTURE / "texts.json").read_text("utf-8"))
    # The fixture's lines, then the jobs the increment scenario changes: a line of increment/lines, or the
    # fixture's line with a text of increment/texts.json.
    for base in (FIXTURE, FIXTURE / "increment"):
        if base == FIXTURE:
            names = sorted(p.stem for p in (base / "lines").glob("*.jsonl"))
        else:
            arrived = json.loads((base / "texts.json").read_text("utf-8"))
            texts = {**texts, **arrived}
            names = sorted({p.stem for p in (base / "lines").glob("*.jsonl")} | set(arrived))
        for name in names:
            own = base / "lines" / (name + ".jsonl")
            line = (own if own.exists() else FIXTURE / "lines" / (name + ".jsonl")).read_text("utf-8").rstrip("\n")
            derived = derive(line, texts.get(name))
            for folder in FOLDERS:
                target = base / "formats" / folder / (name + ".jsonl")
                if folder not in derived:
                    target.unlink(missing_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(derived[folder], "utf-8", newline="\n")
            job_id = line[len('{"job_id":"') : len('{"job_id":"') + 36]
            key = letter_key(job_id, json.loads(line)["final_result"])
            print(
                base.relative_to(FIXTURE) / name,
                job_id,
                key,
                "by job:",
                split(job_id, (80, 10, 10), ""),
                split(job_id, (50, 25, 25), "sprin-2025"),
                "by letter:",
                split(key, (80, 10, 10), ""),
                split(key, (50, 25, 25), "sprin-2025"),
            )


main()
