import Dispatch
import Foundation

/// Runs `handler` (on a private queue, one at a time) on every SIGHUP: the conventional "reload your files"
/// signal (`systemctl reload`, `kill -HUP`). Without it SIGHUP's default action would end the process.
final class HangupSignal: @unchecked Sendable { // the source is only touched by init and cancel
    private let source: DispatchSourceSignal

    init(_ handler: @escaping @Sendable () -> Void) {
        signal(SIGHUP, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "opsctl.sighup"))
        source.setEventHandler(handler: handler)
        source.resume()
    }

    func cancel() { source.cancel() }
}
