import { Command } from "effect/cli"
import * as UserError from "./UserError.ts"

// Placeholder until its implementation lands: fails with a clear message.
export const command = Command.make("generate", {}, () => UserError.fail("`data generate` is not implemented yet"))
