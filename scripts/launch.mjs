// Runs an app from an esbuild bundle of its TypeScript sources: plain node starts a bundle in ~0.3 s,
// where loading the sources through a TypeScript loader takes ~1.7 s. The bundle is rebuilt first
// whenever it may be stale, so the command always runs the code in the tree: staleness comes from the
// bundler's own input list (esbuild's metafile, kept beside the bundle), never from a hand-kept list of
// folders that a new workspace dependency would silently miss.
//
// The bundle is CommonJS, compiled through `vm.Script` with V8's code cache: compiling 3.7 MB of
// JavaScript was a third of every start (Node 20 caches no ES module's code). The cache is named after a
// hash of the very source compiled, so a rebuilt bundle can never run another bundle's cached code.
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as vm from "node:vm"

const self = fileURLToPath(import.meta.url)
const root = path.join(path.dirname(self), "..")

/** pnpm's virtual store: a folder per package version, whose files never change in place. */
const STORE = /^node_modules\/\.pnpm\/[^/]+/

/**
 * Is the bundle older than anything it was built from? It is when it or its metafile is missing, or
 * when an input listed in the metafile is missing or newer than the bundle (whose time is when its build
 * began, so an edit made during a build counts too). Also inputs: this script (the build's options) and
 * pnpm's `node_modules/.modules.yaml`, rewritten by every install, which may point a package at another
 * version without any listed file changing. A file in pnpm's store is checked by its package's folder
 * (present or not): a new version is a new folder, and ~1,200 stats would cost ~25 ms on every start.
 */
const isStale = (bundle, metafile) => {
  const built = fs.statSync(bundle, { throwIfNoEntry: false })?.mtimeMs
  if (built === undefined) return true
  let inputs
  try {
    inputs = JSON.parse(fs.readFileSync(metafile, "utf8")).inputs
  } catch {
    return true
  }
  if (!Array.isArray(inputs)) return true
  /** Missing or newer than the bundle. */
  const newer = (file) => !(fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs <= built)
  const installed = fs.statSync(path.join(root, "node_modules", ".modules.yaml"), { throwIfNoEntry: false })
  if (newer(self) || (installed !== undefined && installed.mtimeMs > built)) return true
  const packages = new Set()
  return inputs.some((input) => {
    const store = STORE.exec(input)
    if (store === null) return newer(path.join(root, input))
    if (packages.has(store[0])) return false
    packages.add(store[0])
    return !fs.existsSync(path.join(root, store[0]))
  })
}

/** Writes a file beside its target and renames it over it: concurrent launches never read half a file. */
const writeAtomically = (file, contents) => {
  const partial = `${file}.${process.pid}.partial`
  fs.writeFileSync(partial, contents)
  fs.renameSync(partial, file)
}

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
 * @param {{ app: string, entry: string }} options  paths relative to the repository root: the app's
 *   folder and its entry file inside it. What the bundle is built from is what esbuild read.
 */
export const launch = async ({ app, entry }) => {
  // Before the build: pnpm may be stopped while it runs.
  if (process.env.npm_lifecycle_script !== undefined) stopWithParent()
  const name = path.basename(entry, ".ts")
  const bundle = path.join(root, app, "build", `${name}.cjs`)
  // The metafile's input list, paths relative to the root (esbuild's full metafile is ~1 MB to parse).
  const metafile = path.join(root, app, "build", `${name}.meta.json`)
  if (isStale(bundle, metafile)) {
    const started = new Date()
    const { build } = await import(
      pathToFileURL(path.join(root, app, "node_modules", "esbuild", "lib", "main.js")).href
    )
    const result = await build({
      absWorkingDir: root,
      entryPoints: [path.join(root, app, entry)],
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      write: false,
      metafile: true,
      // PGlite loads its WebAssembly from beside its own module; pg-native is an optional peer.
      external: ["@electric-sql/*", "pg-native"],
      // `import()` becomes `require` (PGlite ships CommonJS too): V8 loses a script's dynamic-import
      // hook when its code comes from the cache.
      supported: { "dynamic-import": false },
      // Non-ASCII characters escaped (esbuild's default, relied on by `run`).
      charset: "ascii",
      logLevel: "warning"
    })
    fs.mkdirSync(path.dirname(bundle), { recursive: true })
    const inputs = Object.keys(result.metafile.inputs).sort()
    writeAtomically(metafile, `${JSON.stringify({ inputs }, null, 1)}\n`)
    writeAtomically(bundle, result.outputFiles[0].contents)
    // The bundle dates from when its build began: a source saved while esbuild ran is newer than it.
    fs.utimesSync(bundle, started, started)
    // Earlier bundles' caches.
    for (const file of fs.readdirSync(path.dirname(bundle)))
      if (file.startsWith(`${name}.`) && file.endsWith(".cache"))
        fs.rmSync(path.join(path.dirname(bundle), file), { force: true })
  }
  run(bundle)
}

/** Compiles and runs a CommonJS bundle as Node would, with V8's code cache beside it. */
const run = (bundle) => {
  const bytes = fs.readFileSync(bundle)
  // V8 refuses a cache made under other flags or another V8: one cache per bundle, Node and flags, so that
  // `node bin.mjs` and the shebang's flags do not overwrite each other's.
  const key = createHash("sha256")
    .update(bytes)
    .update(`\0${process.version}\0${process.execArgv.join("\0")}`)
  const cache = `${bundle.slice(0, -".cjs".length)}.${key.digest("hex").slice(0, 32)}.cache`
  let cachedData
  try {
    cachedData = fs.readFileSync(cache)
  } catch {}
  // The bundle is ASCII (`charset` above), so Latin-1 reads it exactly and fastest. A first line
  // `#!` (kept from the entry) is no JavaScript.
  const source = bytes.toString("latin1").replace(/^#!.*/, "")
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    cachedData
  })
  const module = { exports: {} }
  script
    .runInThisContext()
    .call(module.exports, module.exports, createRequire(bundle), module, bundle, path.dirname(bundle))
  // After the top level ran: the cache then holds the functions start-up compiled too.
  if (cachedData === undefined || script.cachedDataRejected === true) {
    try {
      writeAtomically(cache, script.createCachedData())
    } catch {
      // A read-only checkout starts without a cache; nothing else changes.
    }
  }
}
