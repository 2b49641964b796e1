/**
 * The plans the server holds (contract §15, `GET /plan`): each a snapshot exported and held on a
 * connection of its own, with the slot it takes from the reads (`Admission`) for as long as it is held,
 * so that the server never holds more connections than its pool has. At most `GROUND_TRUTH_PLANS`
 * (default 2, fewer on a pool too small for them and one read besides) at once: one more is a 429 with `Retry-After` (when the first one's hold ends), never a
 * wait. A plan ends when its hold ends (`hold`, at most `GROUND_TRUTH_PLAN_HOLD_MAX`, default 1 hour),
 * when it is stopped (`DELETE /plan/{id}`), when its session ends (its watch fails), or when the server
 * stops; it is then gone, and its shards are a 410 `plan_gone`.
 *
 * @since 0.1.0
 */
import { Export, type Filter, type Plan } from "@ground-truth/core"
import { Database } from "@ground-truth/db"
import { PlansUnsupported, TooManyPlans, type Unavailable } from "@ground-truth/protocol/Api"
import { Config, ConfigError, Duration, Effect, Exit, Fiber, Option, Scope } from "effect"
import { Admission } from "./Admission.js"
import { exportFailure } from "./Errors.js"

/** A plan held: what it is, and when its hold ends (ms since 1970). */
interface Held {
  readonly plan: Plan.Plan
  readonly ends: number
  readonly stop: Effect.Effect<unknown>
}

/** @since 0.1.0 */
export class Plans extends Effect.Service<Plans>()("@ground-truth/server/Plans", {
  scoped: Effect.gen(function* () {
    const exporter = yield* Export.Export
    const admission = yield* Admission
    const info = yield* Database.DatabaseInfo
    // Unset: 2, or fewer where the pool is too small for them and a read of their shards besides.
    const max = yield* Config.integer("GROUND_TRUTH_PLANS").pipe(
      Config.validate({ message: "Expected a whole number, 0 or more", validation: (n: number) => n >= 0 }),
      Config.withDefault(Math.max(0, Math.min(2, admission.slots - 1)))
    )
    const holdMax = yield* Config.duration("GROUND_TRUTH_PLAN_HOLD_MAX").pipe(
      Config.validate({
        message: "Expected a duration of a second or more",
        validation: (d: Duration.Duration) => Duration.toMillis(d) >= 1000
      }),
      Config.withDefault(Duration.hours(1))
    )
    // Every plan held, and one read besides: its shards must be readable while the plans hold theirs.
    if (info.kind !== "embedded" && max > 0 && max + 1 > admission.slots) {
      return yield* Effect.fail(
        ConfigError.InvalidData(
          ["GROUND_TRUTH_PLANS"],
          `${max} plans held take ${max} of the ${admission.slots} connections for reads, leaving too few ` +
            "to read their shards: raise GROUND_TRUTH_DB_POOL or lower GROUND_TRUTH_PLANS"
        )
      )
    }
    const oneSession = yield* Database.servesOneSession.pipe(
      Effect.timeout(Duration.seconds(2)),
      Effect.orElseSucceed(() => false)
    )
    const held = new Map<string, Held>()
    // Plans being made, counted from the request on.
    let taking = 0
    const server = yield* Effect.scope
    const unsupported = (why: string) =>
      new PlansUnsupported({ error: { code: "plans_unsupported", message: why } })

    const retryIn = (): number => {
      const first = Math.min(...Array.from(held.values(), (h) => h.ends))
      return Number.isFinite(first) ? Math.max(1, Math.ceil((first - Date.now()) / 1000)) : 5
    }

    /** A new plan, held until its hold ends, it is stopped, its session ends or the server stops. */
    const make = (
      filter: Filter.Filter,
      count: number,
      hold: Duration.Duration
    ): Effect.Effect<
      Plan.Plan,
      TooManyPlans | PlansUnsupported | Unavailable | ReturnType<typeof exportFailure>
    > =>
      Effect.gen(function* () {
        if (oneSession) {
          return yield* Effect.fail(
            unsupported(
              "the database serves one session at a time (the embedded one): a plan's shards could not be read " +
                "while it holds its snapshot; plans need PostgreSQL"
            )
          )
        }
        if (max === 0) {
          return yield* Effect.fail(
            unsupported(
              "plans are off on this server: GROUND_TRUTH_PLANS is 0, or GROUND_TRUTH_DB_POOL leaves no connection for one"
            )
          )
        }
        // Uninterruptible but for the wait for a slot and the plan's making: a request cut meanwhile
        // leaves neither a count nor a held plan behind, and one made is registered whatever happens.
        return yield* Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            // Checked and counted in one step: two requests at once never make one plan too many.
            if (held.size + taking >= max) {
              return yield* Effect.fail(
                new TooManyPlans({
                  error: {
                    code: "too_many_plans",
                    message:
                      `this server holds ${max} plans (GROUND_TRUTH_PLANS): stop one, or try again in ${retryIn()} ` +
                      "seconds, when the first one's hold ends"
                  }
                })
              )
            }
            taking++
            const scope = yield* Scope.make()
            const made = yield* restore(
              Effect.zipRight(
                admission.admit,
                Effect.mapError(exporter.plan(filter, count, hold), exportFailure)
              )
            ).pipe(
              Scope.extend(scope),
              Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void)),
              Effect.ensuring(
                Effect.sync(() => {
                  taking--
                })
              )
            )
            const { plan, watch, warning } = made
            if (Option.isSome(warning)) {
              yield* Effect.logWarning(warning.value).pipe(Effect.annotateLogs({ plan_id: plan.id }))
            }
            // Once begun, a release runs to its end: its COMMIT returns the connection and the slot.
            const release = (why: string) =>
              Effect.uninterruptible(
                Effect.zipRight(
                  Effect.sync(() => held.delete(plan.id)),
                  Effect.zipRight(
                    Scope.close(scope, Exit.void),
                    Effect.log("plan ended").pipe(Effect.annotateLogs({ plan_id: plan.id, why }))
                  )
                )
              )
            const ended = Effect.raceFirst(
              Effect.as(Effect.sleep(hold), "its hold ended"),
              Effect.as(Effect.ignore(watch), "its database session ended")
            )
            const fiber = yield* Effect.forkIn(
              Effect.flatMap(Effect.interruptible(ended), release).pipe(
                Effect.onInterrupt(() => release("stopped"))
              ),
              server
            )
            held.set(plan.id, {
              plan,
              ends: Date.now() + Duration.toMillis(hold),
              stop: Fiber.interrupt(fiber)
            })
            yield* Effect.log("plan held").pipe(
              Effect.annotateLogs({
                plan_id: plan.id,
                shards: count,
                jobs: plan.jobs,
                hold: Duration.format(hold)
              })
            )
            return plan
          })
        )
      })

    return {
      make,
      /** Seconds until the first plan's hold ends: when to ask again for one more. */
      retryIn,
      holdMax,
      /** The plan held under `id`, if any. */
      get: (id: string): Option.Option<Plan.Plan> =>
        Option.map(Option.fromNullable(held.get(id)), (h) => h.plan),
      /** Stops the plan held under `id`: false when there is none. */
      stop: (id: string): Effect.Effect<boolean> =>
        Effect.suspend(() => {
          const h = held.get(id)
          return h === undefined ? Effect.succeed(false) : Effect.as(h.stop, true)
        })
    }
  })
}) {}
