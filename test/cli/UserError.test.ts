import { Cause, Data } from "effect"
import { describe, expect, it } from "vitest"
import * as UserError from "../../src/cli/UserError.ts"

class Silent extends Data.TaggedError("Silent")<{ readonly cause?: unknown }> {}

describe("UserError.lineOf", () => {
  it("a tagged error without a message is named, never printed as nothing", () => {
    expect(UserError.lineOf(Cause.fail(new Silent({})))).toBe("Silent")
    expect(UserError.lineOf(Cause.fail(new Silent({ cause: new Error("listen EACCES 0.0.0.0:80\nmore") })))).toBe("Silent: listen EACCES 0.0.0.0:80")
    expect(UserError.lineOf(Cause.fail(new UserError.CommandError("port 1 is in use")))).toBe("port 1 is in use")
  })
})
