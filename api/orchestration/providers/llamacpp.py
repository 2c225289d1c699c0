"""`llamacpp`: a local GGUF model in-process through llama-cpp-python (optional extra `citewise[llamacpp]`)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from citewise.api.orchestration.providers.base import Attempt, Call, Prompt, Usage
from citewise.errors import ConfigError
from citewise.settings import LlamaCppProfile


class LlamaCppProvider:
    """A GGUF model in-process through llama-cpp-python (install the `llamacpp` extra)."""

    name = "llamacpp"

    def __init__(self, profile: LlamaCppProfile) -> None:
        if not profile.model_path.is_file():
            raise ConfigError(f"profile {profile.name!r}: llamacpp needs model_path pointing at a .gguf file")
        self.profile = profile
        self._llm = None

    def stream(self, prompt: Prompt, call: Call) -> Iterator[str]:
        call.provider = call.endpoint = self.name
        began, wall = time.perf_counter(), time.time_ns()
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ConfigError("llama-cpp-python is not installed: pip install 'citewise[llamacpp]'") from exc
            self._llm = Llama(model_path=str(self.profile.model_path), n_ctx=self.profile.context_window, verbose=False)
        messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}]
        parts: list[str] = []
        for chunk in self._llm.create_chat_completion(
            messages=messages, stream=True, temperature=self.profile.temperature, max_tokens=self.profile.max_tokens
        ):
            delta = chunk["choices"][0]["delta"].get("content")
            if delta:
                parts.append(delta)
                yield delta
        # The model's own tokenizer counts exactly: no estimate needed in-process.
        prompt_tokens = len(self._llm.tokenize((prompt.system + "\n" + prompt.user).encode(), add_bos=True))
        call.usage = Usage(prompt_tokens, len(self._llm.tokenize("".join(parts).encode(), add_bos=False)))
        call.attempts.append(Attempt(self.name, "ok", time.perf_counter() - began, started_ns=wall))
