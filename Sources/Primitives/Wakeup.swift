// A one-bit signal between tasks: `signal()` wakes the current waiters, or the next `wait()` when nobody waits.

import Foundation

public final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    }
    private let state = Locked(State())
    /// A sticky wakeup stays signalled for good (a latch): every later `wait()` returns at once.
    private let sticky: Bool

    public init(sticky: Bool = false) { self.sticky = sticky }

    public var isSignalled: Bool { state.withLock { $0.pending } }

    public func signal() {
        let toResume: [CheckedContinuation<Void, Never>] = state.withLock { state in
            if sticky { state.pending = true }
            if state.waiters.isEmpty {
                state.pending = true
                return []
            }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        toResume.forEach { $0.resume() }
    }

    public func wait() async {
        let id = UUID()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow: Bool = state.withLock { state in
                if state.pending {
                    if !sticky { state.pending = false }
                    return true
                }
                state.waiters[id] = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Waits for a signal or at most `seconds`, whichever comes first.
    public func wait(timeoutSeconds seconds: Double) async {
        let timer = Task { [weak self] in
            try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
            if !Task.isCancelled { self?.signal() }
        }
        await wait()
        timer.cancel()
    }
}
