"""Orchestration: the layer that turns a question into an answer, with no HTTP in it.

`pipeline.ChatPipeline` runs a turn (guardrails -> route -> memory -> retrieve -> answerability -> prompt
-> cache -> generate or agent -> output guard -> cite) and yields typed events (`schemas`); `providers` are
the LLM backends and the gateway, `guardrails` the checks, `prompts` the versioned templates, `citations`
the citation and support checks, `sessions` and `memory` the conversation memory. docs/architecture.md has
the rest. The HTTP and CLI layers call it; it never imports them.
"""
