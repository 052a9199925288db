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

    /// The control plane refuses what the request holds, for good: 400 or 422 (invalid), or a 409 conflict that
    /// is not a stale attempt (an artifact registered again with other content). Sending it again cannot help.
    public var isRefusedContent: Bool {
        guard case .rejected(_, let status, let body) = self else { return false }
        switch status {
        case 400, 422: return true
        case 409: return body?.error.code == .conflict
        default: return false
        }
    }

    /// What the control plane said (its error message), else this error's description.
    public var message: String {
        if case .rejected(_, _, let body?) = self { return body.error.message }
        return description
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
