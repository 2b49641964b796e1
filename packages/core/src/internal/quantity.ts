/** A count as the limits' messages write it: `1 MiB`, `2,000,000`. */
export const quantity = (n: number, unit = ""): string =>
  unit === "bytes" && n % (1024 * 1024) === 0
    ? `${n / 1024 / 1024} MiB`
    : `${n.toLocaleString("en-US")}${unit === "" ? "" : ` ${unit}`}`
