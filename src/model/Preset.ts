import * as Transformer from "./Transformer.ts"

/**
 * Named model sizes. The vocabulary here is a default only: a pipeline sets `vocabSize` from its tokenizer.
 * Every field can be overridden (`config(name, overrides)`).
 */
export const names = ["tiny", "small", "base"] as const
export type Name = typeof names[number]

const presets: Record<Name, Transformer.Config> = {
  // ~0.1M parameters: unit tests and smoke runs on the cpu backend in milliseconds
  tiny: {
    vocabSize: 512, // byte-level specials + bytes + a few merges
    contextLength: 128, // short test trajectories
    dModel: 48,
    layers: 2,
    heads: 4,
    ...Transformer.defaults
  },
  // ~1M parameters: the quickstart; trains in minutes on 2 cpu cores with wasm
  small: {
    vocabSize: 2048, // a small BPE: agent texts are repetitive
    contextLength: 512, // instruction plus several observation/action turns of the built-in environments
    dModel: 128,
    layers: 4,
    heads: 4,
    ...Transformer.defaults,
    copyHead: true, // names and ids the agent must copy from observations are unseen at test time (src/model/Copy.ts)
    copyMatch: true // measured on qa: without it a third of copied names stutter, stop early or start a token early (docs/model.md)
  },
  // ~10M parameters: for a GPU backend (tfjs-node-gpu)
  base: {
    vocabSize: 8192, // a larger BPE for richer text
    contextLength: 1024, // longer trajectories (AgentGym-style observations)
    dModel: 256,
    layers: 10,
    heads: 8,
    ...Transformer.defaults,
    copyHead: true, // as small
    copyMatch: true // as small
  }
}

export const isName = (s: string): s is Name => (names as ReadonlyArray<string>).includes(s)

export type Overrides = { readonly [K in keyof Transformer.Config]?: Transformer.Config[K] }

/** The preset's config with overrides applied (undefined fields keep the preset's value). */
export const config = (name: Name, overrides: Overrides = {}): Transformer.Config => {
  const out: Record<string, unknown> = { ...presets[name] }
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) out[k] = v
  return out as unknown as Transformer.Config
}
