/**
 * The `/changes` body (contract §11) and the law an increment keeps, for whoever writes one (the
 * server) and whoever reads one (`sync --url`, `merge`, any other client).
 *
 * The body is an export's lines, byte for byte, then one last line: its manifest, whose `rows`, `bytes`
 * and `sha256` describe the lines before it and whose `changed_since` names the cursor it continues
 * from (`null`: a full export). An increment continues a corpus when it was exported with the same
 * parameters and continues from the corpus's cursor; the request that asks for it carries the
 * corpus's parameters (`parameters`) and its cursor.
 *
 * @since 0.1.0
 */
import { Filter, Format, Manifest, Timestamp } from "@ground-truth/core"
import { Data, Effect, Either, Option, ParseResult, Schema, Stream } from "effect"

const NL = 0x0a

const utf8 = new TextDecoder()
const encoder = new TextEncoder()

/**
 * A `/changes` body without its manifest line, or whose lines are not the ones its manifest describes:
 * a download that was cut, a file saved in part (exit status 1).
 *
 * @since 0.1.0
 * @category errors
 */
export class IncompleteChanges extends Data.TaggedError("IncompleteChanges")<{
  readonly source: string
  readonly detail: string
}> {
  override get message(): string {
    return `incomplete increment from ${this.source}: ${this.detail}; fetch it again`
  }
}

/** @since 0.1.0 */
export type Counts = Manifest.Counts

/**
 * Counts and hashes `stream` as it passes; `counts`, once it has ended, says what passed.
 *
 * @since 0.1.0
 */
export const tally = <E, R>(
  stream: Stream.Stream<Uint8Array, E, R>
): { readonly stream: Stream.Stream<Uint8Array, E, R>; readonly counts: () => Counts } => {
  const count = Manifest.counter()
  return {
    stream: Stream.map(stream, (chunk) => {
      count.add(chunk)
      return chunk
    }),
    counts: count.counts
  }
}

const countsOf = (body: Uint8Array): Counts => {
  const count = Manifest.counter()
  count.add(body)
  return count.counts()
}

/** `N rows, B bytes, sha256 H`. @since 0.1.0 */
export const showCounts = (c: Counts): string => `${c.rows} rows, ${c.bytes} bytes, sha256 ${c.sha256}`

/** Do the counts match the manifest? @since 0.1.0 */
export const matches = (manifest: Manifest.Manifest, c: Counts): boolean =>
  manifest.rows === c.rows && manifest.bytes === c.bytes && manifest.sha256 === c.sha256

const decodeManifest = Schema.decodeUnknownEither(Manifest.Manifest)

/**
 * Reads a manifest from its JSON text; `Left` says why it is not one.
 *
 * @since 0.1.0
 */
export const parseManifest = (text: string): Either.Either<Manifest.Manifest, string> =>
  Either.try({ try: () => JSON.parse(text) as unknown, catch: () => "not JSON" }).pipe(
    Either.flatMap((json) =>
      Either.mapLeft(decodeManifest(json), (e) => {
        const [issue] = ParseResult.ArrayFormatter.formatErrorSync(e)
        const at = issue === undefined || issue.path.length === 0 ? "" : `${issue.path.join(".")}: `
        return `not a manifest (${at}${issue?.message ?? e.message})`
      })
    )
  )

/**
 * Where the last line of `body` starts: its manifest's. -1 when `body` does not end with a newline.
 *
 * @since 0.1.0
 */
export const lastLine = (body: Uint8Array): number =>
  body.length === 0 || body[body.length - 1] !== NL ? -1 : body.lastIndexOf(NL, body.length - 2) + 1

/**
 * A whole `/changes` body read: its manifest, and the lines before it, which the manifest describes.
 *
 * @since 0.1.0
 */
export interface Parsed {
  readonly manifest: Manifest.Manifest
  readonly lines: Uint8Array
}

/**
 * Reads a whole `/changes` body: its lines, then its manifest line, which must describe them.
 *
 * @since 0.1.0
 */
