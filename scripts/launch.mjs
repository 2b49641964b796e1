// Runs an app from an esbuild bundle of its TypeScript sources: plain node starts a bundle in ~0.3 s,
// where loading the sources through a TypeScript loader takes ~1.7 s. The bundle is rebuilt first
// whenever a source file is newer than it, so the command always runs the code in the tree.
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..")

const newest = (dir) =>
  fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .reduce(
      (t, entry) => Math.max(t, fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs),
      0
    )

/**
 * `pnpm serve` and `pnpm ground-truth` run us under a shell that pnpm started. Sent SIGTERM, pnpm exits
 * without passing the signal on, and the app would go on running, orphaned (a server still answering).
 * So when that shell goes away, we stop as if SIGTERM had reached us. Only then: the parent must be the
 * shell running this very script (`sh -c <npm_lifecycle_script>`, read from /proc), not any process
 * that merely inherited pnpm's environment and may rightly leave us running.
 */
const stopWithParent = () => {
  const parent = process.ppid
  let command
  try {
    command = fs
      .readFileSync(`/proc/${parent}/cmdline`, "utf8")
      .split("\0")
      .filter((a) => a !== "")
  } catch {
    return
  }
  if (command.at(-1) !== process.env.npm_lifecycle_script) return
  const watch = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(watch)
    process.kill(process.pid, "SIGTERM")
  }, 250)
  watch.unref()
}

/**
 * @param {{ app: string, entry: string, sources: ReadonlyArray<string> }} options  paths relative to the
 *   repository root: the app's folder, its entry file inside it, and every source folder it bundles
 */
export const launch = async ({ app, entry, sources }) => {
  // Before the build: pnpm may be stopped while it runs.
  if (process.env.npm_lifecycle_script !== undefined) stopWithParent()
  const bundle = path.join(root, app, "build", `${path.basename(entry, ".ts")}.mjs`)
  const stale =
    !fs.existsSync(bundle) ||
    sources.some((dir) => newest(path.join(root, dir)) > fs.statSync(bundle).mtimeMs)
  if (stale) {
    const { build } = await import(
      pathToFileURL(path.join(root, app, "node_modules", "esbuild", "lib", "main.js")).href
    )
    const result = await build({
      entryPoints: [path.join(root, app, entry)],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      write: false,
      // PGlite loads its WebAssembly from beside its own module; pg-native is an optional peer.
      external: ["@electric-sql/*", "pg-native"],
      banner: {
        js: "import { createRequire as __gtRequire } from 'node:module'; const require = __gtRequire(import.meta.url);"
      },
      logLevel: "warning"
    })
    // Written beside the target and renamed, so concurrent launches never run a half-written bundle.
    fs.mkdirSync(path.dirname(bundle), { recursive: true })
    const partial = `${bundle}.${process.pid}.partial`
    fs.writeFileSync(partial, result.outputFiles[0].contents)
    fs.renameSync(partial, bundle)
  }
  await import(pathToFileURL(bundle).href)
}
