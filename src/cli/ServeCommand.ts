import { Console, Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { HttpServer } from "effect/http"
import * as PolicyServer from "../serve/PolicyServer.ts"
import * as BackendCommand from "./BackendCommand.ts"
import * as ListenError from "./ListenError.ts"
import * as PolicyCheckpoint from "./PolicyCheckpoint.ts"
import * as RunCommand from "./RunCommand.ts"
import * as UserError from "./UserError.ts"

/**
 * `stepagent serve --checkpoint DIR [--port 8000] [--host 127.0.0.1] [--model-name NAME] [--seed S]`: the checkpoint's
 * policy behind OpenAI's chat-completions API (docs/serve.md). The first line on stdout is one JSON object with the
 * URL actually bound (useful with --port 0), the base URL an OpenAI client takes (`<url>/v1`) and the model's name.
 */
export const command = Command.make("serve", {
  checkpoint: Flag.String("checkpoint").pipe(Flag.withDescription("a checkpoint directory (runs/<run>/checkpoints/unit-NNNN), or a run directory, its checkpoints/ or checkpoints/LATEST for the latest")),
  port: Flag.Int("port").pipe(Flag.withDescription("TCP port, 0 to 65535 (default 8000, as vLLM; 0 picks a free one)"), Flag.withDefault(8000)),
  host: Flag.String("host").pipe(Flag.withDescription("address to listen on (default 127.0.0.1: loopback only)"), Flag.withDefault("127.0.0.1")),
  modelName: Flag.String("model-name").pipe(Flag.withDescription("the model's id in requests and answers (default: the --checkpoint path as given, as vLLM names a model by its path)"), Flag.optional),
  seed: Flag.Int("seed").pipe(Flag.withDescription("the random stream of requests that send no seed (default 0; a request's own seed wins)"), Flag.withDefault(0)),
  maxBodyBytes: Flag.Int("max-body-bytes").pipe(
    Flag.withDescription(`largest request body; larger ones get 413 (default ${PolicyServer.defaults.maxBodyBytes}: a long episode's conversation is a few hundred KB)`),
    Flag.withDefault(PolicyServer.defaults.maxBodyBytes)
  ),
  ...BackendCommand.flags
}, ({ checkpoint, host, maxBodyBytes, modelName, port, seed, ...flags }) =>
  Effect.gen(function*() {
    yield* ListenError.checkPort(port)
    yield* ListenError.checkHost(host)
    if (maxBodyBytes <= 0) return yield* UserError.fail(`--max-body-bytes must be a positive integer, got ${maxBodyBytes}`)
    const policy = yield* PolicyCheckpoint.load(checkpoint)
    const name = Option.getOrElse(modelName, () => checkpoint)
    const announce = Layer.effectDiscard(Effect.gen(function*() {
      const server = yield* HttpServer.HttpServer
      const bound = "port" in server.address ? server.address.port : port
      const authority = host.includes(":") ? `[${host}]` : host
      const url = `http://${authority}:${bound}`
      yield* Console.log(JSON.stringify({ url, baseUrl: `${url}/v1`, model: name, checkpoint: policy.path, contextLength: policy.model.config.contextLength, instruction: policy.instruction }))
    }))
    const server = PolicyServer.layer({ name, model: policy.model, tokenizer: policy.tokenizer, instruction: policy.instruction }, { port, host, seed, maxBodyBytes })
    yield* Layer.launch(announce.pipe(Layer.provideMerge(server))).pipe(
      Effect.catchTag("ServeError", ListenError.onServeError(host, port))
    )
  }).pipe(Effect.provide(RunCommand.services(flags)))
).pipe(Command.withDescription("Serve a checkpoint's policy over OpenAI's chat-completions API (/v1/chat/completions, /v1/models)"))
