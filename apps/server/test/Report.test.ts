/**
 * The coverage report in a real browser: the page the server serves for the golden database, opened by
 * headless Chromium (Debian's `chromium`; `.ci/run` installs it, the test is skipped without it). The
 * rendered DOM holds the four charts and the figures, the browser reports no error, and a screenshot is
 * taken (`build/report.png`).
 */
import { execFile, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
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
    "renders the four charts and the figures without a browser error; a screenshot is taken",
    () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const url = `${base}/api/v1/ground-truth/report`
        expect((yield* bytes(yield* get(url))).equals(Golden.expectedReport(Golden.reportCases[0]))).toBe(
          true
        )

        const dom = yield* browse(url, ["--dump-dom"])
        expect(dom.status).toBe(0)
        expect(dom.stdout.match(/<svg /g)).toHaveLength(4)
        for (const text of ["Polda Jawa Barat", "Polres Kupang Kota", "personel[].pangkat", "2025-06-02"]) {
          expect(dom.stdout).toContain(text)
        }
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
        console.log(
          `report rendered by ${chromium}: 4 charts, no browser error; screenshot ${file} (${png.length} bytes)`
        )
      })
  )
})
