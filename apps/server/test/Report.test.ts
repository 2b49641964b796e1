/**
 * The coverage report in a real browser: the page the server serves for the golden database, opened by
 * headless Chromium (Debian's `chromium`; `.ci/run` installs it, the test is skipped without it). The
 * rendered DOM holds the four charts and the figures, the browser reports no error, and the screenshot
 * (`build/report.png`) shows the weekly chart's legend.
 */
import { execFile, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as zlib from "node:zlib"
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { baseUrl, bytes, get, serve } from "./server.js"

const chromium = ["chromium", "chromium-browser"].find(
  (bin) => spawnSync(bin, ["--version"], { stdio: "ignore" }).status === 0
)
if (chromium === undefined) console.log("report rendering skipped: no chromium here (.ci/run installs it)")

const build = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "build")

/**
 * Runs headless Chromium on a URL with `flags`; its exit status, standard output and error. (Not
 * spawnSync: the server under test shares this process's event loop.)
 */
const browse = (url: string, flags: ReadonlyArray<string>) =>
  Effect.promise(
    () =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          chromium!,
          ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", ...flags, url],
          { encoding: "utf8", timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
          (error, stdout, stderr) =>
            resolve({
              status: error === null ? 0 : typeof error.code === "number" ? error.code : null,
              stdout,
              stderr
            })
        )
      })
  )

/** The pixels of an 8-bit RGB or RGBA PNG (what Chromium writes) as RGB triples, row by row. */
const pngPixels = (png: Buffer) => {
  const width = png.readUInt32BE(16)
  const height = png.readUInt32BE(20)
  const channels = png[25] === 6 ? 4 : 3
  const idat: Array<Buffer> = []
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at)
    if (png.subarray(at + 4, at + 8).toString("latin1") === "IDAT")
      idat.push(png.subarray(at + 8, at + 8 + length))
    at += 12 + length
  }
  const raw = zlib.inflateSync(Buffer.concat(idat))
  const stride = width * channels
  const out = Buffer.alloc(height * stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!
      const a = x >= channels ? out[y * stride + x - channels]! : 0
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels]! : 0
      const p = a + b - c
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c
      out[y * stride + x] = (v + [0, a, b, Math.floor((a + b) / 2), paeth][filter]!) & 0xff
    }
  }
  const rgb = (x: number, y: number) =>
    out.subarray(y * stride + x * channels, y * stride + x * channels + 3).toString("hex")
  return { width, height, rgb }
}

/** Runs of one colour on each row: [y, x where it starts, length]. */
const runs = (image: ReturnType<typeof pngPixels>, colour: string) => {
  const found: Array<readonly [number, number, number]> = []
  for (let y = 0; y < image.height; y++)
    for (let x = 0; x < image.width; x++) {
      if (image.rgb(x, y) !== colour) continue
      let end = x
      while (end < image.width && image.rgb(end, y) === colour) end++
      found.push([y, x, end - x])
      x = end
    }
  return found
}

/** Width and height from a PNG's IHDR chunk, or undefined when the bytes are no PNG. */
const pngSize = (png: Buffer) =>
  png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) &&
  png.subarray(12, 16).toString("latin1") === "IHDR"
    ? { width: png.readUInt32BE(16), height: png.readUInt32BE(20) }
    : undefined

const embedded = TestDatabase.targets()[0]
layer(serve(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(embedded.layer))), {
  timeout: 120_000,
  excludeTestServices: true
})("the coverage report in Chromium", (it) => {
  it.effect.skipIf(chromium === undefined)(
    "renders the five charts and the figures without a browser error; the screenshot shows the legend",
    () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const url = `${base}/api/v1/ground-truth/report`
        expect((yield* bytes(yield* get(url))).equals(Golden.expectedReport(Golden.reportCases[0]))).toBe(
          true
        )

        const dom = yield* browse(url, ["--dump-dom"])
        expect(dom.status).toBe(0)
        // Readiness, fields, satuan, weeks, and the calibration's reliability diagram.
        expect(dom.stdout.match(/<svg /g)).toHaveLength(5)
        for (const text of [
          "Polda Jawa Barat",
          "Polres Kupang Kota",
          "personel[].pangkat",
          "2025-06-02",
          "jobs created",
          "of them approved",
          "And 3 approved samples without a satuan",
          "OCR post-correction",
          "No confidence threshold keeps the error rate"
        ]) {
          expect(dom.stdout).toContain(text)
        }
        // Samples without a satuan are no unit: not a bar against the 50 line.
        expect(dom.stdout).not.toContain("(unknown satuan)")
        expect(dom.stderr).not.toMatch(/CONSOLE|Uncaught|Failed to load resource/)

        fs.mkdirSync(build, { recursive: true })
        const file = path.join(build, "report.png")
        fs.rmSync(file, { force: true })
        const shot = yield* browse(url, [
          `--screenshot=${file}`,
          "--window-size=900,1400",
          "--hide-scrollbars"
        ])
        expect(shot.status).toBe(0)
        const png = fs.readFileSync(file)
        expect(pngSize(png)).toEqual({ width: 900, height: 1400 })
        // The weekly chart's legend, as drawn: a 12-pixel swatch of the jobs' colour and, 110 pixels to
        // its right on the same rows, one of the approvals' colour (a bar is wider than 12 pixels).
        const image = pngPixels(png)
        const jobs = runs(image, "c8d6e5").filter(([, , n]) => n === 12)
        const approved = new Set(
          runs(image, "2e7d32")
            .filter(([, , n]) => n === 12)
            .map(([y, x]) => `${y}:${x}`)
        )
        const legendRows = jobs.filter(([y, x]) => approved.has(`${y}:${x + 110}`))
        expect(legendRows.length).toBe(12)
        console.log(
          `report rendered by ${chromium}: 4 charts, no browser error; screenshot ${file} (${png.length} bytes)`
        )
      })
  )
})
