import { Effect, Stream } from "effect"
import * as Bpe from "../data/Bpe.ts"
import * as Render from "../data/Render.ts"
import * as Checkpoint from "../model/Checkpoint.ts"
import * as Preset from "../model/Preset.ts"
import type * as Models from "../stages/Models.ts"
import * as Dataset from "./Dataset.ts"
import type * as Pipeline from "./Pipeline.ts"
import { PipelineError } from "./PipelineError.ts"

/** The pipeline's tokenizer: the one `tokenizer.path` names, or a BPE trained on the data (one pass over it). */
const tokenizer = (p: Pipeline.Pipeline) =>
  Effect.gen(function*() {
    if (p.tokenizer.path !== undefined) {
      return yield* Bpe.loadFile(p.tokenizer.path).pipe(
        Effect.mapError((e) => new PipelineError({ reason: "MissingDataset", message: e.message }))
      )
    }
    const counts = Bpe.wordCounts({})
    yield* Dataset.trajectories(p).pipe(Stream.runForEach((t) => Effect.sync(() => Render.texts(t).forEach((s) => counts.add(s)))))
    return yield* Bpe.fromCounts(counts, { vocabSize: p.tokenizer.vocab }).pipe(
      Effect.mapError((e) => new PipelineError({ reason: "InvalidConfig", message: `tokenizer: ${e.message}` }))
    )
  })

/** Where a run starts: a fresh tokenizer and model, or the `init` checkpoint's policy, reference and tokenizer. */
export const initialState = (p: Pipeline.Pipeline) =>
  Effect.gen(function*() {
    if (p.init === undefined) return { tokenizer: yield* tokenizer(p), initial: undefined }
    const path = p.init.checkpoint
    const incompatible = (message: string) => new PipelineError({ reason: "IncompatibleCheckpoint", message: `init checkpoint ${path}: ${message}` })
    const loaded = yield* Checkpoint.load(path).pipe(Effect.mapError((e) => incompatible(e.message)))
    const tok = yield* Bpe.load(loaded.tokenizer.json).pipe(Effect.mapError((e) => incompatible(e.message)))
    const policy = loaded.models["policy"]
    if (policy === undefined) return yield* incompatible("holds no policy model")
    const wanted = Preset.config(p.model.preset, { ...p.model.overrides, vocabSize: tok.vocabSize })
    const differs = (Object.keys(wanted) as Array<keyof typeof wanted>).filter((k) => wanted[k] !== policy.model.config[k])
    if (differs.length > 0) return yield* incompatible(`its policy's ${differs.map((k) => `${k} ${policy.model.config[k]}`).join(", ")} differ from the pipeline's model (${differs.map((k) => `${k} ${wanted[k]}`).join(", ")})`)
    const reference = loaded.models["reference"]
    const initial: Partial<Record<Models.Role, Models.Entry>> = { policy: { model: policy.model } }
    if (reference !== undefined) initial.reference = { model: reference.model }
    return { tokenizer: tok, initial }
  })
