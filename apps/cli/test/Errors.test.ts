/**
 * Exit statuses and messages: usage errors exit 2, runtime failures exit 1, each with one readable
 * line on standard error and no stack trace; a failed or interrupted export never leaves a partial
 * corpus nor touches the previous one.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import type { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Demo, TestDatabase, TestDisk } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer, Schedule } from "effect"
import { run, start } from "./cli.js"
import { tree } from "./files.js"

const oneLine = (stderr: string) => {
  expect(stderr.endsWith("\n")).toBe(true)
  expect(stderr.trimEnd().split("\n")).toHaveLength(1)
  expect(stderr).not.toMatch(/\n\s+at /)
}

// No database is needed to reject a command line: nothing may be opened before the input is valid.
const unreachable = { DATABASE_URL: "postgres://postgres@127.0.0.1:9/none" }

describe("usage errors exit 2 with one line", () => {
  it.each([
    [
      ["export", "--approved-only", "maybe"],
      'ground-truth: --approved-only must be true, false, 1 or 0, not "maybe"'
    ],
    [
      ["export", "--has-corrections", "yes"],
      'ground-truth: --has-corrections must be true, false, 1 or 0, not "yes"'
    ],
    [
      ["export", "--since", "2025-13-01"],
      'ground-truth: --since "2025-13-01" is not a valid time: the month must be 01–12'
    ],
    [
      ["export", "--until", "tomorrow"],
      'ground-truth: --until "tomorrow" is not a valid time: expected an RFC 3339'
    ],
    [
      ["export", "--since", "2025-06-02", "--until", "2025-06-01"],
      "ground-truth: --since (2025-06-02T00:00:00Z) is later than --until (2025-06-01T00:00:00Z)"
    ],
    [
      ["export", "--since", "2025-06-01", "--since=2025-06-02"],
      "ground-truth: --since is given more than once"
    ],
    [["stats", "--since", "x"], 'ground-truth: --since "x" is not a valid time'],
    [
      ["export", "--format", "messages", "--input", "ocr"],
      'ground-truth: --input must be one of both, text, pipeline, not "ocr"'
    ],
    [["eval", "--predictions", "p.jsonl", "--input", "text"], "ground-truth: unknown flag --input for eval"],
    [["seed-demo", "--jobs", "0"], "ground-truth: --jobs must be at least 1, not 0"],
    [
      ["export", "--manifest", "-"],
      "ground-truth: --manifest - needs --out PATH: standard output holds the corpus"
    ]
  ])("%j", (args, message) =>
    Effect.gen(function* () {
      const r = yield* run(args, unreachable)
      expect(r.code).toBe(2)
      expect(r.stdout.length).toBe(0)
      expect(r.stderr.startsWith(message)).toBe(true)
      oneLine(r.stderr)
    }).pipe(Effect.runPromise))

  it.each([
    [["export", "--bogus"]],
    [["stats", "--approved-only", "true"]],
    [["frobnicate"]],
    [["seed-demo", "--jobs", "x"]]
  ])("%j is rejected by the command-line parser", (args) =>
    Effect.gen(function* () {
      const r = yield* run(args, unreachable)
      expect(r.code).toBe(2)
      expect(r.stderr).not.toMatch(/\n\s+at /)
      expect(r.stderr.length).toBeGreaterThan(0)
    }).pipe(Effect.runPromise))

  it("a bare boolean flag means true", () =>
    Effect.gen(function* () {
      // Parses, then fails on the unreachable database: exit 1, not a usage error.
      const r = yield* run(["export", "--has-corrections", "--approved-only"], unreachable)
      expect(r.code).toBe(1)
    }).pipe(Effect.runPromise))

  it("--help explains the filters", () =>
    Effect.gen(function* () {
      const r = yield* run(["export", "--help"], unreachable)
      expect(r.code).toBe(0)
      const help = r.stdout.toString("utf8")
      for (const flag of [
        "--out PATH",
        "--approved-only true|false",
        "--has-corrections true|false",
        "--since TIME",
        "--until TIME"
      ]) {
        expect(help).toContain(flag)
      }
    }).pipe(Effect.runPromise))
})

describe("runtime failures exit 1 with one line", () => {
  it("database unreachable", () =>
    Effect.gen(function* () {
      const r = yield* run(["stats"], unreachable)
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/^ground-truth: database error: .*ECONNREFUSED 127\.0\.0\.1:9/)
      oneLine(r.stderr)
    }).pipe(Effect.runPromise))

  // Checked before any connection, and never quoted: the URL may hold a password.
  it.each([
    [
      "postgres://postgres:s3cr3t-Pa55@127.0.0.1:99999/x",
      "ground-truth: DATABASE_URL: its port is not a number 1–65535 (or a password holds a / ? or #: percent-encode / ? # @ in the user name and password as %2F %3F %23 %40)"
    ],
    [
      "garbage",
      "ground-truth: DATABASE_URL: is not a URL; expected postgres://user:password@host:5432/database (or postgresql://; a socket directory goes in ?host=/var/run/postgresql)"
    ],
    [
      " ",
      "ground-truth: DATABASE_URL: holds only blanks; unset it (or set it to nothing) for the embedded database, or set it to postgres://user:password@host:5432/database"
    ]
  ])("DATABASE_URL=%j: exit 1, one line naming the variable", (url, line) =>
    Effect.gen(function* () {
      // (Were the blank URL taken for unset, as it was, the embedded database would be a throw-away one.)
      const r = yield* run(["stats"], { DATABASE_URL: url, GROUND_TRUTH_DATA_DIR: "memory://" })
      expect(r.code).toBe(1)
      expect(r.stderr).toBe(`${line}\n`)
      expect(r.stderr).not.toContain("s3cr3t")
    }).pipe(Effect.runPromise))

  it(
    "unwritable --out directory",
    () =>
      Effect.gen(function* () {
        const r = yield* run(["export", "--out", "/nonexistent-dir/corpus.jsonl"], {
          DATABASE_URL: undefined,
          GROUND_TRUTH_DATA_DIR: "memory://"
        })
        expect(r.code).toBe(1)
        expect(r.stderr).toContain("ground-truth: cannot create /nonexistent-dir/.corpus.jsonl.")
        expect(r.stderr).not.toMatch(/\n\s+at /)
      }).pipe(Effect.runPromise),
    60_000
  )
})

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "gt-cli-"))

/** A folder with a FIFO, a socket (listening while the scope lasts), a folder, a symbolic-link loop, links to each. */
const specialFiles = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = tmp()
    execFileSync("mkfifo", [path.join(dir, "fifo")])
    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen(path.join(dir, "socket"), resolve))
    fs.mkdirSync(path.join(dir, "folder"))
    fs.symlinkSync("fifo", path.join(dir, "to-fifo"))
    fs.symlinkSync("/proc/self/fd/1", path.join(dir, "to-stdout"))
    fs.symlinkSync("loop-b", path.join(dir, "loop-a"))
    fs.symlinkSync("loop-a", path.join(dir, "loop-b"))
    fs.writeFileSync(path.join(dir, "corpus.jsonl"), "")
    fs.symlinkSync("corpus.jsonl", path.join(dir, "to-corpus"))
    return { dir, server }
  }),
  ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
)

