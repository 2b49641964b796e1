#!/usr/bin/env python3
"""Loads exported files with the real clients: Hugging Face `datasets`, then TRL's trainers.

Run by `Loaders.test.ts`, or by hand:

    python3 apps/cli/test/loaders.py spec.json      (or the spec's JSON text, or on standard input)

The spec names the exported files and what they must hold:

    {
      "exports": {                      # name -> one export; the names below are the ones checked
        "jsonl":             {"format": "jsonl", "path": "...", "rows": 300},
        "hf":                {"format": "hf", "path": "...", "rows": 197},
        "hf-no-corrections": {"format": "hf", "path": "...", "rows": 112},
        "hf-text":           {"format": "hf", "path": "...", "rows": 300},   # with ocr_text
        "prompt-completion": {"format": "prompt-completion", "path": "...", "rows": 197},
        "messages":          {"format": "messages", "path": "...", "rows": 197},
        "preference":        {"format": "preference", "path": "...", "rows": 85}
      },
      "features": {"hf": "hf.features.json", ...},   # Features.json(format), for Features.from_dict;
                                                     # by export name where it differs (hf-text)
      "mixed": ["hf-no-corrections", "hf"],          # two hf exports of different content
      "leading_zero": {"job_id": "...", "field_path": "personel[0].nrp", "value": "08002851"},  # optional
      "train": true                                  # run the TRL checks (default true)
    }

Every check prints one line, `ok` or `FAIL`, with its time; the script exits 1 if any failed. Nothing
reaches a model hub: the tokenizer is trained here on the exported texts and the model is a tiny
random Llama.
"""

import datetime
import json
import math
import os
import shutil
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny_model  # noqa: E402

# Offline, quiet, and no cache outside our temporary directory.
WORK = tempfile.mkdtemp(prefix="gt-loaders-")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ["HF_HOME"] = os.path.join(WORK, "hf-home")
os.environ["HF_DATASETS_CACHE"] = os.path.join(WORK, "datasets-cache")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ACCELERATE_DISABLE_RICH", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

FAILURES = []
TIMES = []


def check(name):
    """Runs the decorated function now as one named check: prints `ok`/`FAIL`, its time and summary."""

    def run(fn):
        start = time.monotonic()
        try:
            summary = fn()
        except Exception as e:  # noqa: BLE001: every failure is reported, then the script exits 1
            elapsed = time.monotonic() - start
            TIMES.append((name, elapsed))
            FAILURES.append(name)
            detail = str(e) if isinstance(e, AssertionError) else f"{type(e).__name__}: {e}"
            print(f"FAIL {name} ({elapsed:.1f} s): {detail}", flush=True)
            if not isinstance(e, AssertionError):
                traceback.print_exc(limit=6)
            return None
        elapsed = time.monotonic() - start
        TIMES.append((name, elapsed))
        print(f"ok   {name} ({elapsed:.1f} s){': ' + summary if summary else ''}", flush=True)
        return summary

    return run


def read_spec():
    arg = sys.argv[1] if len(sys.argv) > 1 else "-"
    if arg == "-":
        return json.load(sys.stdin)
    if arg.lstrip().startswith("{"):
        return json.loads(arg)
    with open(arg, encoding="utf8") as f:
        return json.load(f)


SPEC = read_spec()
EXPORTS = SPEC["exports"]
TRAINING = ("prompt-completion", "messages", "preference")


def lines(name):
    with open(EXPORTS[name]["path"], encoding="utf8") as f:
        return [json.loads(line) for line in f if line.strip()]


def root_cause(e):
    """The innermost exception of a chain: what `datasets` wraps in DatasetGenerationError."""
    while (e.__cause__ or e.__context__) is not None:
        e = e.__cause__ or e.__context__
    return e


t0 = time.monotonic()
import datasets  # noqa: E402
from datasets import Features, load_dataset  # noqa: E402

datasets.disable_progress_bars()
datasets.logging.set_verbosity_error()
print(f"ok   import datasets {datasets.__version__} ({time.monotonic() - t0:.1f} s)", flush=True)


def load(paths, features=None):
    cache = os.environ["HF_DATASETS_CACHE"]
    return load_dataset("json", data_files=paths, split="train", features=features, cache_dir=cache)


def typed(value, feature):
    """A line's value as `datasets` gives it under `feature`: its RFC 3339 times (declared
    `timestamp[us, tz=UTC]`) as aware datetimes, to the microsecond; everything else as in the line."""
    if value is None:
        return None
    if isinstance(feature, (dict, Features)):
        return {k: typed(value.get(k), f) for k, f in feature.items()}
    if isinstance(feature, datasets.List):
        return [typed(v, feature.feature) for v in value]
    if isinstance(feature, datasets.Value) and feature.dtype.startswith("timestamp"):
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


