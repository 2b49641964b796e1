/**
 * Configuration read from the environment, checked once where it is read: `DATABASE_URL` as a
 * `Config`, and one line for any `ConfigError`, for the CLI's standard error and the server's log.
 *
 * @since 0.1.0
 */
import { Config, ConfigError, Either, Option, Redacted } from "effect"

/**
 * A `DATABASE_URL` that names a PostgreSQL server: the URL itself (secret: it may hold a password) and
 * where it leads without credentials (`host:port/database`), for logs.
 *
 * @since 0.1.0
 */
export interface PostgresUrl {
  readonly url: Redacted.Redacted<string>
  readonly location: string
}

const ENCODE = "percent-encode / ? # @ in the user name and password as %2F %3F %23 %40"

/**
 * Why `text` is not a PostgreSQL URL the driver reads as meant, or where it leads. Never quotes the text:
 * a password that is not percent-encoded can end up in any part of it.
 */
const parse = (text: string): { readonly problem: string } | { readonly location: string } => {
  if (text.trim() === "")
    return {
      problem:
        "holds only blanks; unset it (or set it to nothing) for the embedded database, or set it to postgres://user:password@host:5432/database"
    }
  const scheme = /^\s*([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)?.[1].toLowerCase()
  if (!/^\s*postgres(ql)?:\/\//i.test(text))
    return {
      problem:
        `${scheme === undefined ? "is not a URL" : `is a ${scheme}: URL`}; expected postgres://user:password@host:5432/database ` +
        "(or postgresql://; a socket directory goes in ?host=/var/run/postgresql)"
    }
  // The driver reads `user@/database` (no host) by trying again with a stand-in host; so does this check.
  const standIn = !URL.canParse(text)
  const url = URL.canParse(text)
    ? new URL(text)
    : URL.canParse(text.replace("@/", "@localhost/"))
      ? new URL(text.replace("@/", "@localhost/"))
      : undefined
  const rest = /^\s*[^:]+:\/\/[^/?#]*(.*)$/s.exec(text)?.[1] ?? ""
  // An @ past the host means a password whose / ? or # cut the URL short, and would put the rest of it in
  // the database name or the query (and the location in the log).
  if (rest.includes("@")) return { problem: `has an @ after its host; ${ENCODE}` }
  if (url === undefined || url.port === "0") {
    const authority = /^\s*[^:]+:\/\/([^/?#]*)/.exec(text)?.[1] ?? ""
    const port = /^(?:\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority.slice(authority.lastIndexOf("@") + 1))?.[1]
    return port !== undefined &&
      port !== "" &&
      !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)
      ? { problem: `its port is not a number 1–65535 (or a password holds a / ? or #: ${ENCODE})` }
      : { problem: `is not a valid URL; check the host, and ${ENCODE}` }
  }
  // A `host` parameter (a socket directory, say) takes the place of the URL's host, as in the driver.
  const host = url.searchParams.get("host") ?? (standIn ? "" : url.hostname)
  return { location: `${host}${url.port === "" ? "" : `:${url.port}`}${url.pathname}` }
}

/**
 * `DATABASE_URL`: none when unset or set to the empty string (the embedded default); a URL the driver
 * reads as meant otherwise, or a `ConfigError` saying what is wrong with it without quoting it.
 *
 * @since 0.1.0
 */
export const databaseUrl: Config.Config<Option.Option<PostgresUrl>> = Config.redacted("DATABASE_URL").pipe(
  Config.option,
  Config.mapOrFail((url) => {
    if (Option.isNone(url) || Redacted.value(url.value) === "") return Either.right(Option.none())
    const parsed = parse(Redacted.value(url.value))
    return "problem" in parsed
      ? Either.left(ConfigError.InvalidData(["DATABASE_URL"], parsed.problem))
      : Either.right(Option.some({ url: url.value, location: parsed.location }))
  })
)

/**
 * One line for a configuration error: `VARIABLE: what is wrong` (Effect's own text reads
 * `(Invalid data at VARIABLE: "…")`).
 *
 * @since 0.1.0
 */
export const describe = (error: ConfigError.ConfigError): string => {
  switch (error._op) {
    case "And":
      return `${describe(error.left)}; ${describe(error.right)}`
    case "Or":
      return `${describe(error.left)}; or ${describe(error.right)}`
    default:
      return `${error.path.join("_")}: ${error.message}`
  }
}
