/**
 * Checks of an Arrow file against the layout a reader expects: its schema (columns by name and type,
 * the layout named in the metadata), nulls where the layout requires values, and each batch's buffers
 * against its lengths and offsets, so that a corrupt file is an error, never an out-of-bounds read.
 */
import * as Arrow from "apache-arrow"
import * as ArrowColumns from "./ArrowColumns.ts"

/** Schema metadata key naming the layout and its version (`trajectory-text/1`). */
export const layoutKey = "stepagent.schema"

const typeMatches = (expected: Arrow.DataType, actual: Arrow.DataType): boolean => {
  if (expected.typeId !== actual.typeId) return false
  if (Arrow.DataType.isInt(expected) && Arrow.DataType.isInt(actual)) {
    return expected.bitWidth === actual.bitWidth && expected.isSigned === actual.isSigned
  }
  if (Arrow.DataType.isFloat(expected) && Arrow.DataType.isFloat(actual)) return expected.precision === actual.precision
  if (Arrow.DataType.isList(expected) && Arrow.DataType.isList(actual)) {
    const child = actual.children[0]
    return child !== undefined && typeMatches(expected.children[0]!.type, child.type)
  }
  if (Arrow.DataType.isStruct(expected) && Arrow.DataType.isStruct(actual)) {
    return expected.children.every((f) => {
      const g = actual.children.find((c) => c.name === f.name)
      return g !== undefined && typeMatches(f.type, g.type)
    })
  }
  return true
}

/**
 * What is wrong with `actual` as a file of the layout `expected` (undefined when it fits): missing and
 * mistyped columns by name, or another layout named in the metadata. Extra columns are allowed;
 * nullability is checked on the data (see `nullProblem`), since many writers mark every field nullable.
 */
export const schemaProblem = (expected: Arrow.Schema, actual: Arrow.Schema): string | undefined => {
  const want = expected.metadata.get(layoutKey)
  const got = actual.metadata.get(layoutKey)
  if (want !== undefined && got !== undefined && got !== want) return `the file holds the layout ${got}, expected ${want}`
  const missing: Array<string> = []
  const mistyped: Array<string> = []
  for (const f of expected.fields) {
    const g = actual.fields.find((c) => c.name === f.name)
    if (g === undefined) missing.push(f.name)
    else if (!typeMatches(f.type, g.type)) mistyped.push(`${f.name} is ${String(g.type)}, expected ${String(f.type)}`)
  }
  const parts = [
    ...(missing.length > 0 ? [`missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`] : []),
    ...mistyped.map((m) => `column ${m}`)
  ]
  return parts.length > 0 ? parts.join("; ") : undefined
}

const nullsIn = (data: Arrow.Data, field: Arrow.Field, name: string): string | undefined => {
  if (!field.nullable && data.nullCount > 0) return `${name} has ${data.nullCount} null value${data.nullCount > 1 ? "s" : ""} but is required`
  const type = field.type
  if (Arrow.DataType.isList(type)) {
    return data.children[0] === undefined ? undefined : nullsIn(data.children[0], type.children[0]!, `${name}[]`)
  }
  if (Arrow.DataType.isStruct(type)) {
    const actual = data.type as Arrow.Struct
    for (const f of type.children) {
      const i = actual.children.findIndex((c) => c.name === f.name)
      const child = data.children[i]
      const problem = child === undefined ? undefined : nullsIn(child, f, `${name}.${f.name}`)
      if (problem !== undefined) return problem
    }
  }
  return undefined
}

/** A null where the layout requires a value, in a batch that passed `schemaProblem` (undefined when none). */
export const nullProblem = (expected: Arrow.Schema, batch: Arrow.RecordBatch): string | undefined => {
  for (const f of expected.fields) {
    const i = batch.schema.fields.findIndex((c) => c.name === f.name)
    const data = batch.data.children[i]
    const problem = data === undefined ? undefined : nullsIn(data, f, f.name)
    if (problem !== undefined) return problem
  }
  return undefined
}

/**
 * What makes `data` unsafe to index (undefined when sound): buffers shorter than its length says,
 * value offsets that decrease or point past their values. Checked on every batch read, so that a
 * corrupt file is an error, never an out-of-bounds read or a loop over a corrupt length.
 */
export const structureProblem = (data: Arrow.Data, name: string): string | undefined => {
  const n = data.length
  if (!Number.isSafeInteger(n) || n < 0) return `${name}: bad length ${n}`
  if (data.nullCount > 0 && data.nullBitmap.length * 8 < data.offset + n) return `${name}: validity bitmap too short`
  const type = data.type
  if (Arrow.DataType.isUtf8(type) || Arrow.DataType.isList(type)) {
    const o = data.valueOffsets as Int32Array
    if (o.length < n + 1) return `${name}: ${o.length} offsets for ${n} values`
    for (let i = 0; i < n; i++) if (o[i + 1]! < o[i]!) return `${name}: offsets decrease at ${i}`
    if (n > 0 && o[0]! < 0) return `${name}: negative offset`
    const end = n === 0 ? 0 : o[n]!
    if (Arrow.DataType.isUtf8(type)) return end > data.values.length ? `${name}: offsets point past the ${data.values.length} bytes of text` : undefined
    const child = data.children[0]
    if (child === undefined) return n === 0 ? undefined : `${name}: list without values`
    if (end > child.length) return `${name}: offsets point past the ${child.length} list values`
    return structureProblem(child, `${name}[]`)
  }
  if (Arrow.DataType.isStruct(type)) {
    for (let i = 0; i < type.children.length; i++) {
      const child = data.children[i]
      if (child === undefined || child.length < n) return `${name}.${type.children[i]!.name}: shorter than its struct`
      const problem = structureProblem(child, `${name}.${type.children[i]!.name}`)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  if (Arrow.DataType.isBool(type)) return data.values.length * 8 < data.offset + n ? `${name}: ${data.values.length} bytes for ${n} booleans` : undefined
  if (Arrow.DataType.isInt(type) || Arrow.DataType.isFloat(type)) return data.values.length < n ? `${name}: ${data.values.length} values for ${n} rows` : undefined
  return undefined
}

/** What is wrong with a batch of a file that passed `schemaProblem`: corrupt buffers, or nulls where values are required. */
export const batchProblem = (expected: Arrow.Schema, batch: Arrow.RecordBatch): { readonly corrupt: boolean; readonly text: string } | undefined => {
  for (const f of expected.fields) {
    const data: Arrow.Data | undefined = ArrowColumns.column(batch, f.name)
    const broken = data === undefined || data.length !== batch.numRows
      ? `column ${f.name} has ${data?.length} rows, the batch ${batch.numRows}`
      : structureProblem(data, f.name)
    if (broken !== undefined) return { corrupt: true, text: broken }
  }
  const nulls = nullProblem(expected, batch)
  return nulls === undefined ? undefined : { corrupt: false, text: nulls }
}
