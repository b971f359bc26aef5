import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import * as AgentGymServer from "../../src/env/AgentGymServer.ts"
import * as Registry from "../../src/env/Registry.ts"

/**
 * AgentGym's own Python clients replayed with plain fetch against the real server: each profile sends exactly the
 * requests its client sends and reads exactly the keys it reads, transcribed from
 * github.com/WooooDyy/AgentGym agentenv/agentenv/envs/<file> (commit 3ef9235d, 2026-05-30), and the loop is
 * AgentGym's BaseTask._generate_experience_one (agentenv/agentenv/controller/task.py): reset(idx), state =
 * observe(), then step until done. Any non-200 fails, as each client's `assert res.status_code == 200` would.
 */
type Json = unknown
type Obj = Record<string, Json>

const call = async (method: "GET" | "POST", url: string, body?: Obj): Promise<Json> => {
  const r = await fetch(url, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
  })
  const text = await r.text()
  if (r.status !== 200) throw new Error(`${method} ${url} ${JSON.stringify(body)}: HTTP ${r.status} ${text}`)
  return JSON.parse(text) as Json
}
const obj = (j: Json): Obj => {
  if (typeof j !== "object" || j === null || Array.isArray(j)) throw new Error(`expected a JSON object, got ${JSON.stringify(j)}`)
  return j as Obj
}
const str = (j: Json): string => {
  if (typeof j !== "string") throw new Error(`expected a string, got ${JSON.stringify(j)}`)
  return j
}
const num = (j: Json): number => {
  if (typeof j !== "number") throw new Error(`expected a number, got ${JSON.stringify(j)}`)
  return j
}
const bool = (j: Json): boolean => {
  if (typeof j !== "boolean") throw new Error(`expected a boolean, got ${JSON.stringify(j)}`)
  return j
}
const list = (j: Json): Array<string> => {
  if (!Array.isArray(j) || !j.every((x) => typeof x === "string")) throw new Error(`expected a list of strings, got ${JSON.stringify(j)}`)
  return j as Array<string>
}

interface StepOutput {
  readonly state: string
  readonly reward: number
  readonly done: boolean
}

/** One AgentGym client: its constructor (POST /create), reset(idx), observe() and step(action). */
interface Client {
  readonly reset: (idx: number) => Promise<void>
  readonly observe: () => Promise<string>
  readonly step: (action: string) => Promise<StepOutput>
  readonly close: () => Promise<void>
}

interface Profile {
  readonly client: string
  readonly file: string
  readonly env: Registry.Name
  readonly createReply: AgentGymServer.CreateReply
  readonly open: (base: string) => Promise<Client>
}

/** `_post` / `_get` of the clients keyed by `env_idx` (WebShop, SQLGym, SearchQA, WebArena, the tool environments). */
const envIdxTransport = (base: string, envId: number) => ({
  post: (path: string, data: Obj) => call("POST", `${base}/${path}`, { ...data, env_idx: envId }),
  get: (path: string) => call("GET", `${base}/${path}?env_idx=${envId}`)
})
/** `_post` / `_get` of the clients keyed by `id` (ALFWorld, BabyAI, SciWorld, TextCraft, LMRL-Gym Maze). */
const idTransport = (base: string, envId: number) => ({
  post: (path: string, data: Obj) => call("POST", `${base}/${path}`, { ...data, id: envId }),
  get: (path: string) => call("GET", `${base}/${path}?id=${envId}`)
})

/** The tool environments and SearchQA share one client shape: create {"id": 0} -> int, reset {"id": idx}. */
const toolClient = (client: string, file: string, env: Registry.Name): Profile => ({
  client,
  file,
  env,
  createReply: "integer",
  open: async (base) => {
    const envId = num(await call("POST", `${base}/create`, { id: 0 }))
    const t = envIdxTransport(base, envId)
    return {
      reset: async (idx) => {
        await t.post("reset", { id: idx })
      },
      observe: async () => str(await t.get("observation")),
      step: async (action) => {
        const r = obj(await t.post("step", { action }))
        return { state: str(r.observation), reward: num(r.reward), done: bool(r.done) }
      },
      close: async () => {
        await t.post("close", {})
      }
    }
  }
})

