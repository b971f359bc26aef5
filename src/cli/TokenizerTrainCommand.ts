import { Console, Effect, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import * as Bpe from "../data/Bpe.ts"
import * as Render from "../data/Render.ts"
import * as TrajectoryArrow from "../data/TrajectoryArrow.ts"
import * as UserError from "./UserError.ts"

/**
 * `stepagent tokenizer train --input <file.arrows>... --vocab N --out <tokenizer.json>`: streams the
 * trajectories of every input, counts the words of their instruction, observations and rendered actions
 * (bounded memory: at most --max-words distinct words are held), learns BPE merges and writes the
 * tokenizer JSON. Prints one JSON line: vocab, merges, trajectories, texts, bytes, words, pruned,
 * seconds, out, hash.
 */
export const command = Command.make("train", {
  input: Flag.String("input").pipe(Flag.atLeast(1), Flag.withDescription("trajectory file (.arrows); repeat for several")),
  vocab: Flag.Int("vocab").pipe(
    Flag.withDescription("vocabulary size, >= 262 (6 specials + 256 bytes + merges)"),
    // Small policies (d_model 256) cannot afford large embeddings; 2k merges cover agent text's frequent words.
    Flag.withDefault(2048)
  ),
  out: Flag.String("out").pipe(Flag.withDescription("tokenizer JSON to write")),
  minFrequency: Flag.Int("min-frequency").pipe(
    Flag.withDescription("stop merging when the best pair is seen fewer times than this"),
    Flag.withDefault(Bpe.DEFAULT_MIN_FREQUENCY) // a pair seen once compresses one word only
  ),
  maxWords: Flag.Int("max-words").pipe(
    Flag.withDescription("distinct words held while counting; the rarest are dropped beyond it"),
    Flag.withDefault(Bpe.DEFAULT_MAX_WORDS) // ~30 MB of counts; agent corpora have far fewer distinct words
  )
}, ({ input, maxWords, minFrequency, out, vocab }) =>
  Effect.gen(function*() {
    yield* Bpe.checkVocabSize(vocab).pipe(Effect.mapError((e) => new Bpe.BpeError({ reason: e.reason, message: `--vocab ${vocab}: ${e.message}` })))
    if (!Number.isInteger(minFrequency) || minFrequency < 1) return yield* UserError.fail(`--min-frequency ${minFrequency}: must be at least 1`)
    if (!Number.isInteger(maxWords) || maxWords < 1000) return yield* UserError.fail(`--max-words ${maxWords}: must be at least 1000`)
    const t0 = performance.now()
    const counts = Bpe.wordCounts({ maxWords })
    let trajectories = 0
    for (const path of input) {
      yield* TrajectoryArrow.read(path).pipe(
        Stream.runForEach((t) =>
          Effect.sync(() => {
            trajectories++
            for (const text of Render.texts(t)) counts.add(text)
          })
        )
      )
    }
    const bpe = yield* Bpe.fromCounts(counts, { vocabSize: vocab, minFrequency })
    yield* Bpe.save(bpe, out)
    const stats = counts.stats()
    const seconds = (performance.now() - t0) / 1000
    yield* Console.log(JSON.stringify({
      vocab: bpe.vocabSize,
      merges: bpe.mergeCount,
      trajectories,
      texts: stats.texts,
      bytes: stats.bytes,
      words: stats.words,
      pruned: stats.pruned,
      seconds: Number(seconds.toFixed(3)),
      out,
      hash: bpe.hash
    }))
  })).pipe(Command.withDescription("Train the byte-level BPE tokenizer on trajectory files"))
