/**
 * 32-bit string hashes that derive seeds from names, so that every random stream of a world or a run is
 * fixed by a seed and a label, and adding draws to one stream never shifts another. All are FNV-1a over
 * UTF-16 code units, with or without murmur3's finaliser; each variant is the one its callers' shipped
 * data was generated with (data/generate.sh regenerates it byte for byte), so none may change.
 */

const offsetBasis = 0x811c9dc5
const prime = 0x01000193

/** FNV-1a of `text`, from `basis` (the standard offset basis by default): unsigned 32 bits. */
export const fnv1a = (text: string, basis: number = offsetBasis): number => {
  let h = basis
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, prime)
  }
  return h >>> 0
}

/** murmur3's finaliser: spreads every input bit over the output (unsigned 32 bits). */
export const fmix32 = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * FNV-1a over the parts, each followed by a separator byte (so that ("ab", "c") and ("a", "bc") differ),
 * then murmur3's finaliser: the house's seeds (`parts(seed, "task", split, index)`).
 */
export const parts = (...xs: ReadonlyArray<string | number>): number => {
  let h = offsetBasis
  for (const x of xs) {
    h = fnv1a(String(x), h)
    h ^= 0x1f
    h = Math.imul(h, prime)
  }
  return fmix32(h)
}

/** FNV-1a over the parts joined by "/": the qa world's sub-seeds and buckets. */
export const joined = (...xs: ReadonlyArray<string | number>): number => fnv1a(xs.join("/"))

/** FNV-1a of `label` from the offset basis mixed with `seed`: the shop generators' streams. */
export const labelled = (seed: number, label: string): number => fnv1a(label, (offsetBasis ^ (seed >>> 0)) >>> 0)
