// SHA-256 on a thread of its own, fed with copies of chunks as they arrive (a download's write callback), so
// verifying a fetched blob overlaps with receiving it instead of reading the file again afterwards. On the
// 2-core development machine that took the control plane's verified blob fetch from 0.75 to ~0.9 of curl
// (StorageBench; docs/storage.md).

import Foundation
import Primitives

public final class BackgroundSHA256: Sendable {
    /// Bytes queued before `update` waits for the hasher: 64 MiB bounds memory while absorbing the bursts of a
    /// loopback transfer (~1 GB/s against ~1 GB/s of hashing).
    public static let maxQueuedBytes = 64 << 20

    private struct State {
        var chunks: [Data] = []
        var queuedBytes = 0
        var finished = false
        var digest: String?
    }

    private let state = Guarded(State())

    public init() {
        let thread = Thread { [state] in Self.run(state) }
        thread.name = "sha256"
        thread.start()
    }

    /// Queues a copy of `bytes` (waits while `maxQueuedBytes` are queued).
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        let copy = Data(bytes)
        _ = state.wait(until: nil) { state -> Bool? in
            precondition(!state.finished, "BackgroundSHA256.update after finalizeHex")
            return state.queuedBytes < Self.maxQueuedBytes || state.chunks.isEmpty ? true : nil
        }
        state.update { state in
            state.chunks.append(copy)
            state.queuedBytes += copy.count
        }
    }

    /// Waits for every queued chunk to be hashed; the lower-case hex digest.
    public func finalizeHex() -> String {
        state.update { $0.finished = true }
        return state.wait(until: nil) { $0.digest }!
    }

    private static func run(_ state: Guarded<State>) {
        var hasher = SHA256()
        while true {
            let (batch, finished) = state.wait(until: nil) { state -> ([Data], Bool)? in
                if state.chunks.isEmpty && !state.finished { return nil }
                defer { state.chunks = [] }
                return (state.chunks, state.chunks.isEmpty && state.finished)
            }!
            if finished { break }
            for chunk in batch { chunk.withUnsafeBytes { hasher.update(buffer: $0) } }
            let hashed = batch.reduce(0) { $0 + $1.count }
            state.update { $0.queuedBytes -= hashed }
        }
        let digest = hasher.finalizeHex()
        state.update { $0.digest = digest }
    }
}