export const parse = (source: string, body: Uint8Array): Either.Either<Parsed, IncompleteChanges> => {
  const incomplete = (detail: string) => Either.left(new IncompleteChanges({ source, detail }))
  const at = lastLine(body)
  if (at < 0) {
    return incomplete(body.length === 0 ? "it is empty" : "it does not end with a newline (a cut download?)")
  }
  const manifest = parseManifest(utf8.decode(body.subarray(at, body.length - 1)))
  if (Either.isLeft(manifest)) {
    return incomplete(`its last line is ${manifest.left}, where its manifest should be (a cut download?)`)
  }
  const lines = body.subarray(0, at)
  const counts = countsOf(lines)
  if (!matches(manifest.right, counts)) {
    return incomplete(
      `its lines (${showCounts(counts)}) are not those its manifest describes (${showCounts(manifest.right)})`
    )
  }
  return Either.right({ manifest: manifest.right, lines })
}

/**
 * The body of `/changes`: the export's lines as they come, then its manifest line, once they have all
 * passed (the manifest's counts are those of the lines).
 *
 * @since 0.1.0
 */
export const body = <E1, R1, E2, R2>(
  lines: Stream.Stream<Uint8Array, E1, R1>,
  manifest: Effect.Effect<Manifest.Manifest, E2, R2>
): Stream.Stream<Uint8Array, E1 | E2, R1 | R2> =>
  Stream.concat(lines, Stream.fromEffect(Effect.map(manifest, (m) => encoder.encode(Manifest.encode(m)))))

/**
 * A `/changes` body streamed without its last line: `stream` gives the lines before it as they come;
 * `last`, once it has ended, the last line's text (`\n` excluded), `undefined` when the body was empty
 * or did not end with a newline. For one run of the stream.
 *
 * @since 0.1.0
 */
export const withoutLastLine = <E, R>(
  body: Stream.Stream<Uint8Array, E, R>
): { readonly stream: Stream.Stream<Uint8Array, E, R>; readonly last: () => string | undefined } => {
  let held: Uint8Array = new Uint8Array(0)
  const stream = Stream.map(body, (chunk) => {
    let all = chunk
    if (held.length > 0) {
      all = new Uint8Array(held.length + chunk.length)
      all.set(held)
      all.set(chunk, held.length)
    }
    // The last newline followed by more bytes ends the lines known not to be the last.
    const end = all.length < 2 ? -1 : all.lastIndexOf(NL, all.length - 2)
    if (end < 0) {
      held = all === chunk ? chunk.slice() : all
      return new Uint8Array(0)
    }
    held = all.slice(end + 1)
    return all.subarray(0, end + 1)
  }).pipe(Stream.filter((chunk) => chunk.length > 0))
  return {
    stream,
    last: () =>
      held.length === 0 || held[held.length - 1] !== NL || held.indexOf(NL) !== held.length - 1
        ? undefined
        : utf8.decode(held.subarray(0, held.length - 1))
  }
}

/** The export parameters a corpus keeps (all but `changed_since`), in the order the CLI documents them. @since 0.1.0 */
export const kept = Filter.exportParameters.filter(
  (p): p is Exclude<Filter.Parameter, "changed_since"> => p !== "changed_since"
)

/** @since 0.1.0 */
export type Kept = Exclude<Filter.Parameter, "changed_since">

/**
 * An export's parameters as text, `null` for one not set: the same for a manifest and for the filter
 * it was exported with.
 *
 * @since 0.1.0
 */
export type Described = { readonly [K in Kept]: string | null }

/** @since 0.1.0 */
export const describeManifest = (m: Manifest.Manifest): Described => ({
  approved_only: String(m.filters.approved_only),
  has_corrections: m.filters.has_corrections === null ? null : String(m.filters.has_corrections),
  since: m.filters.since,
  until: m.filters.until,
  format: m.format,
  // A manifest from before inputs had the format's default: it wrote no texts.
  input: m.input ?? Format.defaultInput(m.format),
  split: m.split?.name ?? null,
  split_ratios: m.split === null ? null : m.split.ratios.join(","),
  split_seed: m.split?.seed ?? null,
  // A manifest from before letters split by job.
  split_by: m.split === null ? null : (m.split.by ?? "job")
})

