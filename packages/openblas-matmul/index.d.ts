/**
 * C_i = alpha * op(A_i) * op(B_i) + beta * C_i for i in [0, batch), row-major (cblas_sgemm), on float32 matrices
 * that live in `memory`: X_i starts at byte offset `x + i * strideX` (offsets count from the first byte of `memory`,
 * or of the view when a view is passed). op(A) is m x k (A stored k x m when transA), op(B) k x n, C m x n;
 * lda/ldb/ldc are row strides in elements. Throws if an operand would reach outside `memory`. No copies.
 */
export declare function sgemm(
  memory: ArrayBufferLike | ArrayBufferView,
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  beta: number,
  c: number,
  ldc: number,
  batch?: number,
  strideA?: number,
  strideB?: number,
  strideC?: number
): void

/** Sets OpenBLAS's thread count (openblas_set_num_threads); 1 to 1024. */
export declare function setThreads(threads: number): void

/** OpenBLAS's current thread count. */
export declare function getThreads(): number

/** OpenBLAS's build configuration and the CPU core type its kernels were chosen for. */
export declare function config(): string

/**
 * Column sums: out[j] = sum over i of X[i][j], X row-major rows x cols at byte offset `x` of `memory`, the cols
 * results as float32 at byte offset `out` (summed in double). A reduction over leading axes without a transpose.
 */
export declare function sumRows(memory: ArrayBufferLike | ArrayBufferView, rows: number, cols: number, x: number, out: number): void