const profiles: ReadonlyArray<Profile> = [
  {
    client: "WebShop",
    file: "webshop.py",
    env: "shop",
    createReply: "integer",
    open: async (base) => {
      const envId = num(await call("POST", `${base}/create`)) // self.env_id = ok.json()
      const t = envIdxTransport(base, envId)
      return {
        reset: async (idx) => {
          const response = await t.post("reset", { session_id: idx })
          // response[0] = self.observe(): item assignment works on a JSON object or array, not on a scalar
          assert.isTrue(typeof response === "object" && response !== null)
        },
        observe: async () => str(await t.get("observation")), // "Invalid Action.\n\n" + self.observe() needs a str
        step: async (action) => {
          const r = obj(await t.post("step", { action }))
          return { state: str(r.state), reward: num(r.reward), done: bool(r.done) }
        },
        close: async () => {
          await t.post("close", {})
        }
      }
    }
  },
  {
    client: "ALFWorld",
    file: "alfworld.py",
    env: "house",
    createReply: "object",
    open: async (base) => {
      const envId = num(obj(await call("POST", `${base}/create`)).id)
      const t = idTransport(base, envId)
      let info = { observation: "", available_actions: [] as Array<string> }
      return {
        reset: async (idx) => {
          const r = obj(await t.post("reset", { game: idx, world_type: "Text" }))
          info = { observation: str(r.observation), available_actions: list(r.available_actions) }
        },
        observe: async () => `${info.observation}\nAVAILABLE ACTIONS: ${info.available_actions.join(",")}`,
        step: async (action) => {
          const r = obj(await t.post("step", { action }))
          info = { observation: str(r.observation), available_actions: list(r.available_actions) }
          return { state: str(r.observation), reward: num(r.reward), done: bool(r.done) }
        },
        close: async () => {
          await t.post("close", {})
        }
      }
    }
  },
  ...(["BabyAI:babyai.py", "SciWorld:sciworld.py"].map((s): Profile => {
    const [client, file] = s.split(":") as [string, string]
    return {
      client,
      file,
      env: "house",
      createReply: "object",
      open: async (base) => {
        const envId = num(obj(await call("POST", `${base}/create`)).id)
        const t = idTransport(base, envId)
        let observation = ""
        return {
          reset: async (idx) => {
            const r = obj(await t.post("reset", { data_idx: idx }))
            if (client === "SciWorld") {
              observation = `${str(r.task_description)}\n${str(r.observation)}`
            } else {
              // self.info = {observation, reward, score, done}: all four must be there
              observation = str(r.observation)
              num(r.reward)
              num(r.score)
              bool(r.done)
            }
          },
          observe: async () => observation,
          step: async (action) => {
            const r = obj(await t.post("step", { action }))
            observation = str(r.observation)
            num(r.reward) // kept in self.info
            return { state: str(r.observation), reward: num(r.score), done: bool(r.done) } // StepOutput(reward=response["score"])
          },
          close: async () => {
            await t.post("close", {})
          }
        }
      }
    }
  })),
  {
    client: "TextCraft",
    file: "textcraft.py",
    env: "house",
    createReply: "object",
    open: async (base) => {
      const ok = obj(await call("POST", `${base}/create`, { minecraft_dir: "agentenv_textcraft/", commands: null, goal: null }))
      const envId = num(ok.id)
      let observation = str(ok.observation)
      const t = idTransport(base, envId)
      return {
        reset: async (idx) => {
          observation = str(obj(await t.post("reset", { data_idx: idx })).observation)
        },
        observe: async () => observation,
        step: async (action) => {
          const r = obj(await t.post("step", { action }))
          observation = str(r.observation)
          return { state: observation, reward: num(r.reward), done: bool(r.done) }
        },
        close: async () => {
          await t.post("close", {})
        }
      }
    }
  },
  {
    client: "LMRL-Gym Maze",
    file: "lmrlgym.py",
    env: "qa",
    createReply: "object",
    open: async (base) => {
      const envId = num(obj(await call("POST", `${base}/create`)).id)
      const t = idTransport(base, envId)
      let observation = ""
      return {
        reset: async (idx) => {
          observation = str(obj(await t.post("reset", { game: idx })).observation)
        },
        observe: async () => observation,
        step: async (action) => {
          const r = obj(await t.post("step", { action }))
          observation = str(r.observation)
          return { state: observation, reward: num(r.reward), done: bool(r.done) }
        },
        close: async () => {}
      }
    }
  },
  {
    client: "SQLGym",
    file: "sqlgym.py",
    env: "qa",
    createReply: "integer",
    open: async (base) => {
      const envId = num(await call("POST", `${base}/create`))
      const t = envIdxTransport(base, envId)
      return {
        reset: async (idx) => {
          await t.post("reset", { item_id: idx })
        },
        observe: async () => str(await t.get("observation")),
        step: async (action) => {
          const r = obj(await t.post("step", { action }))
          return { state: str(r.state), reward: num(r.reward), done: bool(r.done) }
        },
        close: async () => {}
      }
    }
  },
  toolClient("SearchQA", "searchqa.py", "qa"),
  toolClient("Academia", "academia.py", "qa"),
  toolClient("Weather", "weather.py", "shop"),
  {
    client: "WebArena",
    file: "webarena.py",
    env: "shop",
    createReply: "object",
    open: async (base) => {
      const envId = num(obj(await call("POST", `${base}/create`)).env_idx)
      const t = envIdxTransport(base, envId)
      return {
        reset: async (idx) => {
          const r = obj(await t.post("reset", { seed: 0, idx }))
          assert.notStrictEqual(str(r.observation), "TimeoutError")
        },
        observe: async () => str(await t.get("observation")),
        step: async (action) => {
          const r = obj(await t.post("step", { action }))
          const terminated = bool(r.terminated)
          return { state: str(r.observation), reward: terminated ? num(r.reward) : 0, done: terminated }
        },
        close: async () => {
          await t.post("close", {})
        }
      }
    }
  }
]

