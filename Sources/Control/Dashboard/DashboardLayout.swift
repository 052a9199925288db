import APITypes
import Foundation

/// The frame of every dashboard page: a skip link, the sections as a labelled navigation with the current one
/// marked for screen readers, who is signed in with the sign-out form, and the page's main landmark.
enum DashboardLayout {
    enum Section: String, CaseIterable {
        case jobs = "Jobs"
        case workers = "Workers"
        case queues = "Queues"
        case datasets = "Datasets"

        var path: String {
            switch self {
            case .jobs: APIRoute.dashboardJobs.path()
            case .workers: APIRoute.dashboardWorkers.path()
            case .queues: APIRoute.dashboardQueues.path()
            case .datasets: APIRoute.dashboardDatasets.path()
            }
        }
    }

    static func page(title: String, session: DashboardSession?, section: Section?, body: HTML) -> HTML {
        let links = Section.allCases.map { item -> HTML in
            item == section
                ? "<li><a href=\"\(item.path)\" aria-current=\"page\">\(item.rawValue)</a></li>"
                : "<li><a href=\"\(item.path)\">\(item.rawValue)</a></li>"
        }
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · llm-ops</title>
            <link rel="stylesheet" href="\(APIRoute.dashboardAsset.path("dashboard.css"))">
            <script src="\(APIRoute.dashboardAsset.path("dashboard.js"))" defer></script>
            </head>
            <body>
            <a class="skip" href="#main">Skip to content</a>
            <header>
            <span class="brand">llm-ops</span>
            \(session == nil ? HTML.empty : "<nav aria-label=\"Sections\"><ul>\(links)</ul></nav>")
            \(session.map(signedIn) ?? .empty)
            </header>
            <main id="main" tabindex="-1">
            <h1>\(title)</h1>
            \(body)
            </main>
            </body>
            </html>
            """
    }

    static func errorPage(status: Int, message: String) -> HTML {
        page(
            title: "Error \(status)", session: nil, section: nil,
            body: """
                <p class="error" role="alert">\(message)</p>
                <p><a href="\(APIRoute.dashboardJobs.path())">Back to the jobs</a> · <a href="\(APIRoute.dashboardLoginForm.path())">Sign in</a></p>
                """)
    }

    /// The hidden field every state-changing form carries.
    static func csrfField(_ session: DashboardSession) -> HTML {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(session.csrfToken)\">"
    }

    private static func signedIn(_ session: DashboardSession) -> HTML {
        """
        <form class="signout" method="post" action="\(APIRoute.dashboardLogout.path())">
        <span>signed in as \(session.principal.actorName ?? "?")</span>
        \(csrfField(session))
        <button type="submit">Sign out</button>
        </form>
        """
    }

    /// A UTC timestamp as `2026-12-06 04:15:02Z`, or `—`.
    static func time(_ date: Date?) -> String {
        guard let date else { return "—" }
        return date.ISO8601Format().replacingOccurrences(of: "T", with: " ")
    }

    /// `1.5 GiB`, `320 KiB`, `12 B`.
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(count)
        var unit = 0
        while abs(value) >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f", value) + " " + units[unit]
    }
}
