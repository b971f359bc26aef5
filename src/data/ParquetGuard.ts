/**
 * Checks that keep hyparquet away from Parquet it does not guard against itself, found by fuzzing
 * (test/data/ParquetImport.test.ts): a footer whose column chunks do not match its schema (hyparquet then
 * leaves a failed read unobserved: an unhandled rejection, which ends the process), and a page header
 * whose value count is corrupt (hyparquet then fills an array of billions of values: the import hangs).
 *
 * - `footerProblem`: every row group has one column chunk per leaf of the schema, in schema order, whose
 *   bytes lie inside the file; the row counts add up.
 * - `chunkProblem`: walking a column chunk's pages, every header parses, every page lies inside the chunk,
 *   the data pages' value counts add up to the chunk's, and a dictionary holds no more values than bytes.
 *
 * A file that passes may still fail to decode; it then fails as a rejected promise, handled.
 */
import type { ColumnMetaData, FileMetaData, SchemaTree } from "hyparquet"
import { parquetSchema } from "hyparquet"
import { parquetHeader } from "hyparquet/src/column.js"

const leafPaths = (node: SchemaTree): Array<string> =>
  node.children.length === 0 ? [node.path.join(".")] : node.children.flatMap(leafPaths)

/** Why the footer cannot be read safely (without the file name), or undefined. */
export const footerProblem = (metadata: FileMetaData, size: number): string | undefined => {
  const leaves = leafPaths(parquetSchema(metadata))
  let rows = 0n
  for (let g = 0; g < metadata.row_groups.length; g++) {
    const group = metadata.row_groups[g]!
    if (group.num_rows < 0n) return `row group ${g} has ${group.num_rows} rows`
    rows += group.num_rows
    if (group.columns.length !== leaves.length) return `row group ${g} has ${group.columns.length} column chunks for ${leaves.length} columns`
    for (let c = 0; c < group.columns.length; c++) {
      const meta = group.columns[c]!.meta_data
      if (meta === undefined) return `row group ${g}: column chunk ${c} has no metadata`
      if (meta.path_in_schema.join(".") !== leaves[c]) return `row group ${g}: column chunk ${c} is ${meta.path_in_schema.join(".")}, where the schema has ${leaves[c]}`
      const start = Number(meta.dictionary_page_offset || meta.data_page_offset)
      const end = start + Number(meta.total_compressed_size)
      if (!(start >= 4 && end <= size && end >= start)) return `row group ${g}: column ${leaves[c]} lies at bytes ${start}-${end}, outside the file`
      if (meta.num_values < 0n) return `row group ${g}: column ${leaves[c]} has ${meta.num_values} values`
    }
  }
  if (rows !== metadata.num_rows) return `its row groups hold ${rows} rows, where it says ${metadata.num_rows}`
  return undefined
}

/** The byte range of a column chunk in the file. */
export const chunkRange = (meta: ColumnMetaData): { readonly start: number; readonly end: number } => {
  const start = Number(meta.dictionary_page_offset || meta.data_page_offset)
  return { start, end: start + Number(meta.total_compressed_size) }
}

/** Why the pages of a column chunk (`bytes`, the chunk alone) cannot be decoded safely, or undefined. */
export const chunkProblem = (bytes: ArrayBuffer, meta: ColumnMetaData): string | undefined => {
  const column = meta.path_in_schema.join(".")
  const reader = { view: new DataView(bytes), offset: 0 }
  let values = 0
  const want = Number(meta.num_values)
  while (reader.offset < bytes.byteLength) {
    const at = reader.offset
    let header: ReturnType<typeof parquetHeader>
    try {
      header = parquetHeader(reader)
    } catch (e) {
      return `column ${column}: the page header at byte ${at} of its chunk is broken (${e instanceof Error ? e.message : String(e)})`
    }
    const size = header.compressed_page_size
    if (!(Number.isSafeInteger(size) && size >= 0 && reader.offset + size <= bytes.byteLength)) {
      return `column ${column}: the page at byte ${at} of its chunk runs past the chunk`
    }
    if (!(Number.isSafeInteger(header.uncompressed_page_size) && header.uncompressed_page_size >= 0)) {
      return `column ${column}: the page at byte ${at} of its chunk has a broken size`
    }
    // A dictionary value takes at least a byte, so a dictionary cannot hold more values than its bytes.
    const dictionary = header.dictionary_page_header?.num_values
    if (dictionary !== undefined && !(Number.isSafeInteger(dictionary) && dictionary >= 0 && dictionary <= header.uncompressed_page_size)) {
      return `column ${column}: the dictionary page at byte ${at} of its chunk has a broken value count`
    }
    const count = header.data_page_header?.num_values ?? header.data_page_header_v2?.num_values
    if (count !== undefined) {
      if (!(Number.isSafeInteger(count) && count >= 0)) return `column ${column}: the page at byte ${at} of its chunk has a broken value count`
      values += count
      if (values > want) return `column ${column}: its pages hold more values than the ${want} its chunk says`
    }
    reader.offset += size
  }
  if (values !== want) return `column ${column}: its pages hold ${values} values, where its chunk says ${want}`
  return undefined
}