FEATURES = {fmt: Features.from_dict(json.load(open(path, encoding="utf8"))) for fmt, path in SPEC["features"].items()}
LOADED = {}


# 1. Every export loads, with its declared features where the format has them: rows, columns (in the
#    order of a line: job_id first), features, and every value exactly as the line holds it.
for name, export in EXPORTS.items():
    fmt = export["format"]

    @check(f"load_dataset json {name}")
    def _():
        features = FEATURES.get(name, FEATURES.get(fmt))
        ds = load(export["path"], features)
        LOADED[name] = ds
        assert ds.num_rows == export["rows"], f"{ds.num_rows} rows, expected {export['rows']}"
        expected_columns = list(FEATURES.get(name, FEATURES["hf" if fmt == "jsonl" else fmt]))
        assert ds.column_names == expected_columns, f"columns {ds.column_names}, expected {expected_columns}"
        if features is None:
            return f"{ds.num_rows} rows, {len(ds.column_names)} columns, no features declared (plain sample)"
        assert ds.features == features, f"loaded features {ds.features} differ from the declared {features}"
        raw = [typed(line, features) for line in lines(name)]
        assert ds.to_list() == raw, "a loaded row differs from its line"
        # Without the features: the training formats infer the same ones; hf may not (no corrections).
        inferred = load(export["path"]).features
        same = inferred == features
        if fmt in TRAINING:
            assert same, f"inferred features {inferred} differ from the declared {features}"
        note = "inferred equal" if same else f"inferred without them: corrections={inferred['corrections']}"
        columns = ", ".join(ds.column_names)
        return f"{ds.num_rows} rows, columns {columns}; declared features, every value as in its line; {note}"


# 2. Two hf exports of different content (one with corrections, one without) in one load: fails
#    without the features when the file without corrections comes first, works with them either way.
if "mixed" in SPEC:
    a, b = SPEC["mixed"]
    paths = [EXPORTS[a]["path"], EXPORTS[b]["path"]]
    total = EXPORTS[a]["rows"] + EXPORTS[b]["rows"]

    @check(f"hf {a} + {b} without features fails")
    def _():
        try:
            load(paths)
        except Exception as e:  # noqa: BLE001
            cause = root_cause(e)
            text = f"{type(e).__name__}: {e} <- {type(cause).__name__}: {cause}"
            assert "Couldn't cast" in str(cause), f"unexpected error {text}"
            other = "?"
            try:
                other = f"loads ({load(list(reversed(paths))).num_rows} rows)"
            except Exception as e2:  # noqa: BLE001
                other = f"fails too ({type(root_cause(e2)).__name__})"
            return f"{text}; the other order ({b} first) {other}"
        raise AssertionError("loaded without features: the documented failure is gone (datasets changed?)")

    @check(f"hf {a} + {b} with features loads")
    def _():
        for order in (paths, list(reversed(paths))):
            ds = load(order, FEATURES["hf"])
            assert ds.num_rows == total, f"{ds.num_rows} rows, expected {total}"
            assert ds.features == FEATURES["hf"], f"features {ds.features}"
        return f"{total} rows in either order, features as declared"


# 3. The known caveat of the plain sample: it loads, but `datasets` types values by their look.
def differences(raw, loaded, path=""):
    if isinstance(raw, dict) and isinstance(loaded, dict):
        for k in raw:
            yield from differences(raw[k], loaded.get(k), f"{path}.{k}" if path else k)
    elif isinstance(raw, list) and isinstance(loaded, list) and len(raw) == len(loaded):
        for r, l in zip(raw, loaded):
            yield from differences(r, l, f"{path}[]")
    elif type(raw) is not type(loaded) or raw != loaded:
        yield path, raw, loaded


