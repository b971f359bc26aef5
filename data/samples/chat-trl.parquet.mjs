// Writes data/samples/chat-trl.parquet with an independent Parquet writer: arrow-rs (Rust), through
// parquet-wasm, which is not a dependency of stepagent. Run it from a scratch directory (a copy of it, so
// that `parquet-wasm` resolves there):
//   mkdir /tmp/pqw && cd /tmp/pqw && npm init -y && npm i parquet-wasm@0.8.0 && cp <repo>/data/samples/chat-trl.parquet.mjs .
//   node chat-trl.parquet.mjs <repo>/node_modules/apache-arrow/Arrow.node.mjs <repo>/data/samples/chat-trl.parquet
// The schema is what TRL / Hugging Face `datasets` write for a conversational dataset: every field
// nullable, `messages: list<struct<content: string, role: string>>` (content first, as `datasets` orders
// the keys it saw), plus a float reward, an int64 task_id and a column stepagent does not read.
import * as NodeFs from "node:fs"
import * as pw from "parquet-wasm"

const [arrowPath, out] = process.argv.slice(2)
const Arrow = await import(arrowPath)
const message = new Arrow.Struct([new Arrow.Field("content", new Arrow.Utf8(), true), new Arrow.Field("role", new Arrow.Utf8(), true)])
const schema = new Arrow.Schema([
  new Arrow.Field("messages", new Arrow.List(new Arrow.Field("item", message, true)), true),
  new Arrow.Field("id", new Arrow.Utf8(), true),
  new Arrow.Field("reward", new Arrow.Float64(), true),
  new Arrow.Field("task_id", new Arrow.Int64(), true),
  new Arrow.Field("source", new Arrow.Utf8(), true)
])
const system = "Interact with a household to solve a task. Each turn, give your thought and your action.\nThought: ...\nAction: ..."
const rows = [
  {
    messages: [
      { content: system, role: "system" },
      { content: "You are in the middle of a room. Your task is to: put a clean mug in the coffee machine.", role: "user" },
      { content: "Thought: A mug is likely on the countertop.\nAction: go to countertop 1", role: "assistant" },
      { content: "On the countertop 1, you see a mug 2 and a knife 1.", role: "user" },
      { content: "Thought: There is the mug.\nAction: take mug 2 from countertop 1", role: "assistant" }
    ],
    id: "alfworld_7", reward: 1, task_id: 7n, source: "expert"
  },
  {
    messages: [
      { content: "You are web shopping. I will give you instructions about what to do.", role: "user" },
      { content: "OK", role: "assistant" },
      { content: "Instruction: [SEP] i need a blue wallet, price lower than 30.00 dollars [SEP] Search", role: "user" },
      { content: "search[blue wallet]", role: "assistant" },
      { content: "[SEP] Back to Search [SEP] B0CX1 [SEP] Blue Leather Wallet [SEP] $19.99", role: "user" }
    ],
    id: "webshop_12", reward: 0.5, task_id: null, source: null
  },
  {
    messages: [
      { content: system, role: "system" },
      { content: "What is the weather in Paris?", role: "user" },
      { content: "{\"temperature\": 18}", role: "tool" }
    ],
    id: null, reward: null, task_id: 3n, source: "tool-use"
  }
]
const struct = Arrow.vectorFromArray(rows, new Arrow.Struct(schema.fields))
const batch = new Arrow.RecordBatch(schema, struct.data[0])
const ipc = Arrow.tableToIPC(new Arrow.Table([batch]), "stream")
const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.ZSTD).build()
NodeFs.writeFileSync(out, pw.writeParquet(pw.Table.fromIPCStream(ipc), props))
console.log(`wrote ${out}`)
