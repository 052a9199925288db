import APITypes
import Foundation

/// The sign-in form: one field, the API token, posted (never put in a URL) and kept by nothing but the
/// session row's hash of it.
enum LoginPage {
    static func render(problem: String? = nil) -> HTML {
        let alert =
            problem.map { text -> HTML in "<p class=\"error\" role=\"alert\" id=\"login-problem\">\(text)</p>" }
            ?? .empty
        return DashboardLayout.page(
            title: "Sign in", session: nil, section: nil,
            body: """
                \(alert)
                <form id="login" method="post" action="\(APIRoute.dashboardLogin.path())">
                <label for="token">API token</label>
                <input id="token" name="token" type="password" autocomplete="off" required spellcheck="false" aria-describedby="token-help"\(problem == nil ? HTML.empty : " aria-invalid=\"true\"")>
                <p id="token-help" class="help">An operator token: <code>opsctl token create NAME --scope viewer</code> makes one that can look; cancelling a job needs scope submitter or admin.</p>
                <button type="submit">Sign in</button>
                </form>
                """)
    }
}
