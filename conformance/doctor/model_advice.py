"""What to say about the model the user asked for, without a network: the listed names they probably meant, and
one sentence on what the model is and where to call it."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from conformance.builders import ENDPOINTS
from conformance.doctor.urls import url_path

_KIND = {"chat": "a chat model", "completions": "a completion model", "embeddings": "an embedding model"}
_FIELD = {"chat": "`messages`", "completions": "`prompt`", "embeddings": "`input`"}


def near_misses(model: str, available: Sequence[str], limit: int = 5) -> list[str]:
    """Listed names the user probably meant: case/whitespace-insensitive equality first, then prefix or
    suffix matches (``ref-chat-latest`` → ``ref-chat``, ``gpt-4o`` → ``openai/gpt-4o``), then difflib close
    matches. The exact name itself is never a near miss."""
    wanted = model.strip().lower()
    if not wanted:
        return []
    others = [name for name in dict.fromkeys(available) if name != model]
    lowered = {name: name.strip().lower() for name in others}
    found: list[str] = [name for name in others if lowered[name] == wanted]
    for name in others:
        low = lowered[name]
        shorter = min(len(low), len(wanted))
        if shorter >= 3 and low != wanted and (low.startswith(wanted) or wanted.startswith(low)):
            found.append(name)
    for name in others:
        low = lowered[name]
        shorter = min(len(low), len(wanted))
        if shorter >= 3 and low != wanted and (low.endswith(wanted) or wanted.endswith(low)) and name not in found:
            found.append(name)
    by_lower: dict[str, list[str]] = {}
    for name in others:
        by_lower.setdefault(lowered[name], []).append(name)
    for close in difflib.get_close_matches(wanted, list(by_lower), n=limit, cutoff=0.75):
        found.extend(by_lower[close])
    return list(dict.fromkeys(found))[:limit]


def conclude_model(model: str, base: str, listed_models: Sequence[str] | None, answers_on: Sequence[str]) -> str:
    """One sentence: what the model is and where to call it, or that it is not served here."""
    prefix = url_path(base)
    listed = None if listed_models is None else model in listed_models
    unlisted = ""
    if listed is False:
        unlisted = " GET /models does not list it, though: clients that pick from that list will not offer it."
    if len(answers_on) == 1:
        capability = answers_on[0]
        endpoint = f"{prefix}/{ENDPOINTS[capability]}"
        sentence = f"{model} is {_KIND[capability]}: call POST {endpoint} with {_FIELD[capability]}"
        if capability != "chat":
            sentence += f", not {prefix}/chat/completions"
        return sentence + "." + unlisted
    if answers_on:
        where = " and ".join(f"POST {prefix}/{ENDPOINTS[capability]}" for capability in answers_on)
        return f"{model} answers on {where}." + unlisted
    if listed:
        return (
            f"{model} is listed by GET {prefix}/models but answered on no endpoint: see the errors above "
            "(the key may lack access to it, or the provider's routing for it is broken)."
        )
    suggestions = near_misses(model, listed_models or ())
    if suggestions:
        others = f" (or {', '.join(suggestions[1:])})" if len(suggestions) > 1 else ""
        return f"{model} is not served here; did you mean {suggestions[0]}{others}?"
    if listed_models is None:
        return f"{model} answered on no endpoint, and the model list could not be read."
    if not listed_models:
        return (
            f"{model} is not served here, and GET {prefix}/models is empty: ask the provider for the exact "
            "model name to call (an empty list does not mean there are no models)."
        )
    sample = ", ".join(listed_models[:5]) + (", …" if len(listed_models) > 5 else "")
    return f"{model} is not served here, and nothing listed resembles it; GET {prefix}/models lists {sample}."
