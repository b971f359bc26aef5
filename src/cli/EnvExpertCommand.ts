import { Command } from "effect/cli"
import * as UserError from "./UserError.ts"

// Placeholder until its implementation lands: fails with a clear message.
export const command = Command.make("expert", {}, () => UserError.fail("`env expert` is not implemented yet"))