const serve = (name: Registry.Name, createReply: AgentGymServer.CreateReply) =>
  Effect.gen(function*() {
    const sim = Registry.make(name, 0)
    const ctx = yield* Layer.build(AgentGymServer.layer(sim, { split: "test", worldSeed: 0, port: 0, host: "127.0.0.1", createReply }))
    const server = Context.get(ctx, HttpServer.HttpServer)
    const port = "port" in server.address ? server.address.port : 0
    return { url: `http://127.0.0.1:${port}`, sim }
  })

describe("AgentGym's own clients, replayed", () => {
  for (const profile of profiles) {
    it.live(`${profile.client} (${profile.file}): the chosen task is run, the expert's reward counted once`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { sim, url } = yield* serve(profile.env, profile.createReply)
        for (const idx of [7, 0, 123]) {
          const taskId = `test:${idx}`
          const result = yield* Effect.promise(async () => {
            const client = await profile.open(url)
            await client.reset(idx)
            const state = await client.observe()
            let total = 0
            let last: StepOutput = { state, reward: 0, done: false }
            for (const action of sim.expert(taskId)) {
              last = await client.step(action)
              total += last.reward
              if (last.done) break
            }
            // One step too many, as a client that ignores `done` would take: nothing more is counted.
            const extra = await client.step(sim.expert(taskId)[0]!)
            await client.close()
            return { state, total, last, extra }
          })
          assert.include(result.state, sim.start(taskId).episode.observation, `${profile.client} ran ${taskId}`)
          assert.isTrue(result.last.done)
          assert.strictEqual(result.total, 1)
          assert.deepStrictEqual([result.extra.reward, result.extra.done], [0, true])
        }
      })), 60_000)
  }
})