describe("outputs that are not regular files: exit 2 with one line, before the database is opened, nothing written", () => {
  it.each([
    [
      ["export", "--out", "fifo"],
      "--out fifo is a FIFO, not a regular file: name a file to write, or - for standard output"
    ],
    [["export", "--out", "to-fifo"], "--out to-fifo is a symbolic link to a FIFO, not a regular file"],
    // Standard output of a child process is a pipe or, from Node.js, a socket.
    [["export", "--out", "to-stdout"], "--out to-stdout is a symbolic link to a "],
    [["export", "--out", "socket"], "--out socket is a socket, not a regular file"],
    [["export", "--out", "folder"], "--out folder is a folder, not a regular file"],
    [["export", "--out", "."], "--out . is a folder, not a regular file"],
    [["export", "--out", "loop-a"], "--out loop-a is a loop of symbolic links"],
    [
      ["export", "--out", "x.jsonl", "--manifest", "to-fifo"],
      "--manifest to-fifo is a symbolic link to a FIFO"
    ],
    [["export", "--out", "fifo", "--format", "hf"], "--out fifo is a FIFO"],
    [["report", "--out", "fifo"], "--out fifo is a FIFO"],
    [["sync", "--out", "fifo"], "--out fifo is a FIFO"],
    [["sync", "--out", "x.jsonl", "--manifest", "socket"], "--manifest socket is a socket"],
    [["merge", "--out", "to-fifo", "changes.jsonl"], "--out to-fifo is a symbolic link to a FIFO"],
    [["export", "--dataset", "fifo"], "--dataset fifo is a FIFO, not a folder"],
    [["export", "--dataset", "corpus.jsonl"], "--dataset corpus.jsonl is a regular file, not a folder"],
    [
      ["export", "--dataset", "to-corpus"],
      "--dataset to-corpus is a symbolic link to a regular file, not a folder"
    ],
    // Two outputs of one command that are one file: through a link, through `..`, by the same name.
    [
      ["export", "--out", "corpus.jsonl", "--manifest", "corpus.jsonl"],
      "--out corpus.jsonl and --manifest corpus.jsonl are the same file: each needs a file of its own"
    ],
    [
      ["export", "--out", "to-corpus", "--manifest", "corpus.jsonl"],
      "--out to-corpus and --manifest corpus.jsonl are the same file ("
    ],
    [
      ["export", "--out", "folder/../corpus.jsonl", "--manifest", "to-corpus"],
      "--out folder/../corpus.jsonl and --manifest to-corpus are the same file ("
    ],
    [
      ["sync", "--out", "corpus.jsonl", "--manifest", "to-corpus"],
      "--out corpus.jsonl and --manifest to-corpus are the same file ("
    ],
    [
      ["merge", "--out", "to-corpus", "--manifest", "corpus.jsonl", "changes.jsonl"],
      "--out to-corpus and --manifest corpus.jsonl are the same file ("
    ]
  ])("%j", (args, message) =>
    Effect.gen(function* () {
      const { dir } = yield* specialFiles
      const before = tree(dir)
      // Relative names are taken from where the command was typed (INIT_CWD, as pnpm sets it).
      const r = yield* run(args, { ...unreachable, INIT_CWD: dir })
      expect(r.stderr).toContain(`ground-truth: ${message}`)
      oneLine(r.stderr)
      expect(r.code).toBe(2)
      expect(r.stdout.length).toBe(0)
      expect(tree(dir)).toEqual(before)
    }).pipe(Effect.scoped, Effect.runPromise))
})

