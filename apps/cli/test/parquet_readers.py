#!/usr/bin/env python3
"""Reads exported Parquet files with the real readers: pyarrow, DuckDB, polars and Hugging Face `datasets`.

Run by `Parquet.test.ts`, or by hand: `python3 apps/cli/test/parquet_readers.py spec.json`, where

    {
      "sample": {"parquet": "hf.parquet", "jsonl": "hf.jsonl"},       # the sample (jsonl as hf), and its hf lines
      "no_corrections": "none.parquet",                               # a file whose jobs have no corrections
      "training": {"messages": "m.parquet", ...},                     # a training format's file
      "leading_zero": {"job_id": "...", "value": "08002851"},         # an NRP a reviewer wrote with a leading zero
      "datasets": ["folder", ...]                                     # dataset folders for load_dataset(DIR) (optional)
    }

Each reader must give the declared types (not ones it guessed) and the values of the lines. Every check
prints one line, `ok` or `FAIL`; the script exits 1 if any failed.
"""

import datetime
import json
import os
import sys
import tempfile
import traceback

WORK = tempfile.mkdtemp(prefix="gt-parquet-")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ["HF_HOME"] = os.path.join(WORK, "hf-home")
os.environ["HF_DATASETS_CACHE"] = os.path.join(WORK, "datasets-cache")
os.environ.setdefault("TQDM_DISABLE", "1")

import datasets  # noqa: E402
import duckdb  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

FAILURES = []
COUNT = 0


def check(name):
    def run(fn):
        global COUNT
        COUNT += 1
        try:
            fn()
            print(f"ok    {name}")
        except Exception:  # noqa: BLE001: every failure is reported, then the next check runs
            FAILURES.append(name)
            print(f"FAIL  {name}\n{traceback.format_exc()}")

    return run


spec_arg = sys.argv[1]
spec = json.load(open(spec_arg)) if os.path.exists(spec_arg) else json.loads(spec_arg)
sample = spec["sample"]
lines = [json.loads(line) for line in open(sample["jsonl"], encoding="utf-8")]
zero = spec["leading_zero"]

UTC_US = pa.timestamp("us", tz="UTC")
STRING = pa.string()
CORRECTION = pa.struct(
    [
        ("field_path", STRING),
        ("old_value", STRING),
        ("new_value", STRING),
        ("corrected_by", STRING),
        ("reason", STRING),
        ("corrected_at", UTC_US),
    ]
)
SAMPLE = pa.schema(
    [
        ("job_id", STRING),
        ("filename", STRING),
        ("source_kind", STRING),
        ("approved", pa.bool_()),
        ("reviewed_by", STRING),
        ("reviewed_at", UTC_US),
        ("created_at", UTC_US),
        ("initial_result", STRING),
        ("final_result", STRING),
        ("corrections", pa.list_(pa.field("element", CORRECTION))),
        ("review_flags", pa.list_(pa.field("element", STRING))),
        ("confidence", pa.float64()),
    ]
)
TURNS = pa.list_(pa.field("element", pa.struct([("role", STRING), ("content", STRING)])))
TRAINING = {
    "prompt-completion": ["prompt", "completion"],
    "messages": ["messages"],
    "preference": ["prompt", "chosen", "rejected"],
}


def instant(text):
    """An RFC 3339 `...Z` time of the lines as an aware datetime, microseconds kept."""
    return None if text is None else datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


@check("pyarrow: the sample's declared schema, and the values of its hf lines (times to the microsecond)")
def _():
    table = pq.read_table(sample["parquet"])
    assert table.schema.equals(SAMPLE), table.schema
    rows = table.to_pylist()
    assert len(rows) == len(lines), (len(rows), len(lines))
    for row, line in zip(rows, lines):
        expected = dict(line)
        expected["reviewed_at"] = instant(line["reviewed_at"])
        expected["created_at"] = instant(line["created_at"])
        expected["corrections"] = [dict(c, corrected_at=instant(c["corrected_at"])) for c in line["corrections"]]
        assert row == expected, (row["job_id"], row, expected)
    assert rows[0]["created_at"].tzinfo is not None


@check("pyarrow: an NRP a reviewer wrote with a leading zero stays text, in final_result and in the correction")
def _():
    rows = pq.read_table(sample["parquet"]).to_pylist()
    row = next(r for r in rows if r["job_id"] == zero["job_id"])
    assert json.loads(row["final_result"])["personel"][0]["nrp"] == zero["value"]
    assert [c["new_value"] for c in row["corrections"] if c["field_path"] == "personel[0].nrp"][-1] == json.dumps(
        zero["value"]
    )


