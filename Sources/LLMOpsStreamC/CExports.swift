// The C ABI of the stream (llmops_stream.h): a handful of functions a foreign reader loads with dlopen (the
// Python SDK through ctypes). Everything that crosses it is checked here, at the unsafe edge: null pointers,
// capacities, the handle's type. A Swift error never crosses: it becomes a status and a JSON error the caller
// reads. Strings are copied into caller buffers (no memory is handed out that the caller must free).
import DataShards
import Foundation

/// Bumped when a signature or the meaning of a field changes; the SDK refuses a library of another version.
let streamABIVersion: Int32 = 1

@_cdecl("llmops_stream_abi_version")
public func llmops_stream_abi_version() -> Int32 { streamABIVersion }

/// Opens a stream from a JSON spec (NUL-terminated UTF-8). Returns a handle, or NULL with the error's JSON
/// (`{"kind", "field", "message"}`) copied into `error` (at most `errorCapacity` bytes with the NUL).
@_cdecl("llmops_stream_open")
public func llmops_stream_open(
    _ spec: UnsafePointer<CChar>?, _ errorBuffer: UnsafeMutablePointer<CChar>?, _ errorCapacity: Int64
) -> UnsafeMutableRawPointer? {
    guard let spec else {
        let error = StreamOpenError(field: "", reason: "the spec pointer is NULL")
        copy(error.json, into: errorBuffer, capacity: errorCapacity)
        return nil
    }
    do throws(StreamOpenError) {
        let decoded = try StreamSpec.decode(Data(String(cString: spec).utf8))
        let handle = try StreamHandle(spec: decoded)
        return Unmanaged.passRetained(handle).toOpaque()
    } catch {
        copy(error.json, into: errorBuffer, capacity: errorCapacity)
        return nil
    }
}

/// Copies the next `steps` batches of this rank (steps x B rows of T + 1 ids of `tokenBytes` each) into
/// `tokens` and, if `positions` is not NULL, each row's global position (steps x B int64). 0 on success;
/// -1 on an error (`llmops_stream_error` says which); the state then stays after the last whole batch.
@_cdecl("llmops_stream_next")
public func llmops_stream_next(
    _ stream: UnsafeMutableRawPointer?, _ tokens: UnsafeMutableRawPointer?, _ capacityBytes: Int64, _ steps: Int32,
    _ positions: UnsafeMutablePointer<Int64>?
) -> Int32 {
    guard let handle = handle(stream) else { return -1 }
    guard let tokens, capacityBytes >= 0 else {
        handle.lastError =
            StreamOpenError(kind: "invalidArgument", field: "buffer", reason: "NULL or negative size").json
        return -1
    }
    do throws(StreamOpenError) {
        try handle.next(steps: Int(steps), into: tokens, capacityBytes: Int(capacityBytes), positions: positions)
        return 0
    } catch {
        handle.lastError = error.json
        return -1
    }
}

/// The state to resume from (`{"epoch", "position", "order"}`, as `StreamState` encodes it in checkpoints).
/// Returns the JSON's length in bytes; when that is >= `capacity` the copy was cut: call again with more.
@_cdecl("llmops_stream_state")
public func llmops_stream_state(
    _ stream: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int64
)
    -> Int64
{
    guard let handle = handle(stream) else { return -1 }
    return copy(handle.stateJSON, into: buffer, capacity: capacity)
}

/// `{"batchSize", "sequenceLength", "rank", "worldSize", "tokenBytes", "samplesPerEpoch", "samplesPerDataset",
/// "datasets", "order"}`; returns the length as `llmops_stream_state` does.
@_cdecl("llmops_stream_info")
public func llmops_stream_info(
    _ stream: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int64
)
    -> Int64
{
    guard let handle = handle(stream) else { return -1 }
    return copy(handle.infoJSON, into: buffer, capacity: capacity)
}

/// The JSON of the last error of `llmops_stream_next` on this handle ("" when none).
@_cdecl("llmops_stream_error")
public func llmops_stream_error(
    _ stream: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int64
)
    -> Int64
{
    guard let handle = handle(stream) else { return -1 }
    return copy(handle.lastError, into: buffer, capacity: capacity)
}

/// Releases the stream (its mapped shards, its background work). The handle is invalid afterwards.
@_cdecl("llmops_stream_close")
public func llmops_stream_close(_ stream: UnsafeMutableRawPointer?) {
    guard let stream else { return }
    Unmanaged<StreamHandle>.fromOpaque(stream).release()
}

private func handle(_ pointer: UnsafeMutableRawPointer?) -> StreamHandle? {
    guard let pointer else { return nil }
    return Unmanaged<StreamHandle>.fromOpaque(pointer).takeUnretainedValue()
}

/// Copies `text` and a NUL into `buffer` (cut to `capacity`); returns the text's full length in bytes.
@discardableResult
private func copy(_ text: String, into buffer: UnsafeMutablePointer<CChar>?, capacity: Int64) -> Int64 {
    let bytes = Array(text.utf8)
    guard let buffer, capacity >= 1 else { return Int64(bytes.count) }
    let count = min(bytes.count, Int(capacity) - 1)
    bytes.withUnsafeBufferPointer { source in
        source.baseAddress.map { UnsafeMutableRawPointer(buffer).copyMemory(from: $0, byteCount: count) }
    }
    buffer[count] = 0
    return Int64(bytes.count)
}
