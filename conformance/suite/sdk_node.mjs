// The openai-node half of the real-client oracle (conformance/sdk.py runs it: see NodeRun).
//
// It drives the official `openai` npm package, loaded from OAI_SDK_DIR, against the target and prints one
// JSON line per flow: {flow, what, ok, value | error, exchanges}. Everything comes from environment
// variables, never argv, so the key does not show in process listings. Requests go through a wrapped
// fetch that sends only to the target's origin, never follows a redirect, sends no more requests than
// the suite charged to its budget (OAI_BUDGET), and records each exchange as the client saw it.

import { createRequire } from "node:module";
import { join } from "node:path";

const env = process.env;
const requireSdk = createRequire(join(env.OAI_SDK_DIR, "package.json"));
const sdk = requireSdk("openai");
const OpenAI = sdk.OpenAI ?? sdk.default ?? sdk;

const base = new URL(env.OAI_BASE_URL);
const maxBody = Number(env.OAI_MAX_BODY_BYTES || 4194304);
const maxTokens = Number(env.OAI_MAX_TOKENS || 16);
const chatModel = env.OAI_CHAT_MODEL || "";
const embeddingModel = env.OAI_EMBEDDING_MODEL || "";
const messages = [{ role: "user", content: "Say hello in five words." }]; // probes.CHAT_PROMPT
const inputs = ["first document", "second document"]; // test_sdk.EMBEDDING_INPUTS
let budget = Number(env.OAI_BUDGET || 0);
let retryBudget = Number(env.OAI_RETRY_BUDGET || 0);
const maxRetries = Number(env.OAI_MAX_RETRIES || 0);
const maxRetryWait = Number(env.OAI_MAX_RETRY_WAIT || 10);

class BudgetError extends Error {}
class OriginError extends Error {}

// -- recording fetch ------------------------------------------------------------------------------------

let exchanges = [];
let captures = [];

function requestBody(body) {
  if (typeof body === "string") return body;
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  return null;
}

// Reads a clone of the response body while the SDK reads the original, up to the suite's cap.
function capture(clone, record, start) {
  const reader = clone.body ? clone.body.getReader() : null;
  const parts = [];
  let size = 0;
  const done = (async () => {
    if (!reader) return;
    try {
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        const room = maxBody - size;
        parts.push(value.subarray(0, Math.max(room, 0)));
        size += value.length;
        if (value.length > room) {
          record.truncated = true;
          break;
        }
      }
    } catch (err) {
      record.error = record.error ?? `${err?.name ?? "Error"}: ${err?.message ?? err}`;
    } finally {
      record.elapsed_ms = performance.now() - start;
      record.body_base64 = Buffer.concat(parts).toString("base64");
    }
  })();
  return { done, reader, record, parts };
}

// Seconds to wait before sending a 429/503 again (retry-after-ms, then Retry-After, else backoff), or null.
function retryWait(response, attempt) {
  if (![429, 503].includes(response.status) || attempt >= maxRetries || retryBudget <= 0) return null;
  const ms = Number(response.headers.get("retry-after-ms"));
  const seconds = Number(response.headers.get("retry-after"));
  let wait = 0.5 * 2 ** attempt;
  if (response.headers.has("retry-after-ms") && Number.isFinite(ms)) wait = Math.max(ms / 1000, 0);
  else if (response.headers.has("retry-after") && Number.isFinite(seconds)) wait = Math.max(seconds, 0);
  return wait > maxRetryWait ? null : Math.min(wait, maxRetryWait);
}

async function recordingFetch(input, init = {}) {
  const url = new URL(typeof input === "string" || input instanceof URL ? String(input) : input.url);
  if (url.origin !== base.origin) {
    throw new OriginError(`${init.method ?? "GET"} ${url.origin}${url.pathname} is not on the target's origin; not sent`);
  }
  if (budget <= 0) throw new BudgetError("the request budget granted to openai-node is spent");
  budget -= 1;
  const record = {
    method: init.method ?? "GET",
    url: url.href,
    request_headers: Object.fromEntries(new Headers(init.headers ?? {}).entries()),
    request_body: requestBody(init.body),
    status: null,
    reason: "",
    headers: {},
    body_base64: "",
    error: null,
    elapsed_ms: 0,
    attempts: [],
  };
  exchanges.push(record);
  let start = performance.now();
  try {
    for (let attempt = 0; ; attempt += 1) {
      const response = await fetch(url, { ...init, redirect: "manual" });
      record.status = response.status;
      record.reason = response.statusText;
      record.headers = Object.fromEntries(response.headers.entries());
      const wait = retryWait(response, attempt);
      if (wait === null) {
        captures.push(capture(response.clone(), record, start));
        return response;
      }
      // The suite's policy for 429/503 (the SDK itself runs with maxRetries 0, so nothing else is retried).
      retryBudget -= 1;
      record.attempts.push(`${response.status}, waited ${wait.toFixed(2)} s`);
      await response.arrayBuffer().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      start = performance.now();
    }
  } catch (err) {
    record.error = `${err?.name ?? "Error"}: ${err?.cause?.code ?? err?.message ?? err}`;
    record.elapsed_ms = performance.now() - start;
    throw err;
  }
}

