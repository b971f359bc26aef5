import { Effect, Schema } from "effect"

/**
 * Config fields with defaults, for the stage config schemas: on the encoded side the key may be left out,
 * and decoding fills in the default. Every use site states the reason for its default beside it.
 */

/** A finite number, `default` when absent. */
export const number = (value: number) => Schema.Finite.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** A number >= 0. */
export const nonNegative = (value: number) =>
  Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** A number > 0. */
export const positive = (value: number) =>
  Schema.Finite.check(Schema.isGreaterThan(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** An integer >= `minimum` (default 1). */
export const int = (value: number, minimum = 1) =>
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(minimum)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** A number in [0, 1]. */
export const unit = (value: number) =>
  Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** A positive number or null (off). */
export const optionalPositive = (value: number | null) =>
  Schema.NullOr(Schema.Finite.check(Schema.isGreaterThan(0))).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))
