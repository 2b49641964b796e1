/**
 * `sync` and `merge`: a corpus kept current by increments (contract §11).
 */
import { Args, Command, Options } from "@effect/cli"
import { Filter } from "@ground-truth/core"
import type * as Changes from "@ground-truth/protocol/Changes"
import { Effect, Option } from "effect"
import {
  corpusFilterFlags,
  distinct,
  flag,
  outputTarget,
  parameters,
  resolvePath,
  UsageError,
  withDatabase
} from "../Flags.js"
import * as Output from "../Output.js"
import * as Sync from "../Sync.js"

/** `--out PATH` and `--manifest PATH` of a corpus that sync or merge keeps. */
const corpusFlags = {
  out: Options.text("out").pipe(
    Options.withAlias("o"),
    Options.withPseudoName("PATH"),
    Options.withDescription(
      "The corpus file (jsonl or hf format) to keep current, or a symbolic link to it. It is replaced only once " +
        "the new one is complete, its manifest written just before (a run killed between the two is finished " +
        "by the next)."
    )
  ),
  manifest: Options.text("manifest").pipe(
    Options.withPseudoName("PATH"),
    Options.withDescription(
      "The corpus's manifest: its filters, the cursor it has reached, and its rows, bytes and SHA-256, which " +
        "are checked before every run. Default: --out with .jsonl replaced by .manifest.json (corpus.jsonl → " +
        "corpus.manifest.json), or --out followed by .manifest.json."
    ),
    Options.optional
  )
}

/** The corpus and manifest paths of `--out` and `--manifest`, as files and as the user wrote them. */
const corpusPaths = (
  command: string,
  flags: { readonly out: string; readonly manifest: Option.Option<string> }
) =>
  Effect.gen(function* () {
    if (flags.out === "-" || flags.out === "") {
      return yield* new UsageError({
        message: `${command} needs --out PATH: a corpus file to keep current, not standard output`
      })
    }
    const encoding = yield* Output.corpusName(
      "--out",
      flags.out,
      `${command} keeps a JSON Lines corpus`,
      false
    )
    if (encoding !== "lines") {
      return yield* new UsageError({
        message: `${command} keeps a plain corpus, not ${flags.out}: ${encoding === "gzip" ? "gzip" : "convert"} a copy of it if you need one`
      })
    }
    const manifest = Option.getOrElse(flags.manifest, () => Sync.defaultManifest(flags.out))
    if (manifest === "-") {
      return yield* new UsageError({
        message: `${command} keeps its manifest in a file: --manifest - does not apply`
      })
    }
    const paths = {
      corpus: yield* outputTarget("--out", flags.out),
      manifest: yield* outputTarget("--manifest", manifest)
    } satisfies Sync.Paths
    yield* distinct(["--out", paths.corpus], ["--manifest", paths.manifest])
    return paths
  })

export const syncCommand = Command.make(
  "sync",
  {
    ...corpusFlags,
    ...corpusFilterFlags,
    url: Options.text("url").pipe(
      Options.withPseudoName("URL"),
      Options.withDescription(
        "Read the increments from a ground-truth server (GET URL/api/v1/ground-truth/changes) instead of the " +
          "database, with Authorization: Bearer $GROUND_TRUTH_TOKEN when that variable is set."
      ),
      Options.optional
    ),
    fullIfStale: Options.boolean("full-if-stale").pipe(
      Options.withDescription(
        "When the database (or server) cannot answer for the manifest's cursor (rows were deleted, a restored " +
          "database), take a full export with the manifest's filters instead of stopping: for unattended cron."
      )
    )
  },
  (flags) =>
    Effect.gen(function* () {
      const params = parameters(flags)
      const filter = yield* Filter.parse(params, { label: flag })
      const asked: Sync.Asked = {
        filter,
        given: params.map(([name]) => name as Changes.Kept),
        fullIfStale: flags.fullIfStale
      }
      const paths = yield* corpusPaths("sync", flags)
      if (Option.isNone(flags.url)) {
        return yield* withDatabase(Sync.sync(paths, asked, Sync.database), { prepare: true })
      }
      const url = flags.url.value
      const base = URL.canParse(url) ? new URL(url) : undefined
      if (base === undefined || (base.protocol !== "http:" && base.protocol !== "https:")) {
        return yield* new UsageError({
          message: `--url must be an http:// or https:// URL, not ${JSON.stringify(url)}`
        })
      }
      const token = yield* Sync.token
      // Loaded here: the HTTP client (undici, and with it Node's http, http2 and tls) and the protocol's
      // declaration would cost every command's start.
      const { layerUndici } = yield* Effect.promise(() => import("@effect/platform-node/NodeHttpClient"))
      const Remote = yield* Effect.promise(() => import("../Remote.js"))
      yield* Sync.sync(paths, asked, Remote.server(base, token)).pipe(Effect.provide(layerUndici))
    })
).pipe(
  Command.withDescription(
    "Keep a corpus file current, for cron: `ground-truth sync --out corpus.jsonl` every night. The first run " +
      "(no manifest yet) takes a full export with the filter flags given and writes the corpus and its manifest. " +
      "Every later run keeps the manifest's filters, checks the corpus against it, takes only the jobs changed " +
      "since its cursor (contract §11: new, edited, approved, withdrawn) and rewrites the corpus to exactly the " +
      "bytes a full export would give now, with its manifest. jsonl and hf formats only (their lines carry job_id and created_at). " +
      "If the corpus no longer matches its manifest, or the database cannot answer for its cursor (rows deleted, " +
      "a restored database), it changes nothing, exits 1 or 2 and says so: remove the manifest, and the next run " +
      "is a full export (--full-if-stale does that by itself for a cursor that cannot be answered)."
  )
)

export const mergeCommand = Command.make(
  "merge",
  {
    ...corpusFlags,
    changes: Args.text({ name: "CHANGES" }).pipe(
      Args.withDescription(
        "Saved bodies of GET /api/v1/ground-truth/changes, oldest first: each ends with its manifest line and " +
          "continues from the cursor the one before it reached (changed_since = the corpus's cursor); one " +
          "without changed_since is a full export and replaces the corpus."
      ),
      Args.atLeast(1)
    )
  },
  (flags) =>
    Effect.gen(function* () {
      const paths = yield* corpusPaths("merge", flags)
      const files = flags.changes.map((name) => ({ file: resolvePath(name), name }))
      yield* Sync.merge(paths, files)
    })
).pipe(
  Command.withDescription(
    "Apply saved /changes bodies to a corpus file. In order, to the corpus and its manifest, with the " +
      "checks sync makes (each body complete, continuing from the corpus's cursor, with its filters, format " +
      "and split): for a " +
      'machine that gets the bodies (curl "$URL/api/v1/ground-truth/changes?changed_since=$CURSOR") but ' +
      "reaches neither the database nor the server itself."
  )
)