/**
 * Why this process cannot make a character device (mknod needs root, CAP_MKNOD), or `undefined` when it
 * can. The device tests then run on a /dev/null made in a temporary folder, never on the system's.
 */
const noMknod = (() => {
  const dir = tmp()
  try {
    execFileSync("mknod", [path.join(dir, "probe"), "c", "1", "3"], { stdio: "pipe" })
    return undefined
  } catch (e) {
    return String(e).split("\n")[0]
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})()
if (noMknod !== undefined) console.log(`character-device tests skipped: cannot mknod here (${noMknod})`)

const mode = (file: string) => fs.statSync(file).mode & 0o777

for (const target of TestDatabase.targets()) {
  layer(Layer.effectDiscard(Demo.seed({ jobs: 40, seed: 9 })).pipe(Layer.provideMerge(target.layer)), {
    timeout: 120_000
  })(`where --out writes on ${target.name}`, (it) => {
    const cli = (args: ReadonlyArray<string>, cwd: string) =>
      Effect.flatMap(TestDatabase.TestDatabase, ({ url }) => run(args, { DATABASE_URL: url, INIT_CWD: cwd }))

    it.effect(
      "through symbolic links: the file a chain of links names is replaced beside itself, the links stay; a new file is 0600, a replaced one keeps its mode",
      () =>
        Effect.gen(function* () {
          const root = tmp()
          fs.mkdirSync(path.join(root, "a", "real"), { recursive: true })
          fs.symlinkSync("a/real", path.join(root, "b"))
          // `..` in a link is taken from where the link is (a/real), not from the path that led to it (b).
          fs.symlinkSync("../x.jsonl", path.join(root, "a", "real", "l"))
          fs.symlinkSync("b/l", path.join(root, "out"))
          fs.symlinkSync("report.html", path.join(root, "to-report"))
          const expected = yield* cli(["export", "--approved-only", "false"], root)
          expect(expected.code).toBe(0)

          // The chain points at nothing yet: the file it names is created.
          const first = yield* cli(["export", "--out", "out", "--approved-only", "false"], root)
          expect([first.code, first.stderr]).toEqual([0, ""])
          const x = path.join(root, "a", "x.jsonl")
          expect(fs.readFileSync(x).equals(expected.stdout)).toBe(true)
          expect(mode(x)).toBe(0o600)

          // An existing file: replaced with its mode kept; with its manifest beside it, through the link.
          fs.chmodSync(x, 0o640)
          const second = yield* cli(
            ["export", "--out", "out", "--manifest", "b/m.json", "--has-corrections", "true"],
            root
          )
          expect([second.code, second.stderr]).toEqual([0, ""])
          const hard = yield* cli(["export", "--has-corrections", "true"], root)
          expect(fs.readFileSync(x).equals(hard.stdout)).toBe(true)
          expect(mode(x)).toBe(0o640)
          const m = JSON.parse(fs.readFileSync(path.join(root, "a", "real", "m.json"), "utf8"))
          expect(m.sha256).toBe(execFileSync("sha256sum", [x], { encoding: "utf8" }).split(" ")[0])

          const report = yield* cli(["report", "--out", "to-report"], root)
          expect(report.code).toBe(0)
          expect(fs.readFileSync(path.join(root, "report.html"), "utf8")).toMatch(/^<!doctype html>/i)
          expect(mode(path.join(root, "report.html"))).toBe(0o600)

          // The links are the links they were; nothing else was left anywhere.
          const t = tree(root)
          expect(Object.keys(t).sort()).toEqual(
            [
              "a",
              "a/real",
              "a/real/l",
              "a/real/m.json",
              "a/x.jsonl",
              "b",
              "out",
              "report.html",
              "to-report"
            ].sort()
          )
          expect([t.b, t.out, t["a/real/l"], t["to-report"]]).toEqual([
            "link a/real",
            "link b/l",
            "link ../x.jsonl",
            "link report.html"
          ])
        }),
      120_000
    )

    it.effect(
      "a link into a folder it cannot write: exit 1 in one line, the link left as it is",
      () =>
        Effect.gen(function* () {
          const root = tmp()
          // Nobody, root included, creates a file at the top of /sys.
          fs.symlinkSync("/sys/gt-test-nowhere.jsonl", path.join(root, "to-sys"))
          const before = tree(root)
          const r = yield* cli(["export", "--out", "to-sys"], root)
          expect(r.stderr).toMatch(
            /^ground-truth: cannot create \/sys\/\.gt-test-nowhere\.jsonl\.\d+\.partial: E(ACCES|ROFS|PERM)/
          )
          oneLine(r.stderr)
          expect(r.code).toBe(1)
          expect(tree(root)).toEqual(before)
        }),
      120_000
    )

    for (const [node, make] of [
      ["a FIFO", (file: string) => execFileSync("mkfifo", [file])],
      ...(noMknod === undefined
        ? ([
            [
              "a character device (a /dev/null made by mknod)",
              (file: string) => execFileSync("mknod", [file, "c", "1", "3"])
            ]
          ] as const)
        : [])
    ] as const) {
      it.effect(
        `${node}, or a link to it: refused (exit 2) before anything is written, the node left as it is`,
        () =>
          Effect.gen(function* () {
            const root = tmp()
            make(path.join(root, "node"))
            fs.symlinkSync("node", path.join(root, "to-node"))
            fs.symlinkSync(path.join(root, "to-node"), path.join(root, "to-to-node"))
            const before = tree(root)
            for (const args of [
              ["export", "--out", "node"],
              ["export", "--out", "to-to-node"],
              ["export", "--out", "c.jsonl", "--manifest", "to-node"],
              ["report", "--out", "node"],
              ["sync", "--out", "to-node"],
              ["merge", "--out", "c.jsonl", "--manifest", "node", "changes.jsonl"],
              ["export", "--dataset", "node"]
            ]) {
              const r = yield* cli(args, root)
              expect(r.stderr, args.join(" ")).toMatch(
                /^ground-truth: --\w+ [\w-]+ is (a symbolic link to )?a (FIFO|character device), not a/
              )
              oneLine(r.stderr)
              expect(r.code).toBe(2)
              expect(tree(root)).toEqual(before)
            }
            // No device node is left behind in the temporary folder.
            fs.rmSync(root, { recursive: true })
          }),
        120_000
      )
    }
  })
}

for (const target of TestDatabase.targets({ migrate: false })) {
  layer(target.layer, { timeout: 120_000 })(`a database without the schema on ${target.name}`, (it) => {
    it.effect(
      "exit 1 naming the missing table, and how to create it",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const r = yield* run(["stats"], { DATABASE_URL: url })
          expect(r.code).toBe(1)
          expect(r.stderr).toMatch(
            /^ground-truth: database error: Failed to execute statement: relation "\w+" does not exist \(run `pnpm ground-truth migrate` to create the tables\)\n$/
          )
        }),
      60_000
    )
  })
}