/** @since 0.1.0 */
export const describeFilter = (f: Filter.Filter): Described => ({
  approved_only: String(f.approvedOnly),
  has_corrections: Option.getOrNull(Option.map(f.hasCorrections, String)),
  since: Option.getOrNull(Option.map(f.since, Timestamp.format)),
  until: Option.getOrNull(Option.map(f.until, Timestamp.format)),
  format: f.format,
  input: Filter.output(f).input,
  split: Option.getOrNull(Option.map(f.split, (s) => s.name)),
  split_ratios: Option.getOrNull(Option.map(f.split, (s) => s.ratios.join(","))),
  split_seed: Option.getOrNull(Option.map(f.split, (s) => s.seed)),
  split_by: Option.getOrNull(Option.map(f.split, (s) => s.by))
})

/**
 * The parameters of `d` a request says (see `unsaid`), as name/value pairs, in the order `kept` lists
 * them: what core's parser reads back into the filter `d` describes.
 *
 * @since 0.1.0
 */
export const said = (d: Described, format: Format.Format): Array<readonly [Kept, string]> =>
  kept.flatMap((name) => {
    const value = d[name]
    return unsaid(name, value, format) ? [] : [[name, value as string] as const]
  })

/**
 * A manifest's parameters as name/value pairs: with its cursor as `changed_since`, the query of the
 * `/changes` request that continues its corpus.
 *
 * @since 0.1.0
 */
export const parameters = (m: Manifest.Manifest): Array<readonly [Kept, string]> =>
  said(describeManifest(m), m.format)

/**
 * Whether a parameter goes unsaid in a request: one not set, or the format's own input (so the request
 * of a corpus from before inputs is what it was).
 *
 * @since 0.1.0
 */
export const unsaid = (name: Kept, value: string | null, format: Format.Format): boolean =>
  value === null || (name === "input" && value === Format.defaultInput(format))

/**
 * The parameters (of `names`) on which `a` and `b` differ.
 *
 * @since 0.1.0
 */
export const differences = (
  a: Described,
  b: Described,
  names: ReadonlyArray<Kept> = kept
): ReadonlyArray<Kept> => names.filter((name) => a[name] !== b[name])

/**
 * Why an increment does not continue a corpus: the parameters it was exported with that differ from
 * the corpus's, or the cursor it continues from (another than the corpus's).
 *
 * @since 0.1.0
 */
export type Break =
  | { readonly _tag: "Parameters"; readonly differ: ReadonlyArray<Kept> }
  | { readonly _tag: "Cursor"; readonly from: string }

/**
 * The law of contract §11: an increment (or a full export) continues the corpus whose manifest is
 * `corpus` when it was exported with the same parameters and, unless it is a full export, continues
 * from the corpus's cursor. `None` when it does.
 *
 * @since 0.1.0
 */
export const breaks = (corpus: Manifest.Manifest, changes: Manifest.Manifest): Option.Option<Break> => {
  const differ = differences(describeManifest(corpus), describeManifest(changes))
  if (differ.length > 0) return Option.some({ _tag: "Parameters", differ })
  return changes.changed_since !== null && changes.changed_since !== corpus.cursor
    ? Option.some({ _tag: "Cursor", from: changes.changed_since })
    : Option.none()
}

/**
 * The manifest of the corpus after `last`, a full export's at `last`'s snapshot: its parameters,
 * snapshot time and cursor, no `changed_since` or `removed`, and the counts of the corpus's bytes.
 *
 * @since 0.1.0
 */
export const continued = (last: Manifest.Manifest, counts: Counts): Manifest.Manifest =>
  Manifest.Manifest.make({ ...last, changed_since: null, removed: [], ...counts })
