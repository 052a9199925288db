import APITypes
import Foundation

/// Why a call to the control plane did not succeed. Decides whether the caller retries.
public enum ControlPlaneError: Error, CustomStringConvertible, Sendable {
    /// No HTTP response: connection refused, reset, DNS, timeout.
    case unreachable(url: String, reason: String)
    /// The server answered with a non-2xx status.
    case rejected(route: String, status: Int, body: APIErrorBody?)
    /// A 2xx response whose body is not what the API promises.
    case invalidResponse(route: String, reason: String)
    /// The request could not be built (e.g. a value failed to encode).
    case invalidRequest(route: String, reason: String)

    /// Transient: worth retrying with backoff (unreachable, 5xx, 408, 429).
    public var isRetryable: Bool {
        switch self {
        case .unreachable: return true
        case .rejected(_, let status, _): return status >= 500 || status == 408 || status == 429
        case .invalidResponse, .invalidRequest: return false
        }
    }

    /// 409 `stale_attempt`: the attempt is no longer live; drop its work.
    public var isStaleAttempt: Bool {
        if case .rejected(_, 409, let body) = self { return body?.error.code == .staleAttempt || body == nil }
        return false
    }

    /// The control plane does not know this worker (any more): register again.
    public var isUnknownWorker: Bool {
        if case .rejected(_, _, let body) = self { return body?.error.code == .unknownWorker }
        return false
    }

    public var status: Int? {
        if case .rejected(_, let status, _) = self { return status }
        return nil
    }

    public var description: String {
        switch self {
        case .unreachable(let url, let reason):
            return "control plane unreachable at \(url): \(reason) (check --server / OPS_SERVER)"
        case .rejected(let route, let status, let body):
            if let body { return "\(route): HTTP \(status) \(body)" }
            return "\(route): HTTP \(status)"
        case .invalidResponse(let route, let reason):
            return "\(route): unexpected response from the control plane: \(reason)"
        case .invalidRequest(let route, let reason):
            return "\(route): could not build the request: \(reason)"
        }
    }
}
