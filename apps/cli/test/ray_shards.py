#!/usr/bin/env python3
"""Runs a plan's shards as Ray tasks, then reads them back with Ray Data (contract §15).

Run by `Ray.test.ts`, or by hand while `ground-truth plan --shards N --out plan.json` holds its snapshot:

    DATABASE_URL=postgres://... python3 apps/cli/test/ray_shards.py spec.json   (or the spec's JSON text)

    {
      "cli": ["ground-truth"],      # the command that starts the CLI (the test: [node, bin/ground-truth.mjs])
      "plan": "plan.json",          # the plan file; its `shards` say how many there are
      "out": "parts/",              # the folder the shards are written into, part-0000I-of-0000N.jsonl
      "temp_dir": "/tmp/gt-ray-x"   # optional: Ray's temporary folder (its session files, sockets, logs)
    }

Ray runs on this machine only (`ray.init(num_cpus=2)`: no dashboard, no usage stats, nothing from the
network). Each shard is one task: `ground-truth export --plan plan.json --shard I --out FILE` in a
subprocess. Prints one line of JSON on standard output: the rows Ray Data read, the sorted job ids it
read, and each shard's file, rows, bytes, SHA-256 and the task's process. Exits 1 if a shard failed.
"""

import hashlib
import json
import os
import subprocess
import sys
import time

# Offline and quiet: no usage stats, no dashboard, no progress bars.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_USAGE_STATS_PROMPT_ENABLED", "0")
os.environ.setdefault("RAY_DISABLE_DOCKER_CPU_WARNING", "1")
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("TQDM_DISABLE", "1")

import ray  # noqa: E402


@ray.remote(num_cpus=1)
def export_shard(cli, plan, shard, out):
    """Writes one shard of the plan: the same command on any machine that reaches the database."""
    r = subprocess.run(
        [*cli, "export", "--plan", plan, "--shard", str(shard), "--out", out],
        capture_output=True,
        text=True,
    )  # DATABASE_URL: in the task's environment (ray.init's runtime_env below)
    return {"shard": shard, "code": r.returncode, "stderr": r.stderr, "pid": os.getpid()}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(spec):
    cli, plan, out = spec["cli"], spec["plan"], spec["out"]
    with open(plan, encoding="utf-8") as f:
        count = len(json.load(f)["shards"])
    os.makedirs(out, exist_ok=True)
    names = [os.path.join(out, f"part-{i:05d}-of-{count:05d}.jsonl") for i in range(count)]

    started = time.monotonic()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        _temp_dir=spec.get("temp_dir"),
        log_to_driver=False,
        runtime_env={"env_vars": {"DATABASE_URL": os.environ["DATABASE_URL"]}},
    )
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        initialised = time.monotonic()
        tasks = ray.get([export_shard.remote(cli, plan, i, name) for i, name in enumerate(names)])
        exported = time.monotonic()
        failed = [t for t in tasks if t["code"] != 0]
        if failed:
            print(json.dumps({"failed": failed}))
            return 1
        ds = ray.data.read_json(out)
        rows = ds.count()
        ids = sorted(row["job_id"] for row in ds.select_columns(["job_id"]).iter_rows())
        read = time.monotonic()
    finally:
        ray.shutdown()
    result = {
        "rows": rows,
        "ids": ids,
        "driver_pid": os.getpid(),
        "shards": [
            {
                "path": os.path.basename(name),
                "rows": sum(1 for _ in open(name, "rb")),
                "bytes": os.path.getsize(name),
                "sha256": sha256(name),
                "pid": task["pid"],
                "stderr": task["stderr"],
            }
            for name, task in zip(names, tasks)
        ],
        "seconds": {
            "init": round(initialised - started, 1),
            "export": round(exported - initialised, 1),
            "read": round(read - exported, 1),
            "total": round(time.monotonic() - started, 1),
        },
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    arg = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
    if os.path.isfile(arg):
        with open(arg, encoding="utf-8") as f:
            arg = f.read()
    sys.exit(main(json.loads(arg)))
