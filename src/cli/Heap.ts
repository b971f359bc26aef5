import * as NodeV8 from "node:v8"

/**
 * Streaming a file of any size makes far more short-lived garbage than it keeps. V8's default heap
 * growth lets old-space garbage reach about 4x the live heap before collecting (peak RSS ~470 MB on a
 * 260 MB file, growing with the file); favouring size keeps the peak flat (~240 MB) for a modest cost
 * in speed (test/bench/DataImport.bench.ts). Called by the streaming data commands, once they run.
 */
export const favourMemory = (): void => NodeV8.setFlagsFromString("--optimize-for-size")
