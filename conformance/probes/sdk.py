"""Probes of the sdk checks (conformance/checks/sdk.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai

from conformance import builders
from conformance.core.results import NotApplicable
from conformance.engine import RunState, probe
from conformance.probes.chat_stream import TOOL_MAX_TOKENS, WEATHER_TOOL
from conformance.sdk import (
    NodeResults,
    NodeRun,
    NodeSetup,
    PythonSdk,
    SdkOutcome,
    prepare_node,
)
from conformance.streams import forced_call_ignored
from conformance.target import Target
from conformance.transport.client import HttpClient
from conformance.transport.exchange import StreamExchange

CHAT_MESSAGES = [{"role": "user", "content": builders.CHAT_PROMPT}]


TOOL_MESSAGES = [{"role": "user", "content": "What is the weather in Paris? Use the get_weather tool."}]


REFUSAL_MESSAGES = [{"role": "user", "content": "Hi"}]


EMBEDDING_INPUTS = ["first document", "second document"]  # the same two inputs as the node script


def _stream_helper(sdk: openai.OpenAI) -> Any:
    # client.chat.completions.stream() since openai 1.92; client.beta.chat.completions.stream() before.
    return getattr(sdk.chat.completions, "stream", None) or sdk.beta.chat.completions.stream


NODE_FLOWS = {
    "SDK-NODE-001": "models",
    "SDK-NODE-002": "chat",
    "SDK-NODE-003": "chat_stream",
    "SDK-NODE-004": "embeddings",
    "SDK-NODE-005": "errors",
    "SDK-NODE-006": "responses_stream",
    "SDK-NODE-007": "chat_tools",
    "SDK-NODE-008": "chat_tools_stream",
    "SDK-NODE-009": "chat_parse",
}


NODE_FLOW_NEEDS = {
    "chat": "chat",
    "chat_stream": "chat",
    "errors": "chat",
    "embeddings": "embeddings",
    "responses_stream": "chat",  # the Responses API is served by the chat model
    "chat_tools": "chat",
    "chat_tools_stream": "chat",
    "chat_parse": "chat",
}
#: Flows of an endpoint family or chat feature declared apart from their model's (``--capabilities``).
NODE_FLOW_FAMILY = {
    "responses_stream": "responses",
    "chat_tools": "tools",
    "chat_tools_stream": "tools",
    "chat_parse": "structured_outputs",
}


# -- the clients ---------------------------------------------------------------------------------------------


@probe(after=("node_launch",))  # the openai-node script starts first and runs while these flows do
def python_sdk(client: HttpClient) -> Iterator[PythonSdk]:
    sdk = PythonSdk(client)
    try:
        yield sdk
    finally:
        sdk.close()


# -- models --------------------------------------------------------------------------------------------------


@probe
def sdk_models(python_sdk: PythonSdk) -> SdkOutcome:
    def flow(sdk: openai.OpenAI) -> tuple[list[Any], Any]:
        models = list(sdk.models.list())
        first = next((getattr(m, "id", None) for m in models if isinstance(getattr(m, "id", None), str)), None)
        return models, (sdk.models.retrieve(first) if first else None)

    return python_sdk.run("client.models.list(), then client.models.retrieve(id)", flow)


# -- chat ----------------------------------------------------------------------------------------------------


@probe
def sdk_chat(python_sdk: PythonSdk, chat_model: str, target: Target) -> SdkOutcome:
    def flow(sdk: openai.OpenAI) -> Any:
        return sdk.chat.completions.create(
            model=chat_model, messages=CHAT_MESSAGES, max_tokens=target.max_tokens, temperature=0
        )

    return python_sdk.run("client.chat.completions.create()", flow)


# -- chat stream ---------------------------------------------------------------------------------------------


@probe
def sdk_chat_stream(python_sdk: PythonSdk, chat_model: str, target: Target) -> SdkOutcome:
    def flow(sdk: openai.OpenAI) -> tuple[list[Any], list[Any]]:
        common: dict[str, Any] = {
            "model": chat_model,
            "messages": CHAT_MESSAGES,
            "max_tokens": target.max_tokens,
            "temperature": 0,
            "stream": True,
        }
        plain = list(sdk.chat.completions.create(**common))
        with_usage = list(sdk.chat.completions.create(**common, stream_options={"include_usage": True}))
        return plain, with_usage

    return python_sdk.run("for chunk in client.chat.completions.create(stream=True)", flow)


# -- the .stream() helper ------------------------------------------------------------------------------------


@probe
def sdk_helper_text(python_sdk: PythonSdk, chat_model: str, target: Target) -> SdkOutcome:
    def flow(sdk: openai.OpenAI) -> Any:
        with _stream_helper(sdk)(model=chat_model, messages=CHAT_MESSAGES, max_tokens=target.max_tokens) as stream:
            for _event in stream:
                pass
            try:
                return stream.get_final_completion()
            except openai.LengthFinishReasonError as exc:
                # The helper raises this for every finish_reason "length", the right answer to the run's own
                # small max_tokens (openai-python lib/_parsing/_completions.py): judge what it accumulated.
                return exc.completion

    return python_sdk.run("client.chat.completions.stream() ... get_final_completion()", flow)


@probe
def sdk_helper_tools(
    python_sdk: PythonSdk, chat_model: str, target: Target, chat_stream_tools: StreamExchange | None
) -> SdkOutcome | None:
    """The .stream() helper with a forced tool call; None, without a request, where tools are declared absent
    or the raw forced call was ignored (then whether the model calls the tool is chance, not contract)."""
    if chat_stream_tools is None or forced_call_ignored(chat_stream_tools):
        return None

    def flow(sdk: openai.OpenAI) -> Any:
        with _stream_helper(sdk)(
            model=chat_model,
            messages=TOOL_MESSAGES,
            tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            max_tokens=max(target.max_tokens, TOOL_MAX_TOKENS),
        ) as stream:
            for _event in stream:
                pass
            try:
                return stream.get_final_completion()
            except openai.LengthFinishReasonError as exc:
                return exc.completion  # cut by the run's own max_tokens: judged in judge_helper_tools

    return python_sdk.run("client.chat.completions.stream(tools=[...]) ... get_final_completion()", flow)


# -- completions ---------------------------------------------------------------------------------------------


@probe
def sdk_completion(python_sdk: PythonSdk, completion_model: str, target: Target) -> SdkOutcome:
    def flow(sdk: openai.OpenAI) -> Any:
        return sdk.completions.create(
            model=completion_model, prompt=builders.COMPLETION_PROMPT, max_tokens=target.max_tokens, temperature=0
        )

    return python_sdk.run("client.completions.create()", flow)


@probe
def sdk_completion_stream(python_sdk: PythonSdk, completion_model: str, target: Target) -> SdkOutcome:
    def flow(sdk: openai.OpenAI) -> list[Any]:
        return list(
            sdk.completions.create(
                model=completion_model,
                prompt=builders.COMPLETION_PROMPT,
                max_tokens=target.max_tokens,
                temperature=0,
                stream=True,
            )
        )

    # No strict twin: strict mode rejects every completion chunk with finish_reason null (module docstring).
    return python_sdk.run("for chunk in client.completions.create(stream=True)", flow, strict=False)


# -- embeddings ----------------------------------------------------------------------------------------------


@probe
def sdk_embeddings_default(python_sdk: PythonSdk, embedding_model: str) -> SdkOutcome:
    def flow(sdk: openai.OpenAI) -> Any:
        return sdk.embeddings.create(model=embedding_model, input=EMBEDDING_INPUTS)

    # No strict twin: strict mode validates the base64 string as list[float] before decoding it.
    return python_sdk.run("client.embeddings.create() (the SDK asks for base64 and decodes it)", flow, strict=False)


@probe
def sdk_embeddings_float(python_sdk: PythonSdk, embedding_model: str) -> SdkOutcome:
    def flow(sdk: openai.OpenAI) -> Any:
        return sdk.embeddings.create(model=embedding_model, input=EMBEDDING_INPUTS, encoding_format="float")

    return python_sdk.run('client.embeddings.create(encoding_format="float")', flow)


@probe
def sdk_wrong_key(python_sdk: PythonSdk, chat_model: str, target: Target) -> SdkOutcome:
    if not target.api_key:
        raise NotApplicable("the target is configured without a key: a wrong key cannot be refused")

    def flow(sdk: openai.OpenAI) -> Any:
        wrong = sdk.with_options(api_key=builders.WRONG_KEY)
        return wrong.chat.completions.create(model=chat_model, messages=REFUSAL_MESSAGES, max_tokens=1)

    return python_sdk.run("client.chat.completions.create() with a wrong key", flow, strict=False)


@probe
def sdk_unknown_model(python_sdk: PythonSdk) -> SdkOutcome:
    def flow(sdk: openai.OpenAI) -> Any:
        return sdk.chat.completions.create(model=builders.UNKNOWN_MODEL, messages=REFUSAL_MESSAGES, max_tokens=1)

    return python_sdk.run("client.chat.completions.create() with an unknown model", flow, strict=False)


@probe
def sdk_bad_parameter(python_sdk: PythonSdk, chat_model: str) -> SdkOutcome:
    def flow(sdk: openai.OpenAI) -> Any:
        # The SDK does not check types at run time: a string temperature goes out as it would from untyped code.
        hot: Any = "hot"
        return sdk.chat.completions.create(model=chat_model, messages=REFUSAL_MESSAGES, max_tokens=1, temperature=hot)

    return python_sdk.run('client.chat.completions.create(temperature="hot")', flow, strict=False)


# -- stream errors -------------------------------------------------------------------------------------------


@probe
def sdk_stream_refused(python_sdk: PythonSdk) -> SdkOutcome:
    def flow(sdk: openai.OpenAI) -> tuple[str, Any]:
        stream = sdk.chat.completions.create(
            model=builders.UNKNOWN_MODEL, messages=REFUSAL_MESSAGES, max_tokens=1, stream=True
        )
        try:
            return "served", list(stream)
        except Exception as exc:  # judged: an error that surfaces only while iterating
            return "while iterating", exc

    return python_sdk.run("client.chat.completions.create(stream=True) with an unknown model", flow, strict=False)


# -- openai-node ---------------------------------------------------------------------------------------------


@probe
def node_setup() -> NodeSetup:
    return prepare_node()


@probe(slow=True)
def node_launch(run_state: RunState, node_setup: NodeSetup) -> Iterator[NodeRun | None]:
    """The node script for every openai-node check this session selected, started in the background."""
    if node_setup.modules is None:
        yield None
        return
    selected = run_state.collected
    models: dict[str, str] = {}
    flows = []
    for requirement_id, flow in NODE_FLOWS.items():
        need = NODE_FLOW_NEEDS.get(flow)
        if requirement_id not in selected:
            continue
        family, declared = NODE_FLOW_FAMILY.get(flow, need), run_state.target.capabilities
        if family is not None and declared is not None and family not in declared:
            continue  # declared absent: the check is UNSUPPORTED by its own `needs`
        if need is not None:
            model = run_state.model_choice(need).model
            if model is None:
                continue  # the check is SKIP or UNSUPPORTED by its own `needs`
            models[need] = model
        flows.append(flow)
    launched = NodeRun(
        run_state.client,
        node_setup,
        flows,
        models=models,
        unknown_model=builders.UNKNOWN_MODEL,
        wrong_key=builders.WRONG_KEY,
    )
    try:
        yield launched
    finally:
        launched.close()


@probe
def node_results(node_launch: NodeRun | None) -> NodeResults:
    return node_launch.results() if node_launch is not None else NodeResults()
