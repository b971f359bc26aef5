import * as NodeCrypto from "node:crypto"
import * as NodePath from "node:path"
import { pathToFileURL } from "node:url"
import { Effect, FileSystem, Schema } from "effect"
import * as Recovery from "../env/Recovery.ts"
import * as Registry from "../env/Registry.ts"
import * as Preset from "../model/Preset.ts"
import * as Field from "../stages/Field.ts"
import * as Environment from "./Environment.ts"
import * as Overrides from "./Overrides.ts"
import { PipelineError, schemaIssueLine } from "./PipelineError.ts"
import * as StageEntry from "./StageEntry.ts"

/**
 * An experiment declared as data: seed, environment and datasets, tokenizer, model preset and a list of
 * stages with their configs. Pipeline scripts in pipelines/ default-export one (`define` gives them types);
 * `stepagent run` validates it with this Schema, with errors that name the field.
 */
export const Pipeline = Schema.Struct({
  name: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._-]+$/)), // used in the run directory's name
  method: Schema.String, // the row of the comparison table: sft, outcome-ppo, step-dpo, stepagent-implicit, stepagent-inverse
  seed: Field.int(1, 0), // every random stream of the run derives from it
  env: Schema.Struct({
    name: Schema.Literals(Registry.names),
    seed: Field.int(0, 0), // the world the shipped datasets were generated from
    url: Schema.optionalKey(Schema.String), // evaluate against an environment server instead of the built-in simulator (several, comma-separated: sessions spread over them)
    protocol: Schema.optionalKey(Schema.Literals(["agentgym", "openenv"])), // what env.url speaks (docs/env-server.md); default agentgym
    // the scripted expert of the generated data, the held-out pool and the action-accuracy states: "explore" (shop only)
    // looks at the results in rank order and goes back from products that lack a wanted option, where the default
    // ("direct") clicks the product it knows from the catalogue, a choice the results page does not show
    expert: Schema.optionalKey(Schema.Literals(Registry.expertStyles))
  }),
  data: Schema.Struct({
    train: Schema.Array(Schema.String).pipe(Schema.withDecodingDefaultKey(Effect.succeed([]))), // .arrows files of expert trajectories, relative to the working directory
    // expert trajectories generated in-process from the built-in environment (after the files): data is free, and fresh
    // worlds keep a model from memorising one world's facts. Trajectory k is train task floor(k / S) of world seeds[k % S].
    generate: Schema.optionalKey(Schema.Struct({
      n: Schema.Int.check(Schema.isGreaterThan(0)),
      // the experts' templated thoughts (`Thought: ...\nAction: ...` turns, as ReAct writes them): a chain of reasoning
      // the policy learns to write before each action. Longer turns: give the model a longer context (768 for qa).
      thoughts: Schema.optionalKey(Schema.Boolean),
      // a mistake of the kind agents make inserted before an expert action at this rate, its turn flagged as no target,
      // so the policy sees states after errors and how the expert recovers (src/env/Recovery.ts); 0 = the plain expert
      recoveries: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
      // the kinds of mistake drawn (Recovery.kinds); default repeat, drop, replace ("early", a later expert action taken
      // now, is opt-in so that data generated before it existed stays byte for byte the same)
      recoveryKinds: Schema.optionalKey(Schema.Array(Schema.Literals(Recovery.kinds)).check(Schema.isMinLength(1))),
      seeds: Schema.optionalKey(Schema.Array(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))).check(Schema.isMinLength(1))) // default: [env.seed]
    })),
    limit: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))) // use the first N trajectories only
  }),
  tokenizer: Schema.Struct({
    vocab: Field.int(1024, 262), // agent text is repetitive: 1k merges cover its words; a small vocabulary keeps the LM head cheap
    path: Schema.optionalKey(Schema.String) // a trained tokenizer.json instead of training one on the train data
  }),
  model: Schema.Struct({
    preset: Schema.Literals(Preset.names),
    overrides: Schema.optionalKey(Schema.Struct({
      contextLength: Schema.optionalKey(Schema.Int),
      dModel: Schema.optionalKey(Schema.Int),
      layers: Schema.optionalKey(Schema.Int),
      heads: Schema.optionalKey(Schema.Int),
      mlpRatio: Schema.optionalKey(Schema.Int),
      copyHead: Schema.optionalKey(Schema.Boolean), // the pointer head of src/model/Copy.ts (small and base have it)
      copyMatch: Schema.optionalKey(Schema.Boolean) // its suffix-match bias (small and base have it)
    }))
  }),
  // Start from another run's checkpoint (its policy, tokenizer and reference) instead of a fresh model: lets several
  // methods share one SFT warm start, as the paper's comparison does.
  init: Schema.optionalKey(Schema.Struct({ checkpoint: Schema.String })),
  render: Schema.Struct({
    // "drop": a model trained from scratch learns nothing from a prompt that is identical in every trajectory,
    // and the built-in prompts take 150-350 tokens of a 512-token context; "keep" for pretrained-style prompts.
    instruction: Schema.Literals(["keep", "drop"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("drop" as const)))
  }).pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  stages: Schema.Array(StageEntry.StageEntry).check(Schema.isMinLength(1))
})
export type Pipeline = typeof Pipeline.Type
export type Input = typeof Pipeline.Encoded

