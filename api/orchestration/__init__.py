"""Orchestration: the layer that turns a question into an answer, with no HTTP in it.

`pipeline.ChatPipeline` runs a turn (guardrails -> condense -> retrieve -> evidence -> prompt -> generate ->
output guard -> cite) and yields typed events (`schemas`); `providers` are the LLM backends, `guardrails`
the checks, `prompts` the versioned templates, `citations` the citation and support checks, and
`sessions` the conversation memory. The HTTP and CLI layers call it; it never imports them.
"""
