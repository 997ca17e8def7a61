// Package openai converts between the Anthropic Messages API and the OpenAI
// Chat Completions API: requests one way (ConvertRequest), responses
// (ConvertResponse), streams (StreamConverter) and error answers
// (ConvertError) the other. Everything here is pure: bytes in, bytes or
// events out, no I/O. A non-streamed response is converted by the same
// StreamConverter as a stream and folded with anthropic.Accumulate, so there
// is one state machine.
//
// Requests are read once with a validating cursor (scan.go) that hands out
// strings as their raw, escaped bytes: prompts, tool results and schemas,
// nearly all of a request, are copied into the converted request as they
// are, never decoded and encoded again.
//
// What differs between OpenAI-compatible servers is in one table of
// families (family.go: OpenAI, OpenRouter, DeepSeek, Kimi, GLM, Qwen,
// Gemini, Mistral, Groq, xAI, Ollama, vLLM, llama.cpp), chosen by the
// provider's `family:` key or its base_url's host; model-family parameter
// rules (OpenAI's reasoning models) are in a table beside it. Handled here:
//   - Claude Code's per-request billing line leaves the system prompt, so
//     the upstream prefix is cacheable (request_messages.go);
//   - function names a family refuses are mapped to valid, stable names and
//     back; tool-call ids carry the upstream's own id inside the client's,
//     so it gets back exactly what it issued (ids.go);
//   - opaque provider state (Gemini's thought signatures, OpenRouter's
//     reasoning_details) travels through the client in a thinking block's
//     signature and goes back only to the provider that issued it
//     (state.go, details.go);
//   - every content block type of the Messages API is converted, rendered
//     as text or dropped by a documented rule (blocks.go); deferred tools
//     are sent once a tool_reference loads them (request_tools.go);
//   - "the prompt does not fit" in any server's words becomes Anthropic's
//     "prompt is too long" (overflow.go); finish reasons map by one table,
//     and those that break the answer off are a FinishError (finish.go);
//   - usage a server does not report is estimated (stream.go);
//   - the first chunk may carry no role, or only a role and empty content
//     (llama.cpp, vLLM): message_start waits for the first content;
//   - reasoning arrives as reasoning_content (DeepSeek, vLLM, llama.cpp) or
//     reasoning (OpenRouter, Ollama), and becomes a thinking block, which
//     goes back in later requests as reasoning_content (DeepSeek's thinking
//     mode answers 400 without it after tool calls);
//   - content may be an array of text and thinking parts (Mistral's
//     reasoning models) rather than a string;
//   - usage arrives in a final chunk with no choices (OpenAI, vLLM with
//     include_usage), in the finish chunk (DeepSeek, llama.cpp), or in a
//     chunk after finish_reason (OpenRouter); cached prompt tokens are
//     prompt_tokens_details.cached_tokens, or prompt_cache_hit_tokens
//     (DeepSeek), and are taken out of input_tokens as Anthropic counts;
//   - tool-call fragments may come before the call's id and name; tool calls
//     may carry no index (Gemini's endpoint), no id (local servers), or
//     arguments as an object rather than a string; the legacy function_call;
//   - a turn of tool calls may end with finish_reason "stop": stop_reason is
//     tool_use all the same, since clients run tools only then;
//   - errors arrive as an {"error": ...} chunk, or as a bare string; error
//     bodies come as {"error":{...}}, {"error":"..."}, {"message":...},
//     {"detail":...} or Gemini's [{"error":{...}}];
//   - blank keep-alive data is skipped (SSE comments such as
//     ": OPENROUTER PROCESSING" never reach Process), and a stream that ends
//     after finish_reason without [DONE] is complete;
//   - a system message between tool calls and their results is moved after
//     the results, and stop sequences beyond OpenAI's four are dropped.
package openai
