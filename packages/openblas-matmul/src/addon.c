/*
 * cblas_sgemm over memory JavaScript already owns (a wasm heap), without copies.
 *
 *   sgemm(memory, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc[, batch, strideA, strideB, strideC])
 *
 * computes, for i in [0, batch), C_i = alpha * op(A_i) * op(B_i) + beta * C_i, row-major, where X_i starts at
 * byte offset x + i * strideX of `memory` (an ArrayBuffer or any view of one: offsets count from the view's
 * first byte). Every operand is bounds-checked against `memory` before OpenBLAS touches it.
 * Also sumRows (column sums over the same memory), setThreads, getThreads and config.
 */
#define NAPI_VERSION 8
#include <cblas.h>
#include <math.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Throws a JS error and returns NULL from the calling function. */
#define FAIL(env, msg) do { napi_throw_error((env), NULL, (msg)); return NULL; } while (0)
#define CHECK(env, call) do { if ((call) != napi_ok) FAIL((env), "openblas-matmul: N-API call failed"); } while (0)

/* A non-negative whole number below 2^53 from a JS number. */
static int get_index(napi_env env, napi_value v, const char *name, int64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d != floor(d) || d > 9007199254740991.0) {
    char msg[96];
    snprintf(msg, sizeof msg, "openblas-matmul: %s must be a non-negative integer", name);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  *out = (int64_t)d;
  return 1;
}

/* The bytes behind an ArrayBuffer or an ArrayBuffer view. */
static int get_memory(napi_env env, napi_value v, uint8_t **data, size_t *length) {
  bool is;
  void *p = NULL;
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    if (napi_get_arraybuffer_info(env, v, &p, length) != napi_ok) return 0;
  } else if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t count, offset;
    napi_value buffer;
    if (napi_get_typedarray_info(env, v, &type, &count, &p, &buffer, &offset) != napi_ok) return 0;
    size_t width = type == napi_float64_array || type == napi_bigint64_array || type == napi_biguint64_array ? 8
                 : type == napi_float32_array || type == napi_int32_array || type == napi_uint32_array ? 4
                 : type == napi_int16_array || type == napi_uint16_array ? 2 : 1;
    *length = count * width;
  } else if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    napi_value buffer;
    size_t offset;
    if (napi_get_dataview_info(env, v, length, &p, &buffer, &offset) != napi_ok) return 0;
  } else {
    napi_throw_type_error(env, NULL, "openblas-matmul: memory must be an ArrayBuffer or a view of one");
    return 0;
  }
  *data = p;
  return 1;
}

/* Whether `batch` matrices of rows x cols (leading dimension ld) at off + i * stride fit in `length` bytes. */
static int fits(int64_t off, int64_t stride, int64_t batch, int64_t rows, int64_t cols, int64_t ld, size_t length) {
  if (ld < (cols > 1 ? cols : 1) || off % 4 != 0 || stride % 4 != 0) return 0;
  if (rows == 0 || cols == 0 || batch == 0) return off <= (int64_t)length;
  int64_t end = off + (batch - 1) * stride + 4 * ((rows - 1) * ld + cols);
  return end <= (int64_t)length;
}

