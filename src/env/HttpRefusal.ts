import { ByteSize, Data, Effect } from "effect"
import { HttpIncomingMessage, type HttpServerRequest } from "effect/http"

/**
 * What the environment servers (AgentGym, OpenEnv) refuse a request with: an HTTP status and a one-line reason, turned
 * into each protocol's own error answer by the server.
 */
export class Refusal extends Data.TaggedError("Refusal")<{ readonly status: number; readonly message: string }> {}

export const refuse = (status: number, message: string) => new Refusal({ status, message })

/** A request's body as text, refused with 413 beyond `maxBody` bytes and 400 when it cannot be read. */
export const text = (request: HttpServerRequest.HttpServerRequest, maxBody: number) =>
  request.text.pipe(
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBody)),
    Effect.mapError((e) =>
      e.reason._tag === "RequestParseError" && e.reason.reason === "BodyTooLarge"
        ? refuse(413, `the request body is larger than the limit of ${maxBody} bytes`)
        : refuse(400, "could not read the request body")
    )
  )
