// One `opsctl up` per state directory. A second one on the same directory once waited on the first's
// database, ignored Ctrl-C and, 60 s later, shut down the first cluster's PostgreSQL. The lock is `flock` on
// `<state>/up.lock`: the kernel releases it however the holder ends (even SIGKILL), so it is never stale, and
// the file holds the holder's pid so that the refusal can name it. The descriptor is close-on-exec: workers and
// PostgreSQL must not inherit it, or a crashed `up`'s children would keep its directory locked.

import Foundation

final class StateDirectoryLock {
    static let fileName = "up.lock"
    private var descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// Takes the lock of `directory` or throws naming the pid that holds it.
    static func acquire(_ directory: URL) throws -> StateDirectoryLock {
        let path = directory.appendingPathComponent(fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SettingsError("cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            let holder = holderPID(fd)
            close(fd)
            guard reason == EWOULDBLOCK else {
                throw SettingsError("cannot lock \(path): \(String(cString: strerror(reason)))")
            }
            let who = holder.map { "pid \($0)" } ?? "a process that has not written its pid yet"
            let stop = holder.map { " (Ctrl-C in its terminal, or `kill -INT \($0)`)" } ?? ""
            throw SettingsError(
                "the state directory \(directory.path) is in use by another opsctl up (\(who)); stop that one first"
                    + "\(stop), or pass another --state-dir")
        }
        let text = "\(getpid())\n"
        guard ftruncate(fd, 0) == 0, pwrite(fd, text, text.utf8.count, 0) == text.utf8.count else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw SettingsError("cannot write the lock file \(path): \(message)")
        }
        return StateDirectoryLock(descriptor: fd)
    }

    /// The pid written by the holder, when it wrote one.
    private static func holderPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Releases the lock (also done by the kernel when the process ends).
    func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
