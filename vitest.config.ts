import { defineConfig } from "vitest/config"

// Tests run on 2 cores: two forks keep both busy without oversubscribing the tensor kernels.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/bench/**", "node_modules/**"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The JSON report lets .ci/run print "N passed, N failed" (a run with no test is visible).
    reporters: ["default", "json"],
    outputFile: { json: ".vitest-results.json" }
  }
})