/** Types a pipeline script's definition (no runtime effect). */
export const define = (p: Input): Input => p

const invalid = (file: string, message: string) => new PipelineError({ reason: "InvalidConfig", message: `${file}: ${message}` })

/** Validates a raw definition (after overrides). Unknown fields are errors: a typo must not be silently ignored. */
export const decode = (file: string, raw: unknown): Effect.Effect<Pipeline, PipelineError> =>
  Effect.gen(function*() {
    // An unknown stage first, by name: the union's own message would list every member's issues.
    const stages = typeof raw === "object" && raw !== null && "stages" in raw ? (raw as { stages: unknown }).stages : undefined
    if (Array.isArray(stages)) {
      for (const [i, s] of stages.entries()) {
        const name = typeof s === "object" && s !== null && "stage" in s ? (s as { stage: unknown }).stage : undefined
        if (!(StageEntry.kinds as ReadonlyArray<unknown>).includes(name)) {
          return yield* invalid(file, `stages[${i}]: unknown stage ${JSON.stringify(name)} (known: ${StageEntry.kinds.join(", ")})`)
        }
      }
    }
    return yield* Schema.decodeUnknownEffect(Pipeline)(raw, { onExcessProperty: "error", errors: "all" }).pipe(
      Effect.mapError((e) => invalid(file, schemaIssueLine(e.message)))
    )
  })

/** The resolved definition as config.json records it: defaults filled in, fields in the Schema's order. */
export const encode = (file: string, p: Pipeline): Effect.Effect<Input, PipelineError> =>
  Schema.encodeEffect(Pipeline)(p).pipe(Effect.mapError((e) => invalid(file, schemaIssueLine(e.message))))

/** The hash config.json records of a resolved definition (or of config.json's config as read back, for a resume's check): a resume refuses a config that no longer matches it. */
export const hash = (resolved: unknown): string => NodeCrypto.createHash("sha256").update(JSON.stringify(resolved)).digest("hex").slice(0, 16)

/** Applies `--set path=value` overrides to a raw definition. */
export const override = (file: string, raw: unknown, sets: ReadonlyArray<string>): Effect.Effect<unknown, PipelineError> =>
  Effect.gen(function*() {
    let out = raw
    for (const s of sets) {
      const o = Overrides.parse(s)
      if (typeof o === "string") return yield* invalid(file, o)
      const next = Overrides.apply(out, o)
      if (typeof next === "object" && next !== null && "error" in next && Object.keys(next).length === 1) {
        return yield* invalid(file, String((next as { error: unknown }).error))
      }
      out = next
    }
    return out
  })

/** Loads a pipeline script (a .ts module default-exporting a definition) and returns its raw definition. */
export const load = (file: string): Effect.Effect<unknown, PipelineError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const abs = NodePath.resolve(file)
    if (!(yield* exists(abs))) return yield* new PipelineError({ reason: "NotFound", message: `${file}: no such pipeline script` })
    const mod = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(abs).href) as Promise<{ readonly default?: unknown }>,
      catch: (e) => new PipelineError({ reason: "BadScript", message: `${file}: cannot load (${e instanceof Error ? e.message.split("\n")[0] : String(e)})` })
    })
    if (mod.default === undefined) return yield* new PipelineError({ reason: "BadScript", message: `${file}: does not default-export a pipeline (export default define({...}))` })
    return mod.default
  })