if "jsonl" in EXPORTS:

    @check("jsonl (the plain sample) caveat")
    def _():
        ds = LOADED.get("jsonl") or load(EXPORTS["jsonl"]["path"])
        changed = {}
        for raw, row in zip(lines("jsonl"), ds):
            for path, r, l in differences(raw, row):
                key = (path, type(r).__name__, type(l).__name__)
                changed.setdefault(key, [0, r, l])[0] += 1
        parts = [f"{n} x {p}: {a} {r!r} -> {b} {l!r}" for (p, a, b), (n, r, l) in sorted(changed.items())]
        if not parts:
            return "no value changed (the caveat is absent in this datasets version)"
        zero = SPEC.get("leading_zero")
        if zero:
            row = next(r for r in ds if r["job_id"] == zero["job_id"])
            event = [c for c in row["corrections"] if c["field_path"] == zero["field_path"]][-1]
            parts.append(f"leading zero: new_value {zero['value']!r} loads as {event['new_value']!r}")
        inferred = ds.features["corrections"]
        return "loads, but changes values: " + "; ".join(parts) + f" (corrections inferred as {inferred})"

    if "leading_zero" in SPEC and "hf" in EXPORTS:

        @check("hf keeps the leading-zero value")
        def _():
            zero = SPEC["leading_zero"]
            ds = LOADED.get("hf") or load(EXPORTS["hf"]["path"], FEATURES["hf"])
            row = next(r for r in ds if r["job_id"] == zero["job_id"])
            event = [c for c in row["corrections"] if c["field_path"] == zero["field_path"]][-1]
            assert json.loads(event["new_value"]) == zero["value"], f"new_value {event['new_value']!r}"
            return f"new_value {event['new_value']!r}, json.loads -> {json.loads(event['new_value'])!r}"


