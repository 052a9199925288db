import Dispatch
import Foundation

/// Runs `handler` (on a private queue) when the process gets SIGINT or SIGTERM. The default action of both
/// signals is switched off so that the handler decides how to stop.
///
/// With `exitAfterSeconds`, a process whose clean stop has not finished by then exits anyway (status 128 + the
/// signal): a stop must never depend on every stage of start-up being interruptible. A replica blocked on a
/// database lock once ignored SIGTERM until it was killed; orchestrators send one SIGTERM, then SIGKILL after 30 s.
final class TerminationSignals: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "opsctl.signals")

    init(exitAfterSeconds: Double? = nil, _ handler: @escaping @Sendable (Int32) -> Void) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [queue] in
                handler(number)
                guard let exitAfterSeconds else { return }
                queue.asyncAfter(deadline: .now() + exitAfterSeconds) {
                    FileHandle.standardError.write(
                        Data("opsctl: did not stop within \(exitAfterSeconds) s of signal \(number); exiting\n".utf8))
                    exit(128 + number)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() { sources.forEach { $0.cancel() } }
}
