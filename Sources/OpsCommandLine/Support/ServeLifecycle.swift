// What `opsctl serve` tells its service manager and takes from it besides SIGTERM: READY=1 once the database is
// reachable (migrations applied) and the listener is up, WATCHDOG=1 at half the unit's WatchdogSec, STOPPING=1
// when a stop begins; SIGHUP reloads the TLS certificate (docs/deploy.md, "systemd" and "TLS").

import Control
import Dispatch
import Foundation
import Primitives

final class ServeLifecycle: Sendable {
    private let notifier: SystemdNotifier?
    private let environment: [String: String]
    private let hangup = Locked<HangupSignal?>(nil)
    private let watchdog = Locked<(any DispatchSourceTimer)?>(nil)

    init(environment: [String: String]) {
        self.environment = environment
        notifier = SystemdNotifier(environment: environment)
    }

    /// The control plane serves: reload on SIGHUP, tell systemd it is ready, keep its watchdog fed.
    func started(_ controlPlane: ControlPlane) {
        hangup.withLock { $0 = HangupSignal { Self.reload(controlPlane) } }
        notify(SystemdNotifier.ready)
        guard notifier != nil, let interval = SystemdNotifier.watchdogIntervalSeconds(environment: environment) else {
            return
        }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "opsctl.watchdog"))
        // Half the interval, as sd_watchdog_enabled(3) advises: one late tick does not get the service killed.
        timer.schedule(deadline: .now(), repeating: interval / 2)
        timer.setEventHandler { [weak self] in self?.notify(SystemdNotifier.watchdog) }
        timer.resume()
        watchdog.withLock { $0 = timer }
    }

    /// A stop began (SIGTERM/SIGINT).
    func stopping() {
        hangup.withLock {
            $0?.cancel()
            $0 = nil
        }
        watchdog.withLock {
            $0?.cancel()
            $0 = nil
        }
        notify(SystemdNotifier.stopping)
    }

    private func notify(_ state: String) {
        guard let notifier else { return }
        do { try notifier.send(state) } catch { Output.note("\(error)") }
    }

    private static func reload(_ controlPlane: ControlPlane) {
        guard let tls = controlPlane.configuration.tls else {
            Output.note("got SIGHUP: serving plain HTTP, no certificate to reload")
            return
        }
        do {
            try controlPlane.reloadTLSCertificate()
            Output.note("got SIGHUP: reloaded the TLS certificate \(tls.certificateFile)")
        } catch {
            Output.note("got SIGHUP: \(error)")
        }
    }
}
