#!/usr/bin/env python3
"""Reads the exports with the real readers: pyarrow, pandas, polars, DuckDB, Hugging Face `datasets` and Ray.

Run by `Readers.test.ts`, or by hand: `python3 apps/cli/test/readers.py spec.json`, where

    {
      "dir": "folder",                                                # where the docs' commands ran
      "readme": "readme.py",                                          # the docs' Python, run in dir
      "no_corrections": "none.parquet",                               # a file whose jobs have no corrections
      "training": {"messages": "m.parquet", ...},                     # a training format's file
      "leading_zero": {"job_id": "...", "value": "08002851"},         # an NRP a reviewer wrote with a leading zero
      "datasets": ["folder", ...]                                     # dataset folders for load_dataset(DIR) (optional)
    }

The Python of docs/formats.md (its `readers-test: python` block) loads the exports twelve ways, into `parquet` and
`jsonl` (a reader's name to what it gave); each must hold the declared types (not ones it guessed) and
every value of the hf lines. Ray runs on this machine only (2 CPUs, no dashboard, nothing from the
network). Every check prints one line, `ok` or `FAIL`; the script exits 1 if any failed.
"""

import datetime
import json
import logging
import os
import sys
import tempfile
import traceback

WORK = tempfile.mkdtemp(prefix="gt-readers-")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ["HF_HOME"] = os.path.join(WORK, "hf-home")
os.environ["HF_DATASETS_CACHE"] = os.path.join(WORK, "datasets-cache")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_DISABLE_DOCKER_CPU_WARNING", "1")
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")

import datasets  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import ray  # noqa: E402

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
zero = spec["leading_zero"]
os.chdir(spec["dir"])
# The docs' files: the sample as Parquet, and its hf lines, the values every reader must give.
PARQUET, HF = "corpus.parquet", "corpus-hf.jsonl"
HF_LINES = [json.loads(line) for line in open(HF, encoding="utf-8")]

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


@check("pyarrow: the sample's declared schema, exactly")
def _():
    table = pq.read_table(PARQUET)
    assert table.schema.equals(SAMPLE), table.schema
    assert table.num_rows == len(HF_LINES) > 0, table.num_rows


@check("pyarrow: a file whose jobs have no corrections still types corrections as a list of structs")
def _():
    table = pq.read_table(spec["no_corrections"])
    assert table.schema.equals(SAMPLE), table.schema
    assert table.num_rows > 0 and all(len(c) == 0 for c in table.column("corrections").to_pylist())


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



@check("the docs' Parquet commands: the sample and a training format typed, 8 parts of the manifest's rows")
def _():
    folder = spec["readme_parquet"]
    assert pq.read_table(os.path.join(folder, "corpus.parquet")).schema.equals(SAMPLE)
    train = pq.read_table(os.path.join(folder, "train.parquet"))
    assert train.schema.equals(pa.schema([("job_id", STRING), ("messages", TURNS)])), train.schema
    assert train.num_rows > 0
    manifest = json.load(open(os.path.join(folder, "parts", "manifest.json")))
    names = [f"part-{i:05d}-of-00008.parquet" for i in range(8)]
    assert [f["path"] for f in manifest["files"]] == names, manifest["files"]
    counts = [pq.read_table(os.path.join(folder, "parts", n)).num_rows for n in names]
    assert counts == [f["rows"] for f in manifest["files"]] and sum(counts) == manifest["rows"] > 0, counts


# The docs' Python, as written, in the folder its commands wrote.
ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
         _temp_dir=os.path.join(WORK, "ray"))
ray.data.DataContext.get_current().enable_progress_bars = False
logging.getLogger("ray.data").setLevel(logging.ERROR)  # configured when ray.data is first used: each read at INFO
README = {}
exec(compile(open(spec["readme"], encoding="utf-8").read(), "docs/formats.md (readers-test: python)", "exec"), README)


