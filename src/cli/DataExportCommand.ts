import { Command } from "effect/cli"
import * as UserError from "./UserError.ts"

// Placeholder until its implementation lands: fails with a clear message.
export const command = Command.make("export", {}, () => UserError.fail("`data export` is not implemented yet"))
