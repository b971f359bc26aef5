import { Command } from "effect/cli"
import * as UserError from "./UserError.ts"

// Placeholder until its implementation lands: fails with a clear message.
export const command = Command.make("backend", {}, () => UserError.fail("`backend` is not implemented yet"))
