// `pnpm imports`: the import graph of the workspace's TypeScript, checked (run by `pnpm check`, so by CI).
// - No app imports another app (apps/cli, apps/server and apps/bench reach each other only through
//   packages), in its sources or its tests.
// - No cycle among the modules of any package or app's sources, type-only imports included, and none
//   among the workspace packages themselves.
// - The HTTP protocol is declared once: only packages/protocol's sources import @effect/platform's
//   declaration modules (HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema), and the CLI reaches
//   the server only through it: a CLI source that imports an HTTP client (HttpApiClient, HttpClient,
//   HttpClientRequest) also imports the protocol's Api.
// Imports are read with TypeScript's own pre-processor (static, type-only, re-exports and `import()`).
// Prints one line per breach and exits 1, or a one-line summary and exits 0.
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..")
const ts = createRequire(path.join(root, "package.json"))("typescript")

/** Every `.ts` file under `dir`, recursively (none when it does not exist). */
const files = (dir) =>
  fs.existsSync(dir)
    ? fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name)
        if (e.isDirectory()) return e.name === "node_modules" || e.name === "build" ? [] : files(p)
        return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : []
      })
    : []

/** The workspace's units: each folder of apps/ and packages/ with a package.json, by package name. */
const units = ["apps", "packages"].flatMap((group) =>
  fs
    .readdirSync(path.join(root, group))
    .filter((name) => fs.existsSync(path.join(root, group, name, "package.json")))
    .map((name) => {
      const dir = path.join(root, group, name)
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).name
      return { group, dir, pkg, src: files(path.join(dir, "src")), test: files(path.join(dir, "test")) }
    })
)
const byName = new Map(units.map((u) => [u.pkg, u]))
const unitOf = (file) => units.find((u) => file.startsWith(`${u.dir}${path.sep}`))
const rel = (file) => path.relative(root, file)

/** The file an import names, inside the workspace, or undefined (a library, Node). */
const resolve = (from, specifier) => {
  if (specifier.startsWith(".")) {
    const target = path.resolve(path.dirname(from), specifier)
    for (const candidate of [target.replace(/\.js$/, ".ts"), `${target}.ts`, path.join(target, "index.ts")])
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate
    return target
  }
  const match = /^(@ground-truth\/[^/]+)(?:\/(.+))?$/.exec(specifier)
  const unit = match && byName.get(match[1])
  if (!unit) return undefined
  return path.join(unit.dir, "src", match[2] === undefined ? "index.ts" : `${match[2]}.ts`)
}

const importsOf = (file) =>
  ts
    .preProcessFile(fs.readFileSync(file, "utf8"), true, true)
    .importedFiles.map((i) => resolve(file, i.fileName))
    .filter((target) => target !== undefined)

/** The names each import of `file` binds from each module (`*` for a namespace or an `import()`). */
const bindings = (file) => {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
  const found = []
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const clause = ts.isImportDeclaration(node) ? node.importClause?.namedBindings : node.exportClause
      const names =
        clause && (ts.isNamedImports(clause) || ts.isNamedExports(clause))
          ? clause.elements.map((e) => (e.propertyName ?? e.name).text)
          : ["*"]
      found.push({ module: node.moduleSpecifier.text, names })
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments.length === 1 &&
      ts.isStringLiteral(node.arguments[0])
    )
      found.push({ module: node.arguments[0].text, names: ["*"] })
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

/** The @effect/platform modules `file` imports: `HttpApi` for `{ HttpApi } from "@effect/platform"`. */
const platformModules = (file) =>
  bindings(file).flatMap(({ module, names }) =>
    module === "@effect/platform" ? names : module.startsWith("@effect/platform/") ? [module.slice(17)] : []
  )

const DECLARATION = new Set(["HttpApi", "HttpApiEndpoint", "HttpApiGroup", "HttpApiSchema"])
const CLIENT = new Set(["HttpApiClient", "HttpClient", "HttpClientRequest"])

const breaches = []
/** Module edges among sources; package edges among units. */
const edges = new Map()
const packageEdges = new Map(units.map((u) => [u.pkg, new Set()]))
for (const unit of units) {
  for (const file of [...unit.src, ...unit.test]) {
    const isSource = unit.src.includes(file)
    const targets = importsOf(file)
    if (isSource)
      edges.set(
        file,
        targets.filter((t) => unitOf(t) === unit)
      )
    for (const target of targets) {
      const other = unitOf(target)
      if (other === undefined || other === unit) continue
      if (unit.group === "apps" && other.group === "apps")
        breaches.push(`${rel(file)} imports ${rel(target)}: an app reaches another app only through packages`)
      if (isSource) packageEdges.get(unit.pkg).add(other.pkg)
    }
  }
}

const protocol = byName.get("@ground-truth/protocol")
for (const unit of units) {
  for (const file of unit.src) {
    const used = platformModules(file)
    if (unit !== protocol)
      for (const name of used.filter((m) => DECLARATION.has(m)))
        breaches.push(`${rel(file)} imports ${name}: the HTTP API is declared in packages/protocol only`)
    if (
      unit.pkg === "@ground-truth/cli" &&
      used.some((m) => CLIENT.has(m)) &&
      !bindings(file).some(({ module }) => module.startsWith("@ground-truth/protocol"))
    )
      breaches.push(
        `${rel(file)} uses an HTTP client without the protocol: the CLI calls the server through its Api`
      )
  }
}

/** Strongly connected components of more than one node, or with a self-edge (Tarjan's algorithm). */
const cycles = (graph) => {
  const index = new Map()
  const low = new Map()
  const stack = []
  const on = new Set()
  const found = []
  let next = 0
  const visit = (v) => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    on.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v), low.get(w)))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), index.get(w)))
    }
    if (low.get(v) !== index.get(v)) return
    const component = []
    let w
    do {
      w = stack.pop()
      on.delete(w)
      component.push(w)
    } while (w !== v)
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort())
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return found
}

for (const cycle of cycles(edges)) breaches.push(`import cycle: ${cycle.map(rel).join(" <-> ")}`)
for (const cycle of cycles(new Map([...packageEdges].map(([k, v]) => [k, [...v]]))))
  breaches.push(`package cycle: ${cycle.join(" <-> ")}`)

if (breaches.length > 0) {
  for (const b of breaches) process.stderr.write(`imports: ${b}\n`)
  process.exit(1)
}
const modules = units.reduce((n, u) => n + u.src.length + u.test.length, 0)
const links = [...packageEdges].map(([k, v]) => `${k} -> ${[...v].join(", ") || "none"}`).join("; ")
process.stdout.write(
  `imports: ${modules} files, no app imports another, no cycle, the API declared in the protocol only (${links})\n`
)
