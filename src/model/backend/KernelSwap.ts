import * as tf from "@tensorflow/tfjs"

/**
 * One wasm kernel replaced by stepagent's: the stock config is kept, both for the replacement's fallback (what it
 * does not handle goes to the stock kernelFunc) and to put it back. The stock kernel's setup (its cwrap) still
 * runs when a wasm backend starts, since the replacement keeps the config's setupFunc: the fallback needs it.
 */
export interface KernelSwap {
  /** Registers `kernelFunc` under the kernel's name on wasm (idempotent: a second install keeps the first). */
  readonly install: (kernelFunc: tf.KernelFunc) => void
  /** Puts the stock kernel back (idempotent). */
  readonly uninstall: () => void
  /** Whether the replacement is registered now. */
  readonly installed: () => boolean
  /** The stock kernel's function (for the fallback); fails when the replacement is not installed. */
  readonly stock: tf.KernelFunc
}

export const make = (kernelName: string): KernelSwap => {
  let saved: tf.KernelConfig | undefined
  return {
    install: (kernelFunc) => {
      if (saved !== undefined) return
      const config = tf.getKernel(kernelName, "wasm")
      if (config === undefined) throw new Error(`the wasm backend's ${kernelName} kernel is not registered`)
      saved = config
      tf.unregisterKernel(kernelName, "wasm")
      tf.registerKernel({ ...config, kernelFunc })
    },
    uninstall: () => {
      if (saved === undefined) return
      tf.unregisterKernel(kernelName, "wasm")
      tf.registerKernel(saved)
      saved = undefined
    },
    installed: () => saved !== undefined,
    stock: (params) => {
      if (saved === undefined) throw new Error(`wasm ${kernelName}: the stock kernel is not saved`)
      return saved.kernelFunc(params)
    }
  }
}
