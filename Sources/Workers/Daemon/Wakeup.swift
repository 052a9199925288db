// A one-bit signal between tasks: `signal()` wakes the current waiters, or the next `wait()` when nobody waits.

import Foundation

final class Wakeup: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false
    /// A sticky wakeup stays signalled for good (a latch): every later `wait()` returns at once.
    private let sticky: Bool

    init(sticky: Bool = false) { self.sticky = sticky }

    var isSignalled: Bool { lock.withLock { pending } }
    private var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]

    func signal() {
        let toResume: [CheckedContinuation<Void, Never>] = lock.withLock {
            if sticky { pending = true }
            if waiters.isEmpty { pending = true; return [] }
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        toResume.forEach { $0.resume() }
    }

    func wait() async {
        let id = UUID()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow: Bool = lock.withLock {
                if pending { if !sticky { pending = false }; return true }
                waiters[id] = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Waits for a signal or at most `seconds`, whichever comes first.
    func wait(timeoutSeconds seconds: Double) async {
        let timer = Task { [weak self] in
            try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
            if !Task.isCancelled { self?.signal() }
        }
        await wait()
        timer.cancel()
    }
}