def plain(value):
    """A reader's value as plain Python: arrays as lists, its timestamps as aware datetimes, nulls as None."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:  # pandas' null in a float column
        return None
    return value


def rows(reader, loaded):
    """Every row a reader gave, as plain Python."""
    if reader == "pyarrow":
        return loaded.to_pylist()
    if reader == "pandas":
        return [plain(r) for r in loaded.to_dict("records")]
    if reader == "polars":
        return loaded.to_dicts()
    if reader == "duckdb":  # through Arrow: DuckDB's own datetimes need pytz
        return loaded.to_arrow_table().to_pylist() if hasattr(loaded, "to_arrow_table") else loaded.arrow().to_pylist()
    if reader == "datasets":
        return loaded.to_list()
    if reader == "ray":
        return [plain(r) for r in loaded.take_all()]
    raise AssertionError(f"no reader {reader}")


def time_types(reader, loaded):
    """The types a reader gives created_at, reviewed_at and a correction's corrected_at, as it names them."""
    if reader in ("pyarrow", "ray"):
        s = loaded.schema if reader == "pyarrow" else loaded.schema().base_schema
        return [str(s.field("created_at").type), str(s.field("reviewed_at").type),
                str(s.field("corrections").type.value_type.field("corrected_at").type)]
    if reader == "pandas":
        return [str(loaded.dtypes["created_at"]), str(loaded.dtypes["reviewed_at"])]
    if reader == "polars":
        inner = {f.name: f.dtype for f in loaded.schema["corrections"].inner.fields}
        return [str(loaded.schema["created_at"]), str(loaded.schema["reviewed_at"]), str(inner["corrected_at"])]
    if reader == "duckdb":
        types = dict(zip(loaded.columns, map(str, loaded.types)))
        return [types["created_at"], types["reviewed_at"], types["corrections"].split("corrected_at ")[-1].removesuffix(")[]")]
    if reader == "datasets":
        f = loaded.features
        return [f["created_at"].dtype, f["reviewed_at"].dtype, f["corrections"].feature["corrected_at"].dtype]
    raise AssertionError(f"no reader {reader}")


UTC_NAMES = {
    "pyarrow": "timestamp[us, tz=UTC]",
    "ray": "timestamp[us, tz=UTC]",
    "datasets": "timestamp[us, tz=UTC]",
    "pandas": "datetime64[us, UTC]",
    "polars": "Datetime(time_unit='us', time_zone='UTC')",
    "duckdb": "TIMESTAMP WITH TIME ZONE",
}


def expected(line):
    """An hf line as a typed reader gives it: its times as aware datetimes, to the microsecond."""
    return dict(
        line,
        reviewed_at=instant(line["reviewed_at"]),
        created_at=instant(line["created_at"]),
        corrections=[dict(c, corrected_at=instant(c["corrected_at"])) for c in line["corrections"]],
    )


EXPECTED = {line["job_id"]: expected(line) for line in HF_LINES}

for source in ("parquet", "jsonl"):
    for reader, loaded in README[source].items():

        @check(f"{source} in {reader}: UTC instants, the leading zero kept, every value of the hf lines")
        def _():
            want = UTC_NAMES[reader]
            assert all(t == want for t in time_types(reader, loaded)), time_types(reader, loaded)
            got = {r["job_id"]: r for r in rows(reader, loaded)}
            assert len(got) == len(EXPECTED), (len(got), len(EXPECTED))
            row = got[zero["job_id"]]
            assert json.loads(row["final_result"])["personel"][0]["nrp"] == zero["value"], row["final_result"]
            assert row["created_at"].utcoffset() == datetime.timedelta(0), row["created_at"]
            for job, want_row in EXPECTED.items():
                assert got[job] == want_row, (job, got[job], want_row)


@check("the docs' DuckDB query: each job's first NRP as JSON text, the leading zero kept")
def _():
    nrps = dict(README["nrps"])
    assert len(nrps) == len(HF_LINES), len(nrps)
    assert nrps[zero["job_id"]] == zero["value"], nrps[zero["job_id"]]
    assert all(v is None or isinstance(v, str) for v in nrps.values())

ray.shutdown()
print(f"readers: {COUNT - len(FAILURES)} checks ok, {len(FAILURES)} failing")
sys.exit(1 if FAILURES else 0)
