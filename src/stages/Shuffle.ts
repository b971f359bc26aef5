import { Stream } from "effect"
import * as Rng from "../model/Rng.ts"

/**
 * A seeded shuffle in bounded memory (the shuffle buffer of streaming datasets, as Hugging Face's
 * `IterableDataset.shuffle(buffer_size)` and tf.data): elements enter a buffer of `size`; once it is full,
 * each new element pushes out one drawn uniformly from the buffer; at the end the rest leave in a random
 * order. With `size` at least the stream's length it is a uniform permutation. The order is a function of
 * the stream and the generator's seed only.
 */
export const buffer = (size: number, rng: Rng.Rng) =>
<A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.suspend(() => {
    const held: Array<A> = []
    const draw = (): A => {
      const j = Math.floor(Rng.uniform(rng) * held.length)
      const out = held[j]!
      held[j] = held[held.length - 1]!
      held.pop()
      return out
    }
    const rest = Stream.suspend(() => Stream.fromIterable(Array.from({ length: held.length }, draw)))
    return self.pipe(
      Stream.flatMap((a) => {
        held.push(a)
        return held.length > size ? Stream.succeed(draw()) : Stream.empty
      }),
      Stream.concat(rest)
    )
  })