/**
 * A full disk: a 256 KiB tmpfs mounted for the test's scope. Mounting needs root (CI here runs as root);
 * elsewhere the test is skipped and says why, and the RLIMIT_FSIZE and /dev/full tests still run.
 */
const smallDisk = (() => {
  const reason = TestDisk.unavailable()
  if (reason === undefined) return TestDisk.tmpfs("256k")
  console.log(`disk-full test skipped: cannot mount a tmpfs here (${reason})`)
  return undefined
})()

const { free } = TestDisk

const kill = (signal: NodeJS.Signals) => (pid: number) => Effect.sync(() => process.kill(pid, signal))
const previous = Buffer.from('{"previous":"corpus"}\n')

for (const target of TestDatabase.targets()) {
  // The golden fixture, plus a job whose result was changed without an event: its trail cannot replay.
  const broken = Effect.zipRight(
    Golden.load,
    Golden.insertTampered("dddddddd-0000-4000-8000-00000000000d", "2025-06-02 00:00:00+00")
  )
  layer(Layer.effectDiscard(broken).pipe(Layer.provideMerge(target.layer)), { timeout: 120_000 })(
    `failing exports on ${target.name}`,
    (it) => {
      it.effect(
        "an audit trail that does not replay: exit 1 naming the job; the previous --out untouched, no temp file",
        () =>
          Effect.gen(function* () {
            const { url } = yield* TestDatabase.TestDatabase
            const dir = tmp()
            const out = path.join(dir, "corpus.jsonl")
            fs.writeFileSync(out, previous)
            const r = yield* run(["export", "--out", out], { DATABASE_URL: url })
            expect(r.code).toBe(1)
            expect(r.stderr).toMatch(
              /^ground-truth: audit trail of job dddddddd-0000-4000-8000-00000000000d does not explain its result at event \d+ \("a"\): the value at the path differs from the expected one; expected a number of 1 character, found a number of 1 character\n$/
            )
            expect(fs.readFileSync(out).equals(previous)).toBe(true)
            expect(fs.readdirSync(dir)).toEqual(["corpus.jsonl"])
            // The other jobs still export when the broken one is filtered out.
            const ok = yield* run(["export", "--until", "2025-06-01"], { DATABASE_URL: url })
            expect(ok.code).toBe(0)
          }),
        60_000
      )

      it.effect(
        "a manifest that cannot be written: exit 1, the previous corpus untouched; --manifest - prints it",
        () =>
          Effect.gen(function* () {
            const { url } = yield* TestDatabase.TestDatabase
            const dir = tmp()
            const out = path.join(dir, "corpus.jsonl")
            fs.writeFileSync(out, previous)
            const args = ["export", "--until", "2025-06-01", "--out", out]
            const r = yield* run([...args, "--manifest", "/nonexistent-dir/m.json"], { DATABASE_URL: url })
            expect(r.code).toBe(1)
            expect(r.stderr).toContain("ground-truth: cannot create /nonexistent-dir/.m.json.")
            oneLine(r.stderr)
            expect(fs.readFileSync(out).equals(previous)).toBe(true)
            expect(fs.readdirSync(dir)).toEqual(["corpus.jsonl"])

            const printed = yield* run([...args, "--manifest", "-"], { DATABASE_URL: url })
            expect(printed.code).toBe(0)
            const sha256sum = execFileSync("sha256sum", [out], { encoding: "utf8" }).split(" ")[0]
            expect(JSON.parse(printed.stdout.toString("utf8"))).toMatchObject({ sha256: sha256sum })
          }),
        60_000
      )
    }
  )

  layer(
    Layer.effectDiscard(Demo.seed({ jobs: 20_000, seed: 5, batchSize: 5000 })).pipe(
      Layer.provideMerge(target.layer)
    ),
    { timeout: 300_000 }
  )(`interrupted exports on ${target.name}`, (it) => {
    /** Starts an export over a previous `--out`, waits until it writes its temporary file, then `stop`s it. */
    const interrupted = (stop: (pid: number) => Effect.Effect<unknown, unknown, SqlClient.SqlClient>) =>
      Effect.gen(function* () {
        const { url } = yield* TestDatabase.TestDatabase
        const dir = tmp()
        const out = path.join(dir, "corpus.jsonl")
        fs.writeFileSync(out, previous)
        const child = start(["export", "--approved-only", "false", "--out", out], { DATABASE_URL: url })
        // Wait until the export is writing its temporary file, then stop it.
        const partial = `.corpus.jsonl.${child.pid}.partial`
        yield* Effect.promise(async () => {
          for (let i = 0; i < 600 && !fs.readdirSync(dir).includes(partial); i++) {
            await new Promise((resolve) => setTimeout(resolve, 10))
          }
        })
        expect(fs.readdirSync(dir)).toContain(partial)
        yield* stop(child.pid)
        const r = yield* Effect.promise(() => child.done)
        expect(fs.readFileSync(out).equals(previous)).toBe(true)
        return { r, dir, out, url }
      })

    it.effect(
      "SIGTERM mid-export: exit 130, the previous --out untouched, no temp file",
      () =>
        Effect.gen(function* () {
          const { r, dir } = yield* interrupted(kill("SIGTERM"))
          expect(r.code).toBe(130)
          expect(fs.readdirSync(dir)).toEqual(["corpus.jsonl"])
        }),
      120_000
    )

    it.effect(
      "SIGKILL mid-export: the previous --out untouched; the next export removes the dead one's temp file",
      () =>
        Effect.gen(function* () {
          const { r, dir, out, url } = yield* interrupted(kill("SIGKILL"))
          expect(r.signal).toBe("SIGKILL")
          const next = yield* run(["export", "--out", out, "--until", "2025-01-02"], { DATABASE_URL: url })
          expect(next.code).toBe(0)
          expect(fs.readdirSync(dir)).toEqual(["corpus.jsonl"])
          expect(fs.readFileSync(out).equals(previous)).toBe(false)
        }),
      120_000
    )

    it.scoped.skipIf(smallDisk === undefined)(
      "disk full: exit 1 in one line naming ENOSPC; the previous --out untouched, no temp file, the space given back",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const dir = yield* smallDisk!
          const out = path.join(dir, "corpus.jsonl")
          fs.writeFileSync(out, previous)
          const before = free(dir)
          const r = yield* run(["export", "--approved-only", "false", "--out", out], { DATABASE_URL: url })
          expect(r.code).toBe(1)
          expect(r.stderr).toMatch(
            /^ground-truth: cannot write .*\/\.corpus\.jsonl\.\d+\.partial: ENOSPC: no space left on device/
          )
          oneLine(r.stderr)
          expect(fs.readdirSync(dir)).toEqual(["corpus.jsonl"])
          expect(fs.readFileSync(out).equals(previous)).toBe(true)
          expect(free(dir)).toBe(before)
          console.log(`${target.name}: disk full after ${before} free bytes: exit 1, nothing clobbered`)
        }),
      120_000
    )

    it.effect(
      "a file-size limit (EFBIG): exit 1 in one line; the previous --out untouched, no temp file",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const dir = tmp()
          const out = path.join(dir, "corpus.jsonl")
          fs.writeFileSync(out, previous)
          const r = yield* run(
            ["export", "--approved-only", "false", "--out", out],
            { DATABASE_URL: url },
            { fileSizeLimit: 100_000 }
          )
          expect(r.code).toBe(1)
          expect(r.stderr).toMatch(/^ground-truth: cannot write .*\.partial: EFBIG: file too large/)
          oneLine(r.stderr)
          expect(fs.readdirSync(dir)).toEqual(["corpus.jsonl"])
          expect(fs.readFileSync(out).equals(previous)).toBe(true)
        }),
      120_000
    )

    it.effect(
      "standard output on a full device (/dev/full): exit 1 in one line",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const full = fs.openSync("/dev/full", "w")
          const r = yield* run(
            ["export", "--approved-only", "false"],
            { DATABASE_URL: url },
            { stdout: full }
          )
          fs.closeSync(full)
          expect(r.code).toBe(1)
          expect(r.stderr).toMatch(
            /^ground-truth: cannot write to standard output: ENOSPC: no space left on device/
          )
          oneLine(r.stderr)
        }),
      120_000
    )

    if (target.name === "postgres") {
      it.effect(
        "the export's database backend killed mid-stream: exit 1 in one line, the previous --out untouched",
        () =>
          Effect.gen(function* () {
            const terminated: Array<number> = []
            // The temporary file may exist before the cursor does: ask again (each a round trip, the
            // test clock has no say) until the export's backend shows up.
            const { r, dir, out, url } = yield* interrupted(() =>
              TestDatabase.terminateBackends("export_samples").pipe(
                Effect.tap((pids) => terminated.push(...pids)),
                Effect.filterOrFail(() => terminated.length > 0),
                Effect.retry(Schedule.recurs(5000))
              )
            )
            expect(terminated.length).toBe(1)
            expect(r.code).toBe(1)
            // The driver says "terminating connection…" or, when the socket closed before the next FETCH,
            // "…encountered a connection error": either way one line naming a database error.
            expect(r.stderr).toMatch(/^ground-truth: database error: .*(terminat|connection error).*\n$/)
            expect(r.stderr).not.toMatch(/\n\s+at /)
            expect(fs.readdirSync(dir)).toEqual(["corpus.jsonl"])
            // The database is fine: the next export succeeds.
            const next = yield* run(["export", "--out", out], { DATABASE_URL: url })
            expect(next.code).toBe(0)
          }),
        120_000
      )
    }
  })
}
