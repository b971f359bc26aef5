import * as JsKernel from "./JsKernel.ts"

/**
 * Two elementwise kernels of tanh-GELU (src/model/Gelu.ts), one pass each in JS over the tensors' own arrays, for the
 * wasm and cpu backends (JsKernel.ts):
 *   `StepagentGeluArgument`: x -> 2u = 2 sqrt(2/π) (x + 0.044715 x³)                        (then tfjs's Sigmoid)
 *   `StepagentGeluGrad`:     (dy, x, s) -> dy (s + x s (1 - s) · 2 sqrt(2/π) (1 + 3 · 0.044715 x²)),  s = σ(2u)
 * Composed from tfjs ops they are 5 and 10 kernels, each a pass over the MLP's widest tensor (N, 4C): measured on
 * `small` (wasm, one thread, a quickstart pass of 1,292 x 512) ~0.6 ms a pass, ~9 ms for both, where these take 0.9 ms
 * (2u) and 2.5 ms (the gradient, three inputs). σ stays tfjs's Sigmoid: a JS pass with Math.exp is slower than wasm's.
 * Other backends (TensorFlow) have no such kernels and Gelu.ts composes the formula from tfjs ops there.
 */

export const names = { argument: "StepagentGeluArgument", grad: "StepagentGeluGrad" } as const

const c2 = 2 * Math.sqrt(2 / Math.PI)
const a = 0.044715

/** out = 2u of x, elementwise. */
export const argument = (x: Float32Array, out: Float32Array): void => {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!
    out[i] = c2 * (v + a * v * v * v)
  }
}

/** out = dy · dGELU/dx at x, given s = σ(2u), elementwise. */
export const grad = (dy: Float32Array, x: Float32Array, s: Float32Array, out: Float32Array): void => {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!
    const g = s[i]!
    out[i] = dy[i]! * (g + v * g * (1 - g) * c2 * (1 + 3 * a * v * v))
  }
}

const sameShapes = (shapes: ReadonlyArray<ReadonlyArray<number>>): string | undefined => {
  const other = shapes.find((sh) => sh.join() !== shapes[0]!.join())
  return other === undefined ? undefined : `inputs of shapes [${shapes[0]}] and [${other}] (one shape only)`
}

const specs: ReadonlyArray<JsKernel.Spec> = [
  { name: names.argument, inputs: ["x"], outputs: (sh) => [sh[0]!], check: sameShapes, run: (i, o) => argument(i[0]!, o[0]!) },
  { name: names.grad, inputs: ["dy", "x", "s"], outputs: (sh) => [sh[0]!], check: sameShapes, run: (i, o) => grad(i[0]!, i[1]!, i[2]!, o[0]!) }
]

/** Registers both kernels on the wasm and cpu backends (idempotent). */
export const install = (): void => specs.forEach(JsKernel.install)

/** Whether the current backend has the kernels. */
export const available = (): boolean => JsKernel.available(names.grad)
