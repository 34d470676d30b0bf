// The openai-node half of the real-client oracle (conformance/sdk/node.py runs it: see NodeRun).
//
// It drives the official `openai` npm package, loaded from OAI_SDK_DIR, against the target and prints one
// JSON line per flow: {flow, what, ok, value | error}. Everything comes from environment variables, never
// argv, so the key does not show in process listings. OAI_BASE_URL is the suite's loopback forwarder,
// which sends every request on through the suite's one transport policy (budgets, deadlines, caps, the
// circuit breaker, 429/503 backoff, recording and redaction all happen there). The fetch below only names
// the flow, keeps to the forwarder's origin, never follows a redirect, and turns the policy's refusals
// into the errors a user's fetch would throw.

import { createRequire } from "node:module";
import { join } from "node:path";

const env = process.env;
const requireSdk = createRequire(join(env.OAI_SDK_DIR, "package.json"));
const sdk = requireSdk("openai");
const OpenAI = sdk.OpenAI ?? sdk.default ?? sdk;

const base = new URL(env.OAI_BASE_URL);
const maxTokens = Number(env.OAI_MAX_TOKENS || 16);
const chatModel = env.OAI_CHAT_MODEL || "";
const embeddingModel = env.OAI_EMBEDDING_MODEL || "";
const flowHeader = env.OAI_FLOW_HEADER || "x-oai-conformance-flow";
const refusedHeader = env.OAI_REFUSED_HEADER || "x-oai-conformance-refused";
const messages = [{ role: "user", content: "Say hello in five words." }]; // probes.CHAT_PROMPT
const inputs = ["first document", "second document"]; // test_sdk.EMBEDDING_INPUTS

class BudgetError extends Error {}
class OriginError extends Error {}

// -- the fetch: to the forwarder, which sends through the suite's policy ---------------------------------

let currentFlow = "";

async function policyFetch(input, init = {}) {
  const url = new URL(typeof input === "string" || input instanceof URL ? String(input) : input.url);
  if (url.origin !== base.origin) {
    throw new OriginError(`${init.method ?? "GET"} ${url.origin}${url.pathname} is not on the target's origin; not sent`);
  }
  const headers = new Headers(init.headers ?? {});
  headers.set(flowHeader, currentFlow);
  const response = await fetch(url, { ...init, headers, redirect: "manual" });
  const refused = response.headers.get(refusedHeader);
  if (!refused) return response;
  const message = (await response.json().catch(() => ({})))?.error?.message ?? refused;
  if (refused === "budget") throw new BudgetError(message);
  // "timed out" in the message: openai-node reports it as APIConnectionTimeoutError, as for its own timeout.
  if (refused === "timeout") throw new Error(message);
  throw new TypeError("fetch failed", { cause: new Error(message) });
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
    fetch: policyFetch,
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
  responses_stream: {
    what: "client.responses.stream() iterated, then await stream.finalResponse()",
    async run() {
      const stream = openai.responses.stream({
        model: chatModel,
        input: messages[0].content,
        instructions: "Answer in plain English.", // probes.responses.INSTRUCTIONS
        max_output_tokens: Math.max(maxTokens, 16),
        temperature: 0,
        store: false,
      });
      let deltas = "";
      for await (const event of stream) {
        if (event.type === "response.output_text.delta") deltas += event.delta;
      }
      const final = await stream.finalResponse();
      return { deltas, output_text: final.output_text, status: final.status };
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
  currentFlow = name;
  const line = { flow: name, what: flow.what, ok: true, value: null, error: null };
  try {
    line.value = await flow.run();
  } catch (err) {
    line.ok = false;
    line.error = errorInfo(err);
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