@check("pyarrow: a file whose jobs have no corrections still types corrections as a list of structs")
def _():
    table = pq.read_table(spec["no_corrections"])
    assert table.schema.equals(SAMPLE), table.schema
    assert table.num_rows > 0 and all(len(c) == 0 for c in table.column("corrections").to_pylist())


@check("duckdb: TIMESTAMP WITH TIME ZONE, a list of structs, the leading zero kept")
def _():
    con = duckdb.connect()
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '{sample['parquet']}')").fetchall())
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE", types
    assert types["reviewed_at"] == "TIMESTAMP WITH TIME ZONE", types
    assert types["corrections"].startswith("STRUCT(field_path VARCHAR") and types["corrections"].endswith(
        "corrected_at TIMESTAMP WITH TIME ZONE)[]"
    ), types
    assert types["review_flags"] == "VARCHAR[]" and types["confidence"] == "DOUBLE", types
    con.execute("SET TimeZone = 'UTC'")
    got = con.execute(
        f"SELECT strftime(created_at, '%Y-%m-%dT%H:%M:%S.%fZ'), final_result->>'$.personel[0].nrp' FROM '{sample['parquet']}' WHERE job_id = ?",
        [zero["job_id"]],
    ).fetchone()
    line = next(line for line in lines if line["job_id"] == zero["job_id"])
    assert instant(got[0]) == instant(line["created_at"]), (got, line["created_at"])
    assert got[1] == zero["value"], got
    assert con.execute(f"SELECT count(*) FROM '{sample['parquet']}'").fetchone()[0] == len(lines)


@check("polars: Datetime(us, UTC), List(Struct), strings for every result and value")
def _():
    frame = pl.read_parquet(sample["parquet"])
    schema = frame.schema
    assert schema["created_at"] == pl.Datetime("us", "UTC"), schema
    assert schema["reviewed_at"] == pl.Datetime("us", "UTC"), schema
    assert schema["final_result"] == pl.String and schema["initial_result"] == pl.String, schema
    corrections = schema["corrections"]
    assert isinstance(corrections, pl.List) and isinstance(corrections.inner, pl.Struct), corrections
    fields = {f.name: f.dtype for f in corrections.inner.fields}
    assert fields["new_value"] == pl.String and fields["corrected_at"] == pl.Datetime("us", "UTC"), fields
    assert schema["review_flags"] == pl.List(pl.String) and schema["confidence"] == pl.Float64, schema
    assert frame.height == len(lines)


@check("datasets: Value('timestamp[us, tz=UTC]'), List of the correction's struct, the leading zero kept")
def _():
    ds = datasets.load_dataset("parquet", data_files=sample["parquet"], split="train")
    f = ds.features
    assert f["created_at"] == datasets.Value("timestamp[us, tz=UTC]"), f
    assert f["corrections"].feature["corrected_at"] == datasets.Value("timestamp[us, tz=UTC]"), f
    assert f["final_result"] == datasets.Value("string") and f["review_flags"].feature == datasets.Value("string"), f
    assert ds.num_rows == len(lines)
    row = next(r for r in ds if r["job_id"] == zero["job_id"])
    assert json.loads(row["final_result"])["personel"][0]["nrp"] == zero["value"]
    assert row["created_at"].tzinfo is not None


@check("the training formats: lists of struct<role, content> in pyarrow, polars and datasets")
def _():
    for format, path in spec["training"].items():
        table = pq.read_table(path)
        assert table.schema.equals(pa.schema([("job_id", STRING)] + [(c, TURNS) for c in TRAINING[format]])), (
            format,
            table.schema,
        )
        assert pl.read_parquet(path).schema[TRAINING[format][0]] == pl.List(
            pl.Struct({"role": pl.String, "content": pl.String})
        ), format
        ds = datasets.load_dataset("parquet", data_files=path, split="train")
        assert ds.num_rows == table.num_rows > 0, format
        turns = ds[0][TRAINING[format][0]]
        assert turns[0]["role"] == "system", (format, turns)


for folder in spec.get("datasets", []):

    @check(f"datasets.load_dataset({os.path.basename(folder)}): every split, the sample's types")
    def _():
        ds = datasets.load_dataset(folder)
        manifest = json.load(open(os.path.join(folder, "manifest.json")))
        for split, d in ds.items():
            rows = sum(f["rows"] for f in manifest["files"] if f["split"] == split)
            assert d.num_rows == rows, (split, d.num_rows, rows)
            if "created_at" in d.features:
                assert d.features["created_at"] == datasets.Value("timestamp[us, tz=UTC]"), d.features
        assert ds["train"].num_rows > 0


print(f"parquet readers: {COUNT - len(FAILURES)} checks ok, {len(FAILURES)} failing")
sys.exit(1 if FAILURES else 0)
