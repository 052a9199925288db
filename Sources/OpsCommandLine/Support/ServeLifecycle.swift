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
    /// Set once the control plane serves; a SIGHUP before that has nothing to reload.
    private let controlPlane = Locked<ControlPlane?>(nil)
    private let hangup = Locked<HangupSignal?>(nil)
    private let watchdog = Locked<(any DispatchSourceTimer)?>(nil)

    /// Takes SIGHUP from the start: its default action would end the process, and systemd counts a SIGHUP exit as
    /// clean, so `Restart=on-failure` would not bring it back.
    init(environment: [String: String]) {
        self.environment = environment
        notifier = SystemdNotifier(environment: environment)
        let controlPlane = self.controlPlane
        hangup.withLock {
            $0 = HangupSignal {
                guard let started = controlPlane.current else {
                    Output.note("got SIGHUP while starting; the certificate is read when the control plane starts")
                    return
                }
                Self.reload(started)
            }
        }
    }

    /// The control plane serves: SIGHUP reloads its certificate; tell systemd it is ready, keep its watchdog fed.
    func started(_ controlPlane: ControlPlane) {
        self.controlPlane.withLock { $0 = controlPlane }
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