static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 18;
  napi_value argv[18];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 14 && argc != 18) FAIL(env, "openblas-matmul: sgemm takes 14 arguments, or 18 with a batch");
  uint8_t *mem;
  size_t length;
  if (!get_memory(env, argv[0], &mem, &length)) return NULL;
  bool ta, tb;
  if (napi_get_value_bool(env, argv[1], &ta) != napi_ok || napi_get_value_bool(env, argv[2], &tb) != napi_ok)
    FAIL(env, "openblas-matmul: transA and transB must be booleans");
  int64_t m, n, k, a, lda, b, ldb, c, ldc, batch = 1, sa = 0, sb = 0, sc = 0;
  double alpha, beta;
  if (!get_index(env, argv[3], "m", &m) || !get_index(env, argv[4], "n", &n) || !get_index(env, argv[5], "k", &k)) return NULL;
  if (napi_get_value_double(env, argv[6], &alpha) != napi_ok) FAIL(env, "openblas-matmul: alpha must be a number");
  if (!get_index(env, argv[7], "a", &a) || !get_index(env, argv[8], "lda", &lda)) return NULL;
  if (!get_index(env, argv[9], "b", &b) || !get_index(env, argv[10], "ldb", &ldb)) return NULL;
  if (napi_get_value_double(env, argv[11], &beta) != napi_ok) FAIL(env, "openblas-matmul: beta must be a number");
  if (!get_index(env, argv[12], "c", &c) || !get_index(env, argv[13], "ldc", &ldc)) return NULL;
  if (argc == 18 && (!get_index(env, argv[14], "batch", &batch) || !get_index(env, argv[15], "strideA", &sa) ||
                     !get_index(env, argv[16], "strideB", &sb) || !get_index(env, argv[17], "strideC", &sc))) return NULL;
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX || ldc > INT32_MAX)
    FAIL(env, "openblas-matmul: a dimension exceeds OpenBLAS's 32-bit integers");
  if (!fits(a, sa, batch, ta ? k : m, ta ? m : k, lda, length)) FAIL(env, "openblas-matmul: A lies outside memory or lda is too small");
  if (!fits(b, sb, batch, tb ? n : k, tb ? k : n, ldb, length)) FAIL(env, "openblas-matmul: B lies outside memory or ldb is too small");
  if (!fits(c, sc, batch, m, n, ldc, length)) FAIL(env, "openblas-matmul: C lies outside memory or ldc is too small");
  if (m == 0 || n == 0) return NULL;
  for (int64_t i = 0; i < batch; i++) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
                (float)alpha, (const float *)(mem + a + i * sa), (int)lda, (const float *)(mem + b + i * sb), (int)ldb,
                (float)beta, (float *)(mem + c + i * sc), (int)ldc);
  }
  return NULL;
}

/*
 * sumRows(memory, rows, cols, x, out): out[j] = sum_i X[i][j] for a row-major rows x cols X at byte offset x, into
 * cols floats at byte offset out (a reduction over leading axes: bias and LayerNorm gradients). Sums in double.
 */
static napi_value sum_rows(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 5) FAIL(env, "openblas-matmul: sumRows takes 5 arguments");
  uint8_t *mem;
  size_t length;
  int64_t rows, cols, x, out;
  if (!get_memory(env, argv[0], &mem, &length)) return NULL;
  if (!get_index(env, argv[1], "rows", &rows) || !get_index(env, argv[2], "cols", &cols) ||
      !get_index(env, argv[3], "x", &x) || !get_index(env, argv[4], "out", &out)) return NULL;
  if (!fits(x, 0, 1, rows, cols, cols, length)) FAIL(env, "openblas-matmul: X lies outside memory");
  if (!fits(out, 0, 1, 1, cols, cols, length)) FAIL(env, "openblas-matmul: out lies outside memory");
  if (cols == 0) return NULL;
  double *acc = calloc((size_t)cols, sizeof(double));
  if (acc == NULL) FAIL(env, "openblas-matmul: out of memory");
  const float *src = (const float *)(mem + x);
  for (int64_t i = 0; i < rows; i++, src += cols)
    for (int64_t j = 0; j < cols; j++) acc[j] += src[j];
  float *dst = (float *)(mem + out);
  for (int64_t j = 0; j < cols; j++) dst[j] = (float)acc[j];
  free(acc);
  return NULL;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t n;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || !get_index(env, argv[0], "threads", &n)) return NULL;
  if (n < 1 || n > 1024) FAIL(env, "openblas-matmul: threads must be between 1 and 1024");
  openblas_set_num_threads((int)n);
  return NULL;
}

static napi_value get_threads(napi_env env, napi_callback_info info) {
  napi_value out;
  CHECK(env, napi_create_int32(env, openblas_get_num_threads(), &out));
  return out;
}

/* OpenBLAS's build configuration and the CPU kernel it picked, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... (SkylakeX)". */
static napi_value get_config(napi_env env, napi_callback_info info) {
  char text[512];
  snprintf(text, sizeof text, "%s (%s)", openblas_get_config(), openblas_get_corename());
  napi_value out;
  CHECK(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"sgemm", NULL, sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sumRows", NULL, sum_rows, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
    {"getThreads", NULL, get_threads, NULL, NULL, NULL, napi_enumerable, NULL},
    {"config", NULL, get_config, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
