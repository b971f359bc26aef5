/**
 * The tokenizer contract every model-side component uses. The byte-level BPE implementation
 * (src/data/Bpe.ts) provides it; it is saved as JSON and loaded back identically.
 */

/** Special tokens, always ids 0..5 in this order; bytes follow at 6..261, merges after. */
export const specialTokens = ["<|pad|>", "<|bos|>", "<|obs|>", "<|act|>", "<|eoa|>", "<|gap|>"] as const
export type SpecialToken = typeof specialTokens[number]

export const PAD = 0 // padding; never predicted
export const BOS = 1 // start of a trajectory, before the instruction
export const OBS = 2 // an observation (environment/human) turn begins
export const ACT = 3 // an action (agent/gpt) turn begins
export const EOA = 4 // end of action: sampling stops here
export const GAP = 5 // turns were left out here to fit the context (src/model/Context.ts)
export const BYTE_OFFSET = specialTokens.length // id of byte 0

export interface Tokenizer {
  /** Total vocabulary: specials + 256 bytes + merges. */
  readonly vocabSize: number
  /** Text to ids (never produces special ids: special-token text in the input is encoded as bytes). */
  readonly encode: (text: string) => Int32Array
  /** Ids to text; special ids are dropped, invalid UTF-8 becomes U+FFFD. */
  readonly decode: (ids: ArrayLike<number>) => string
  /** The JSON the tokenizer is saved as; `load(toJSON())` gives the same tokenizer. */
  readonly toJSON: () => unknown
  /** A content hash of the tokenizer (merges and specials), recorded in checkpoints to check compatibility. */
  readonly hash: string
}
