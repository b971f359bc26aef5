"use strict"
// Loads the compiled addon. It is built at install time by node-gyp against OpenBLAS's headers; where they are
// missing the build fails, npm drops this optional package, and stepagent multiplies with XNNPACK instead.
let addon
try {
  addon = require("./build/Release/openblas_matmul.node")
} catch (e) {
  const reason = String((e && e.message) || e).split("\n")[0]
  throw new Error(`@stepagent/openblas-matmul is not built (${reason}); install libopenblas-dev, then run npm ci`)
}
module.exports = addon
