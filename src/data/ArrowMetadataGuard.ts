import * as flatbuffers from "flatbuffers"

/**
 * Arrow decodes IPC message metadata with flatbuffers' generated readers, which trust every vector
 * length they read: one corrupt length (a flipped byte in a schema message) makes Arrow loop over
 * billions of fields until the process runs out of memory. A vector always lies inside its message,
 * so this adds that bound check (true of every valid flatbuffer, so nothing valid is refused): a
 * corrupt length becomes an error, reported as NotArrow. Installed once, on the `flatbuffers` module
 * Arrow itself imports (the same version is a direct dependency so that both resolve to one module).
 * The readers (ArrowRead.ts, ArrowScan.ts) install it when they load.
 */
export const install = (): void => {
  const proto = flatbuffers.ByteBuffer.prototype as flatbuffers.ByteBuffer & { __stepagentGuard?: true }
  if (proto.__stepagentGuard === true) return
  const vectorLen = proto.__vector_len
  proto.__vector_len = function(this: flatbuffers.ByteBuffer, offset: number): number {
    const len = vectorLen.call(this, offset)
    const start = offset + this.readInt32(offset) + 4
    if (len < 0 || start + len > this.capacity()) {
      throw new RangeError(`corrupt message metadata: a vector of ${len} elements overruns its ${this.capacity()}-byte message`)
    }
    return len
  }
  proto.__stepagentGuard = true
}
