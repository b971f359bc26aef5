import { Schema } from "effect"

/**
 * A request the policy server refuses or could not answer, as OpenAI's API reports one: the HTTP status and
 * `{"error": {"message", "type", "param", "code"}}` (`ErrorBody`), the message one line saying why. The server
 * keeps serving after any of them.
 */
export const ErrorType = Schema.Literals([
  "invalid_request_error", // 400, 404, 413: the request is wrong (a field, the conversation, the model name, the size)
  "server_error" // 500: the model failed on a valid request (a backend error); the next request is served as usual
])
export type ErrorType = typeof ErrorType.Type

export class ApiError extends Schema.TaggedError<ApiError>()("ApiError", {
  status: Schema.Int,
  type: ErrorType,
  message: Schema.String,
  param: Schema.NullOr(Schema.String), // the request field at fault (`temperature`, `messages[3].content`), or null
  code: Schema.NullOr(Schema.String) // OpenAI's machine-readable code where it has one (`model_not_found`), else null
}) {}

/** The wire form of an error answer. */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    message: Schema.String,
    type: Schema.String,
    param: Schema.NullOr(Schema.String),
    code: Schema.NullOr(Schema.String)
  })
})
export type ErrorBody = typeof ErrorBody.Type

/** A 400 for a bad request field (`param`) or conversation. */
export const invalid = (message: string, param: string | null = null, code: string | null = null): ApiError =>
  new ApiError({ status: 400, type: "invalid_request_error", message, param, code })

export const body = (e: ApiError): ErrorBody => ({ error: { message: e.message, type: e.type, param: e.param, code: e.code } })
