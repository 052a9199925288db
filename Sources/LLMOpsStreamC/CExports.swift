// The C ABI of the stream (llmops_stream.h): a handful of functions a foreign reader loads with dlopen (the
// Python SDK through ctypes). Everything that crosses it is checked here, at the unsafe edge: null pointers,
// capacities, the handle's type. A Swift error never crosses: it becomes a status and a JSON error the caller
// reads (`reportingErrors`). Strings are copied into caller buffers (no memory is handed out that the caller must
// free).
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
    reportingErrors(failure: nil, to: { copy($0, into: errorBuffer, capacity: errorCapacity) }) {
        () throws(StreamOpenError) in
        guard let spec else { throw StreamOpenError(field: "", reason: "the spec pointer is NULL") }
        let handle = try StreamHandle(spec: try StreamSpec.decode(Data(String(cString: spec).utf8)))
        return Unmanaged.passRetained(handle).toOpaque()
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
    withHandle(stream) { handle in
        reportingErrors(failure: -1, to: { handle.lastError = $0 }) { () throws(StreamOpenError) in
            guard let tokens, capacityBytes >= 0 else {
                throw StreamOpenError(kind: "invalidArgument", field: "buffer", reason: "NULL or negative size")
            }
            try handle.next(steps: Int(steps), into: tokens, capacityBytes: Int(capacityBytes), positions: positions)
            return 0
        }
    }
}

/// The state to resume from (`{"epoch", "position", "order"}`, as `StreamState` encodes it in checkpoints).
/// Returns the JSON's length in bytes; when that is >= `capacity` the copy was cut: call again with more.
@_cdecl("llmops_stream_state")
public func llmops_stream_state(
    _ stream: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int64
) -> Int64 {
    copyJSON(\.stateJSON, of: stream, into: buffer, capacity: capacity)
}

/// `{"batchSize", "sequenceLength", "rank", "worldSize", "tokenBytes", "samplesPerEpoch", "samplesPerDataset",
/// "datasets", "order"}`; returns the length as `llmops_stream_state` does.
@_cdecl("llmops_stream_info")
public func llmops_stream_info(
    _ stream: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int64
) -> Int64 {
    copyJSON(\.infoJSON, of: stream, into: buffer, capacity: capacity)
}

/// The JSON of the last error of `llmops_stream_next` on this handle ("" when none).
@_cdecl("llmops_stream_error")
public func llmops_stream_error(
    _ stream: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int64
) -> Int64 {
    copyJSON(\.lastError, of: stream, into: buffer, capacity: capacity)
}

/// Releases the stream (its mapped shards, its background work). The handle is invalid afterwards.
@_cdecl("llmops_stream_close")
public func llmops_stream_close(_ stream: UnsafeMutableRawPointer?) {
    guard let stream else { return }
    Unmanaged<StreamHandle>.fromOpaque(stream).release()
}

// MARK: The shape every export shares: decode the handle, run, turn a Swift error into JSON for the caller.

/// Runs `body` on the stream behind `pointer`; -1 for a NULL handle (there is no handle to keep an error on).
private func withHandle<Status: SignedInteger>(
    _ pointer: UnsafeMutableRawPointer?, _ body: (StreamHandle) -> Status
) -> Status {
    guard let pointer else { return -1 }
    return body(Unmanaged<StreamHandle>.fromOpaque(pointer).takeUnretainedValue())
}

/// `body`'s result, or `failure` after handing the error's JSON to `report` (the caller's buffer, or the handle's
/// last error): no Swift error crosses the ABI.
private func reportingErrors<Result>(
    failure: Result, to report: (String) -> Void, _ body: () throws(StreamOpenError) -> Result
) -> Result {
    do throws(StreamOpenError) {
        return try body()
    } catch {
        report(error.json)
        return failure
    }
}

/// Copies one of the handle's JSON texts into the caller's buffer: `llmops_stream_state`, `_info` and `_error`.
private func copyJSON(
    _ text: KeyPath<StreamHandle, String>, of stream: UnsafeMutableRawPointer?,
    into buffer: UnsafeMutablePointer<CChar>?, capacity: Int64
) -> Int64 {
    withHandle(stream) { copy($0[keyPath: text], into: buffer, capacity: capacity) }
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