// Gives running captures a moment to reach the end of their body, then keeps what they have.
async function settle() {
  const pending = captures;
  captures = [];
  const timer = new Promise((resolve) => setTimeout(resolve, 300));
  await Promise.race([Promise.all(pending.map((c) => c.done)), timer]);
  for (const c of pending) {
    c.reader?.cancel().catch(() => {});
  }
  await Promise.race([Promise.all(pending.map((c) => c.done)), new Promise((r) => setTimeout(r, 50))]);
}

// -- clients and flows ----------------------------------------------------------------------------------

function client(apiKey) {
  const headers = JSON.parse(env.OAI_HEADERS || "{}");
  return new OpenAI({
    baseURL: env.OAI_BASE_URL,
    apiKey,
    organization: env.OAI_ORGANIZATION || null,
    maxRetries: 0,
    timeout: Number(env.OAI_TIMEOUT_MS || 30000),
    defaultHeaders: headers,
    fetch: recordingFetch,
  });
}

const openai = client(env.OAI_API_KEY);

function errorInfo(err) {
  const cause = err?.cause;
  return {
    class: err?.constructor?.name ?? typeof err,
    message: String(err?.message ?? err),
    status: typeof err?.status === "number" ? err.status : null,
    code: err?.code ?? null,
    type: err?.type ?? null,
    param: err?.param ?? null,
    budget: err instanceof BudgetError || cause instanceof BudgetError,
    origin: err instanceof OriginError || cause instanceof OriginError,
  };
}

// User-level code as the openai-node README writes it; what it throws is what a user's app would throw.
const flows = {
  models: {
    what: "for await (const model of client.models.list())",
    async run() {
      const ids = [];
      for await (const model of openai.models.list()) ids.push(model.id);
      return { ids };
    },
  },
  chat: {
    what: "client.chat.completions.create()",
    async run() {
      const completion = await openai.chat.completions.create({
        model: chatModel,
        messages,
        max_tokens: maxTokens,
        temperature: 0,
      });
      return {
        content: completion.choices[0].message.content,
        finish_reason: completion.choices[0].finish_reason,
      };
    },
  },
  chat_stream: {
    what: "for await (const chunk of await client.chat.completions.create({stream: true}))",
    async run() {
      const stream = await openai.chat.completions.create({
        model: chatModel,
        messages,
        max_tokens: maxTokens,
        temperature: 0,
        stream: true,
      });
      let content = "";
      let finishReason = null;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks += 1;
        content += chunk.choices[0]?.delta?.content || "";
        finishReason = chunk.choices[0]?.finish_reason || finishReason;
      }
      return { content, finish_reason: finishReason, chunks };
    },
  },
  embeddings: {
    what: "client.embeddings.create() (default base64, decoded by the SDK)",
    async run() {
      const decoded = await openai.embeddings.create({ model: embeddingModel, input: inputs });
      const floats = await openai.embeddings.create({ model: embeddingModel, input: inputs, encoding_format: "float" });
      const vectors = (response) => response.data.map((item) => Array.from(item.embedding));
      return { decoded: vectors(decoded), floats: vectors(floats) };
    },
  },
  errors: {
    what: "client.chat.completions.create() with a wrong key, then with an unknown model",
    async run() {
      const attempt = async (sdkClient, model) => {
        try {
          await sdkClient.chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }], max_tokens: 1 });
          return null;
        } catch (err) {
          const info = errorInfo(err);
          // Budget, origin and timeouts are the run's own limits, not an error mapping to judge.
          if (info.budget || info.origin || /Timeout/.test(info.class)) throw err;
          return info;
        }
      };
      const wrongKey = env.OAI_WRONG_KEY ? await attempt(client(env.OAI_WRONG_KEY), chatModel) : undefined;
      const unknownModel = await attempt(openai, env.OAI_UNKNOWN_MODEL);
      return { wrong_key: wrongKey, unknown_model: unknownModel };
    },
  },
};

for (const name of (env.OAI_FLOWS || "").split(",").filter(Boolean)) {
  const flow = flows[name];
  exchanges = [];
  const line = { flow: name, what: flow.what, ok: true, value: null, error: null, exchanges: null };
  try {
    line.value = await flow.run();
  } catch (err) {
    line.ok = false;
    line.error = errorInfo(err);
  }
  await settle();
  line.exchanges = exchanges;
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