# 4. TRL: SFT on prompt-completion and on messages, DPO on preference, with a tokenizer and a tiny
#    model made here (tiny_model.py, as docs/formats.md shows it).
if SPEC.get("train", True) and all(n in LOADED for n in TRAINING):
    t0 = time.monotonic()
    import torch  # noqa: E402
    import transformers  # noqa: E402
    import trl  # noqa: E402
    from transformers.trainer_callback import PrinterCallback, ProgressCallback  # noqa: E402
    from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer  # noqa: E402

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(2)
    print(
        f"ok   import torch {torch.__version__}, transformers {transformers.__version__}, trl {trl.__version__} "
        f"({time.monotonic() - t0:.1f} s)",
        flush=True,
    )
    TINY = {}

    @check("tokenizer (BPE trained on the exported texts) and a tiny random Llama, saved to a directory")
    def _():
        texts = [m["content"] for row in LOADED["messages"] for m in row["messages"]]
        # Saved as a hub model is: the trainers take its path, as they would take a model id.
        path = os.path.join(WORK, "tiny-llama")
        tok, config = tiny_model.build(texts, path)
        conversation = LOADED["messages"][0]["messages"]
        text = tok.apply_chat_template(conversation, tokenize=False)
        assert tok.decode(tok(text)["input_ids"]) == text, "the tokenizer does not round-trip a conversation"
        longest = max(len(tok.apply_chat_template(r["messages"])["input_ids"]) for r in LOADED["messages"])
        assert longest < config.max_position_embeddings, f"a row of {longest} tokens"
        TINY.update(path=path, longest=longest)
        return f"vocabulary {len(tok)}, longest messages row {longest} tokens"

    def args(config, output, **extra):
        return config(
            output_dir=os.path.join(WORK, output),
            max_steps=2,
            per_device_train_batch_size=2,
            use_cpu=True,
            report_to=[],
            save_strategy="no",
            logging_steps=1,
            seed=0,
            max_length=None,  # no truncation: every row whole (the default 1024 cuts longer rows)
            **extra,
        )

    def quiet(trainer):
        """Without the per-step metric lines: the checks print their own."""
        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
        return trainer

    def batch_keys(trainer):
        return sorted(next(iter(trainer.get_train_dataloader())).keys())

    def traced(trainer, ds):
        """job_id stays beside the tokens in the prepared rows, in order, and stays out of the batch."""
        prepared = trainer.train_dataset
        assert "job_id" in prepared.column_names, f"prepared columns {prepared.column_names}"
        assert list(prepared["job_id"]) == list(ds["job_id"]), "rows were dropped or reordered in preparation"
        keys = batch_keys(trainer)
        assert "job_id" not in keys, f"job_id reached the model's batch: {keys}"
        return prepared, keys

    def trained(trainer):
        result = trainer.train()
        assert trainer.state.global_step == 2, f"global_step {trainer.state.global_step}"
        assert math.isfinite(result.training_loss), f"loss {result.training_loss}"
        return f"global_step 2, loss {result.training_loss:.3f}"

    def sft(name, answers, users, end, **extra):
        ds = LOADED[name]
        trainer = quiet(SFTTrainer(model=TINY["path"], args=args(SFTConfig, f"sft-{name}", **extra), train_dataset=ds))
        tok = trainer.processing_class
        prepared, keys = traced(trainer, ds)
        # The loss covers the answer only: in every row one run of tokens is trained (labels not -100),
        # and it decodes to the assistant's content and the end of its turn, byte for byte; the tokens
        # before it, untrained, hold the user's turn: the letter's OCR text where the row shows one.
        shown = 0
        for row, answer, user in zip(prepared, answers(ds), users(ds)):
            labels = row["labels"]
            on = [i for i, t in enumerate(labels) if t != -100]
            assert on, f"job {row['job_id']}: no token is trained (empty answer part)"
            assert on == list(range(on[0], on[-1] + 1)), f"job {row['job_id']}: the trained tokens are not one run"
            text = tok.decode([labels[i] for i in on], skip_special_tokens=False)
            expected = answer + end
            assert text == expected, f"job {row['job_id']}: trained on {text[:80]!r}..., expected {expected[:80]!r}..."
            before = tok.decode(row["input_ids"][: on[0]], skip_special_tokens=False)
            assert user in before, f"job {row['job_id']}: the prompt does not hold the user's turn {user[:80]!r}..."
            shown += user.startswith("OCR text:\n")
        assert shown > 0, "no row shows the letter's OCR text"
        on = sum(sum(1 for t in row["labels"] if t != -100) for row in prepared)
        total = sum(len(row["labels"]) for row in prepared)
        return (
            f"prepared columns {prepared.column_names} (job_id kept, in order); batch keys {keys}; every row trains "
            f"on exactly its answer + {end!r} ({on} of {total} tokens; the rest -100), its prompt untrained "
            f"({shown} of {prepared.num_rows} rows show the OCR text); {trained(trainer)}"
        )

    if "path" in TINY:

        @check("SFTTrainer on prompt-completion")
        def _():
            answers = lambda ds: [c[0]["content"] for c in ds["completion"]]  # noqa: E731
            users = lambda ds: [p[-1]["content"] for p in ds["prompt"]]  # noqa: E731
            return sft("prompt-completion", answers, users, "<|im_end|>\n")

        @check("SFTTrainer on messages (assistant_only_loss=True)")
        def _():
            answers = lambda ds: [m[-1]["content"] for m in ds["messages"]]  # noqa: E731
            users = lambda ds: [m[-2]["content"] for m in ds["messages"]]  # noqa: E731
            return sft("messages", answers, users, "<|im_end|>", assistant_only_loss=True)

        @check("SFTTrainer on messages, by default (prepared only)")
        def _():
            ds = LOADED["messages"]
            trainer = SFTTrainer(model=TINY["path"], args=args(SFTConfig, "sft-messages-default"), train_dataset=ds)
            prepared, _ = traced(trainer, ds)
            whole = sum(1 for row in prepared if row["labels"] == row["input_ids"])
            assert whole == prepared.num_rows, f"{prepared.num_rows - whole} rows have masked tokens"
            return f"without assistant_only_loss every token of all {whole} rows is trained, system and user too"

        @check("DPOTrainer on preference")
        def _():
            ds = LOADED["preference"]
            trainer = quiet(DPOTrainer(model=TINY["path"], args=args(DPOConfig, "dpo"), train_dataset=ds))
            tok = trainer.processing_class
            prepared, keys = traced(trainer, ds)
            for row, chosen, rejected in zip(prepared, ds["chosen"], ds["rejected"]):
                for side, turn in (("chosen", chosen), ("rejected", rejected)):
                    text = tok.decode(row[f"{side}_ids"], skip_special_tokens=False)
                    expected = turn[0]["content"] + "<|im_end|>\n"
                    assert text == expected, f"job {row['job_id']}: {side} is {text[:80]!r}..."
                assert row["chosen_ids"] != row["rejected_ids"], f"job {row['job_id']}: chosen == rejected"
            return (
                f"prepared columns {prepared.column_names} (job_id kept, in order); batch keys {keys}; chosen_ids and "
                f"rejected_ids are exactly the two answers + '<|im_end|>\\n'; {trained(trainer)}"
            )

elif SPEC.get("train", True):
    FAILURES.append("TRL checks")
    print("FAIL TRL checks: a training export did not load", flush=True)

shutil.rmtree(WORK, ignore_errors=True)
total = sum(t for _, t in TIMES)
print(
    f"loaders: {len(TIMES) - len(FAILURES)} checks ok, {len(FAILURES)} failing ({total:.1f} s)"
    + (f": {', '.join(FAILURES)}" if FAILURES else ""),
    flush=True,
)
sys.exit(1 if FAILURES else 0)
