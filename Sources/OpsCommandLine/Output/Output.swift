import APIClient
import APITypes
import Foundation

enum Output {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("opsctl: error: \(message)\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("opsctl: \(message)\n".utf8))
    }

    /// Pretty JSON with the wire coders (what `-o json` prints).
    static func printJSON<T: Encodable>(_ value: T) throws {
        let data = try WireCoding.encoder(pretty: true).encode(value)
        print(String(decoding: data, as: UTF8.self))
    }

    /// A control-plane error in words a user can act on; `serverURL` names the control plane that answered.
    static func explain(_ error: ControlPlaneError, serverURL: String? = nil) -> String {
        switch error {
        case .rejected(_, _, let body?) where body.error.code == .databaseUnavailable:
            // The control plane is up and its own store calls fail fast (3 s): the fix is on the database's side.
            let cause = body.error.details?.joined(separator: "; ") ?? body.error.message
            return "the control plane at \(serverURL ?? "--server") cannot reach its database (\(cause)); "
                + "check PostgreSQL"
        case .rejected(let route, 401, let body)
        where APIRoute.workerProtocol.contains(where: { route == $0.description }):
            return (body?.error.message ?? "unauthorized")
                + " — set OPS_JOIN_TOKEN or OPS_JOIN_TOKEN_FILE (or --join-token-file) to the cluster's join token"
        case .rejected(_, 401, let body):
            return (body?.error.message ?? "unauthorized")
                + " — set OPS_TOKEN or OPS_TOKEN_FILE (or --token-file) to the admin token or a named token"
        case .rejected(_, 403, let body):
            // The server's message names the scope or the queue the call needs (docs/security.md).
            return body?.error.message ?? "forbidden: this needs the admin token"
        case .rejected(_, let status, let body?):
            var text = body.error.message
            if let details = body.error.details, !details.isEmpty { text += "\n  " + details.joined(separator: "\n  ") }
            return status == 404 ? text : "\(text) (HTTP \(status))"
        default:
            return error.description
        }
    }

    /// Pushes buffered standard output out now: when stdout is a pipe or file it is block-buffered, and
    /// progress displays, `logs -f` and `up` must show up as they happen.
    static func flush() { fflush(nil) }

    static var isTerminal: Bool { isatty(STDOUT_FILENO) != 0 }
}
