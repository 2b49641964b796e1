// Builds an esbuild bundle (CommonJS, for Node 20) of a TypeScript entry when it may be stale, and runs
// one: the apps' bundles (scripts/launch.mjs) and the export workers' (packages/db, ExportWorkers, whose
// threads start in scripts/thread.cjs). Staleness comes from the bundler's own input list (esbuild's
// metafile, kept beside the bundle), never from a hand-kept list of folders that a new workspace
// dependency would silently miss. CommonJS, so that a bundle can require it at run time (a bundle has no
// dynamic import).
//
// A bundle is compiled through `vm.Script` with V8's code cache: compiling 3.7 MB of JavaScript was a
// third of every start (Node 20 caches no ES module's code), and 110 ms of a worker's 310. The cache is
// named after a hash of the very source compiled, so a rebuilt bundle can never run another bundle's
// cached code.
"use strict"
const { createHash } = require("node:crypto")
const fs = require("node:fs")
const path = require("node:path")
const { createRequire, isBuiltin } = require("node:module")
const v8 = require("node:v8")
const vm = require("node:vm")

const root = path.join(__dirname, "..")

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
  if (newer(__filename) || (installed !== undefined && installed.mtimeMs > built)) return true
  const packages = new Set()
  return inputs.some((input) => {
    const store = STORE.exec(input)
    if (store === null) return newer(path.join(root, input))
    if (packages.has(store[0])) return false
    packages.add(store[0])
    return !fs.existsSync(path.join(root, store[0]))
  })
}

/** Writes a file beside its target and renames it over it: concurrent builds never leave half a file. */
const writeAtomically = (file, contents) => {
  const partial = `${file}.${process.pid}.partial`
  fs.writeFileSync(partial, contents)
  fs.renameSync(partial, file)
}

/**
 * The bundle of `entry` (a path relative to the repository root, inside a package that depends on
 * esbuild), at `<package>/build/<name>.cjs`, rebuilt first when it may be stale.
 *
 * @param {{ pkg: string, entry: string }} options
 * @returns {Promise<string>} the bundle's path
 */
const bundled = async ({ pkg, entry }) => {
  const name = path.basename(entry, ".ts")
  const bundle = path.join(root, pkg, "build", `${name}.cjs`)
  // The metafile's input list, paths relative to the root (esbuild's full metafile is ~1 MB to parse).
  const metafile = path.join(root, pkg, "build", `${name}.meta.json`)
  if (!isStale(bundle, metafile)) return bundle
  const started = new Date()
  const { build } = createRequire(path.join(root, pkg, "package.json"))("esbuild")
  const result = await build({
    absWorkingDir: root,
    entryPoints: [path.join(root, pkg, entry)],
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
    // Non-ASCII characters escaped (esbuild's default, relied on by the launcher).
    charset: "ascii",
    // `pg` asks `navigator` whether it runs on Cloudflare Workers as it loads. Node 20 has no `navigator`
    // (Node 21 has, with this user agent), so `pg` builds a `Response` instead, which loads Node's whole
    // `fetch` implementation: ~30 ms of every start. The bundle's own `navigator`, a variable of its
    // scope (an object `define` would add an init call to every module); PGlite, outside the bundle,
    // still sees none. Nothing else in the bundles reads `navigator`.
    banner: { js: 'var __navigator = { userAgent: "Node.js" };' },
    define: { navigator: "__navigator" },
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
    if (file.startsWith(`${name}.`) && (file.endsWith(".cache") || file.endsWith(".cache.builtins.json")))
      fs.rmSync(path.join(path.dirname(bundle), file), { force: true })
  return bundle
}

/** Node's own modules loaded so far (`node:fs`, not its internal ones). */
const loadedBuiltins = () =>
  process.moduleLoadList
    .filter((m) => m.startsWith("NativeModule ") && !m.startsWith("NativeModule internal/"))
    .map((m) => m.slice("NativeModule ".length))
    .filter((m) => isBuiltin(m))

/**
 * Compiles and runs a CommonJS bundle as Node would, with V8's code cache beside it.
 *
 * `flags`, V8 flags, are set before the bundle is compiled, so that its code cache is made and used under
 * the same flags. V8 refuses the code cache Node ships for its own modules under any flag, and compiling
 * them again cost ~60 ms of a start: so the Node modules the bundle's top level loaded the last time are
 * loaded first, under Node's defaults (their list is kept beside the code cache).
 *
 * @param {string} bundle
 * @param {{ flags?: ReadonlyArray<string> }} [options]
 * @returns {Record<string, unknown>} what the bundle exports
 */
const run = (bundle, { flags = [] } = {}) => {
  const bytes = fs.readFileSync(bundle)
  // V8 refuses a cache made under other flags or another V8: one cache per bundle, Node and flags, so that
  // `node bin.mjs` and `node --cpu-prof bin.mjs` do not overwrite each other's.
  const key = createHash("sha256")
    .update(bytes)
    .update(`\0${process.version}\0${process.execArgv.join("\0")}\0${flags.join("\0")}`)
  const cache = `${bundle.slice(0, -".cjs".length)}.${key.digest("hex").slice(0, 32)}.cache`
  const builtins = `${cache}.builtins.json`
  let cachedData
  try {
    cachedData = fs.readFileSync(cache)
    for (const name of JSON.parse(fs.readFileSync(builtins, "utf8"))) if (isBuiltin(name)) require(name)
  } catch {}
  for (const flag of flags) v8.setFlagsFromString(flag)
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
      writeAtomically(builtins, `${JSON.stringify(loadedBuiltins())}\n`)
      writeAtomically(cache, script.createCachedData())
    } catch {
      // A read-only checkout starts without a cache; nothing else changes.
    }
  }
  return module.exports
}

module.exports = { bundled, run }