/**
 * Environments whose test split stays disjoint from the train split of *every* world seed (qa: a name's split is a
 * hash of the name, whatever the seed). Shop and house split products, layouts and goal combinations per seed, so
 * another seed's train tasks could be this seed's test tasks: they generate from `env.seed` only.
 */
export const crossSeedSafe: ReadonlyArray<string> = ["qa"]

/** Checks that every dataset the pipeline names exists, before any work. */
/** Whether a path exists; a file system that cannot tell counts as "no" (the caller's error names the path). */
const exists = (path: string): Effect.Effect<boolean, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    return yield* fs.exists(path)
  }).pipe(Effect.orElseSucceed(() => false))

export const checkDatasets = (file: string, p: Pipeline): Effect.Effect<void, PipelineError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    if (p.data.train.length === 0 && p.data.generate === undefined) {
      return yield* invalid(file, "data: give train files, generate, or both")
    }
    const seeds = p.data.generate?.seeds ?? [p.env.seed]
    if (seeds.some((s) => s !== p.env.seed) && !crossSeedSafe.includes(p.env.name)) {
      return yield* invalid(file, `data.generate.seeds: ${p.env.name} splits its tasks per world seed, so other seeds' train tasks could be test tasks of seed ${p.env.seed}; generate from [${p.env.seed}] only`)
    }
    if (p.env.expert === "explore" && !Registry.exploring.includes(p.env.name)) {
      return yield* invalid(file, `env.expert: "explore" is for shop only (house's expert already searches, qa's acts on what its searches return)`)
    }
    const badUrl = p.env.url === undefined ? undefined : Environment.urlProblem(p.env.url, p.env.protocol ?? "agentgym")
    if (badUrl !== undefined) return yield* invalid(file, `env.url: ${badUrl}`)
    if (p.env.url !== undefined && p.data.generate !== undefined) {
      // generation runs the built-in simulator's expert; a remote environment's tasks may differ
      return yield* invalid(file, "data.generate needs the built-in environment (env.url is set)")
    }
    const g = p.data.generate
    if (g !== undefined) {
      // `n` is a ceiling (every train task of every seed when there are fewer): say so when it clips, before any work
      const tasks = Registry.make(p.env.name, seeds[0]!).size("train")
      if (g.n > seeds.length * tasks) {
        yield* Effect.logWarning(`${file}: data.generate.n ${g.n}: ${p.env.name} has ${tasks} train tasks a world, so ${seeds.length * tasks} trajectories are generated from ${seeds.length} world${seeds.length === 1 ? "" : "s"}`)
      }
    }
    for (const [i, stage] of p.stages.entries()) {
      if (stage.stage !== "dagger") continue
      // the expert replays the agent's actions on the built-in world and acts from where they led
      if (p.env.url !== undefined) return yield* invalid(file, `stages[${i}]: dagger needs the built-in environment (env.url is set)`)
      if (Registry.make(p.env.name, p.env.seed).expertAfter === undefined) {
        return yield* invalid(file, `stages[${i}]: dagger needs an expert that acts from any state; ${p.env.name}'s acts only from the start (house's and shop's can)`)
      }
    }
    for (const [i, stage] of p.stages.entries()) {
      if (stage.stage !== "evaluate" || stage.validation === undefined) continue
      const at = `stages[${i}].validation.world`
      if (p.env.url !== undefined) return yield* invalid(file, `${at}: a validation world needs the built-in environment (env.url is set)`)
      if (!crossSeedSafe.includes(p.env.name)) {
        return yield* invalid(file, `${at}: ${p.env.name} splits its tasks per world seed, so another world's train tasks could be test tasks of seed ${p.env.seed}; validation worlds are for ${crossSeedSafe.join(", ")}`)
      }
      if (stage.validation.world === p.env.seed || seeds.includes(stage.validation.world)) {
        return yield* invalid(file, `${at}: world ${stage.validation.world} is trained on (env.seed or data.generate.seeds); choose one the data was not generated from`)
      }
    }
    for (const d of [...p.data.train, ...(p.tokenizer.path === undefined ? [] : [p.tokenizer.path]), ...(p.init === undefined ? [] : [p.init.checkpoint])]) {
      if (!(yield* exists(d))) return yield* new PipelineError({ reason: "MissingDataset", message: `${file}: dataset ${d} does not exist` })
    }
  })
