// Package openai converts between the Anthropic Messages API and the OpenAI
// Chat Completions API: requests one way (ConvertRequest), responses
// (ConvertResponse), streams (StreamConverter) and error answers
// (ConvertError) the other. Everything here is pure: bytes in, bytes or
// events out, no I/O. A non-streamed response is converted by the same
// StreamConverter as a stream and folded with anthropic.Accumulate, so there
// is one state machine.
//
// What OpenAI-compatible servers do differently, and is handled here:
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
//   - errors arrive as an {"error": ...} chunk, with finish_reason "error"
//     (OpenRouter), or as a bare string; error bodies come as
//     {"error":{...}}, {"error":"..."}, {"message":...} or {"detail":...};
//   - blank keep-alive data is skipped (SSE comments such as
//     ": OPENROUTER PROCESSING" never reach Process), and a stream that ends
//     after finish_reason without [DONE] is complete;
//   - a system message between tool calls and their results is moved after
//     the results, and stop sequences beyond OpenAI's four are dropped.
package openai
