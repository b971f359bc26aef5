import { Command } from "effect/cli"
import * as UserError from "./UserError.ts"

// Placeholder until its implementation lands: fails with a clear message.
export const command = Command.make("info", {}, () => UserError.fail("`model info` is not implemented yet"))
