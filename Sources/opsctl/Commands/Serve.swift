import Foundation
import Workers

enum ServeCommand {
    static func run(_ settings: Settings) async throws -> Int32 {
        let options = try settings.controlPlaneOptions()
        Output.note("control plane \(opsVersion): \(options)")
        let server = Task {
            try await ControlPlaneHooks.runControlPlane(options) { url in Output.note("listening on \(url)") }
        }
        let signals = TerminationSignals { number in
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
