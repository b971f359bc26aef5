import * as NodePath from "node:path"
import { Effect, FileSystem, Option, Schema } from "effect"
import * as Bpe from "../data/Bpe.ts"
import * as Checkpoint from "../model/Checkpoint.ts"
import * as Optimizer from "../model/Optimizer.ts"
import type * as Transformer from "../model/Transformer.ts"
import * as UserError from "./UserError.ts"

/**
 * A checkpoint's policy, for the commands that act with it (`eval`, `serve`): its model, tokenizer and the way
 * its run rendered states (`render.instruction` in the checkpoint's meta, written by the runner), so that states
 * are rendered as in training.
 */
export interface Policy {
  readonly path: string // the checkpoint directory read
  readonly model: Transformer.Model
  readonly tokenizer: Bpe.Bpe
  readonly instruction: "keep" | "drop"
}

const Meta = Schema.Struct({ render: Schema.optionalKey(Schema.Struct({ instruction: Schema.Literals(["keep", "drop"]) })) })

/**
 * The checkpoint a `--checkpoint` path names: a checkpoint directory as it is; a run directory, its `checkpoints/`
 * or the `checkpoints/LATEST` file: the checkpoint LATEST names (the run's last). Anything else is left for
 * `Checkpoint.load` to refuse with its one line.
 */
export const latestOf = (path: string): Effect.Effect<string, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    for (const p of [path, NodePath.join(path, "LATEST"), NodePath.join(path, "checkpoints", "LATEST")]) {
      if (NodePath.basename(p) !== "LATEST") continue
      const isFile = yield* fs.stat(p).pipe(Effect.map((st) => st.type === "File"), Effect.orElseSucceed(() => false))
      if (!isFile) continue
      // an unreadable LATEST leaves the path as given, for Checkpoint.load to refuse with its one line
      const name = (yield* fs.readFileString(p).pipe(Effect.orElseSucceed(() => ""))).trim()
      return name === "" ? path : NodePath.join(NodePath.dirname(p), name)
    }
    return path
  })

/** Loads the policy of the checkpoint `path` names (see `latestOf`); its other models are disposed. */
export const load = Effect.fn("PolicyCheckpoint.load")(function*(path: string) {
  const loaded = yield* Checkpoint.load(yield* latestOf(path))
  const tokenizer = yield* Bpe.load(loaded.tokenizer.json)
  const entry = loaded.models["policy"]
  if (entry === undefined) {
    Checkpoint.dispose(loaded)
    return yield* UserError.fail(`${path}: the checkpoint holds no policy model`)
  }
  // only the policy acts: the other models (reference, reward model, discriminator) and the optimizers go
  Checkpoint.dispose({ ...loaded, models: Object.fromEntries(Object.entries(loaded.models).filter(([name]) => name !== "policy")) })
  if (entry.optimizer !== undefined) Optimizer.dispose(entry.optimizer)
  const instruction = Schema.decodeUnknownOption(Meta)(loaded.meta).pipe(
    Option.flatMap((m) => Option.fromNullishOr(m.render?.instruction)),
    Option.getOrElse(() => "keep" as const)
  )
  return { path: loaded.path, model: entry.model, tokenizer, instruction } satisfies Policy
})
