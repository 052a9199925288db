/* The C ABI of libLLMOpsStreamC (Sources/LLMOpsStreamC/CExports.swift): the Swift data stream of
 * docs/shards-and-streaming.md for foreign readers. The Python SDK (clients/python/llmops/data) loads it with
 * ctypes; any other language can too. Build: swift build -c release --product LLMOpsStreamC
 * (.build/release/libLLMOpsStreamC.so). A handle may be used from any thread, one call at a time is enforced. */
#include <stdint.h>

/* 1 for this header. */
int32_t llmops_stream_abi_version(void);

/* spec_json: {"sources": [{"location": "/data/web", "weight": 0.7}, ...],   directory, file://, http(s)://
 *             "sequenceLength": 1024, "batchSize": 8, "seed": 1234,        required
 *             "rank": 0, "worldSize": 1, "readerThreads": 1, "shuffleWindow": 4096, "samplesPerEpoch": null,
 *             "maxOpenShards": 8, "verifyAhead": true,
 *             "cacheDirectory": null, "cacheCapacityBytes": 17179869184,  needed for http(s) sources
 *             "state": {"epoch": 0, "position": 0, "order": "..."}}         a saved llmops_stream_state
 * Returns NULL on failure with {"kind", "field", "message"[, "shard"]} written to error. */
void *llmops_stream_open(const char *spec_json, char *error, int64_t error_capacity);

/* Next `steps` batches of this rank: steps * batchSize rows of sequenceLength + 1 ids of tokenBytes (2: uint16,
 * 4: int32) each; positions (optional) gets each row's global position. 0 ok, -1 error (llmops_stream_error). */
int32_t llmops_stream_next(void *stream, void *tokens, int64_t capacity_bytes, int32_t steps, int64_t *positions);

/* JSON strings copied into buffer (NUL-terminated, cut to capacity); each returns the full length in bytes. */
int64_t llmops_stream_state(void *stream, char *buffer, int64_t capacity);
int64_t llmops_stream_info(void *stream, char *buffer, int64_t capacity);
int64_t llmops_stream_error(void *stream, char *buffer, int64_t capacity);

void llmops_stream_close(void *stream);
