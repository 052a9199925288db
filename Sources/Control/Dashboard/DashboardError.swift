import Foundation

/// What the dashboard refuses before any handler runs its query or command.
enum DashboardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No cookie, an unknown or expired session, or a revoked token: the pages send the browser to sign in.
    case notSignedIn
    /// A state-changing form without the session's CSRF token (or with another's): nothing is changed.
    case csrfRejected
    /// A POST whose `Origin` is another site's: a form of that site posting here.
    case crossOrigin(String)
    case badForm(String)

    var status: Int {
        switch self {
        case .notSignedIn: 401
        case .csrfRejected, .crossOrigin: 403
        case .badForm: 400
        }
    }

    var description: String {
        switch self {
        case .notSignedIn:
            "you are not signed in (or your session expired, or its token was revoked); sign in at /login"
        case .csrfRejected:
            "the form's CSRF token is missing or is not this session's; nothing was changed. Reload the page and try again"
        case .crossOrigin(let origin):
            "a form from \(origin) may not post to this dashboard; nothing was changed"
        case .badForm(let problem): problem
        }
    }
}
