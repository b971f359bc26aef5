import { Flag } from "effect/cli"
import * as Registry from "../env/Registry.ts"

/** Flags shared by the commands that use a built-in environment. */
export const env = Flag.Literals("env", Registry.names).pipe(Flag.withDescription("built-in environment: shop, house or qa"))

export const seed = Flag.Int("seed").pipe(
  Flag.withDescription("world seed: which catalogue, houses or knowledge base the environment generates (default 0, the shipped datasets')"),
  Flag.withDefault(0)
)

export const task = Flag.String("task").pipe(Flag.withDescription("task id <train|test>:<index>, e.g. test:17"))
