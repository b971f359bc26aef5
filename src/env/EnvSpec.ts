import { Schema } from "effect"

/**
 * What another process needs to open the same environment as this one: a built-in environment's name and world
 * seed, or a server's URL and protocol, and whether states keep the environment's instruction. A worker of the
 * cluster (docs/scale-out.md) opens its sessions from it; `Env.spec` carries it where it is known.
 */
export const EnvSpec = Schema.Struct({
  name: Schema.String,
  seed: Schema.Int,
  url: Schema.optionalKey(Schema.String),
  protocol: Schema.optionalKey(Schema.Literals(["agentgym", "openenv"])),
  instruction: Schema.Literals(["keep", "drop"])
})
export type EnvSpec = typeof EnvSpec.Type
