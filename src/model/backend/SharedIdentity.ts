import * as tf from "@tensorflow/tfjs"
import * as Wasm from "./WasmInternals.ts"

/**
 * `Identity`, and `Cast` to the dtype a tensor already has, on the wasm backend without copying: the output shares
 * the input's bytes and takes a reference (tensors are immutable; the cpu backend's Identity and the wasm
 * Reshape do the same). tfjs's gradients call them on every activation (the gradient of `mul` casts its other
 * operand to float32, `add` passes `dy` through an identity): ~80 copies of up to 8 MB in a GPT training step.
 * Casts that change the dtype, and string tensors, go to the stock kernels.
 */

let stock: { readonly identity: tf.KernelConfig; readonly cast: tf.KernelConfig } | undefined

const shared = (backendArg: unknown, x: tf.TensorInfo): tf.TensorInfo => {
  const backend = Wasm.of(backendArg)
  backend.incRef(x.dataId)
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
}

const stockOrThrow = () => {
  if (stock === undefined) throw new Error("wasm Identity/Cast: the stock kernels are not saved")
  return stock
}

const identity: tf.KernelFunc = (params) => {
  const { x } = params.inputs as { x: tf.TensorInfo }
  return x.dtype === "string" ? stockOrThrow().identity.kernelFunc(params) : shared(params.backend, x)
}

const cast: tf.KernelFunc = (params) => {
  const { x } = params.inputs as { x: tf.TensorInfo }
  const { dtype } = params.attrs as { dtype: tf.DataType }
  return x.dtype === dtype && dtype !== "string" ? shared(params.backend, x) : stockOrThrow().cast.kernelFunc(params)
}

/** Replaces the wasm `Identity` and `Cast` kernels (idempotent). */
export const install = (): void => {
  if (stock !== undefined) return
  const identityConfig = tf.getKernel(tf.Identity, "wasm")
  const castConfig = tf.getKernel(tf.Cast, "wasm")
  if (identityConfig === undefined || castConfig === undefined) throw new Error("the wasm backend's Identity/Cast kernels are not registered")
  stock = { identity: identityConfig, cast: castConfig }
  tf.unregisterKernel(tf.Identity, "wasm")
  tf.unregisterKernel(tf.Cast, "wasm")
  tf.registerKernel({ ...identityConfig, kernelFunc: identity })
  tf.registerKernel({ ...castConfig, kernelFunc: cast })
}

/** Puts the stock kernels back (idempotent). */
export const uninstall = (): void => {
  if (stock === undefined) return
  tf.unregisterKernel(tf.Identity, "wasm")
  tf.unregisterKernel(tf.Cast, "wasm")
  tf.registerKernel(stock.identity)
  tf.registerKernel(stock.cast)
  stock = undefined
}
