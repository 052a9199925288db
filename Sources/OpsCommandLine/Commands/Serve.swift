import APITypes
import Foundation
import Workers

enum ServeCommand {
    static func run(_ settings: Settings) async throws -> Int32 {
        let options = try settings.controlPlaneOptions()
        Output.note("control plane \(opsVersion): \(options)")
        let server = Task {
            try await ControlPlaneHooks.runControlPlane(options) { url in Output.note("listening on \(url)") }
        }
        // A clean stop takes at most ~5 s (in-flight requests); anything longer is a stage that did not listen.
        let signals = TerminationSignals(exitAfterSeconds: 15) { number in
            Output.note("got signal \(number); stopping the control plane")
            server.cancel()
            signal(number, SIG_DFL)
        }
        defer { signals.cancel() }
        do {
            try await server.value
        } catch is CancellationError {
            // Clean stop.
        }
        return 0
    }
}
