/// Why a request got no HTTP response. Every case names the URL; `isTransient` says whether retrying may help.
public enum HTTPClientError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Nothing listens there, or the connection was refused.
    case couldNotConnect(url: String, message: String)
    case couldNotResolveHost(url: String, message: String)
    /// The connect timeout or the whole-request timeout passed.
    case timedOut(url: String, message: String)
    case tls(url: String, message: String)
    /// The server's certificate does not chain to a trusted CA (or names another host): `caFile` is the CA file the
    /// client used, nil for the system's store.
    case certificateNotTrusted(url: String, message: String, caFile: String?)
    /// The connection broke while sending or receiving, or the server replied nothing.
    case connectionLost(url: String, message: String)
    case invalidURL(url: String, message: String)
    /// The download target could not be written.
    case fileError(url: String, path: String, message: String)
    /// The calling task was cancelled.
    case cancelled(url: String)
    /// Any other libcurl failure, with its code.
    case other(url: String, code: Int, message: String)

    public var url: String {
        switch self {
        case .couldNotConnect(let u, _), .couldNotResolveHost(let u, _), .timedOut(let u, _), .tls(let u, _),
            .certificateNotTrusted(let u, _, _),
            .connectionLost(let u, _), .invalidURL(let u, _), .fileError(let u, _, _), .cancelled(let u),
            .other(let u, _, _):
            return u
        }
    }

    /// Connect failures, timeouts and broken connections: the server may be back in a moment.
    public var isTransient: Bool {
        switch self {
        case .couldNotConnect, .timedOut, .connectionLost: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .couldNotConnect(let u, let m): return "could not connect to \(u): \(m) (is the server running?)"
        case .couldNotResolveHost(let u, let m): return "could not resolve the host of \(u): \(m)"
        case .timedOut(let u, let m): return "request to \(u) timed out: \(m)"
        case .tls(let u, let m): return "TLS error talking to \(u): \(m)"
        case .certificateNotTrusted(let u, let m, let caFile):
            let trusted = caFile.map { "the CA file \($0) does not" } ?? "the system's CA store does not"
            return
                "certificate not trusted: \(u) presented a certificate that \(trusted) vouch for (\(m)); pass "
                + "--ca-file (or OPS_CA_FILE) with the CA that signed the control plane's certificate"
        case .connectionLost(let u, let m): return "connection to \(u) was lost: \(m)"
        case .invalidURL(let u, let m): return "invalid URL \"\(u)\": \(m)"
        case .fileError(let u, let p, let m): return "could not write the download of \(u) to \(p): \(m)"
        case .cancelled(let u): return "request to \(u) was cancelled"
        case .other(let u, let c, let m): return "request to \(u) failed (curl error \(c)): \(m)"
        }
    }
}
