import Foundation
import HTTPServer

/// The responses of the dashboard, each with its security headers (docs/dashboard.md, "Security"): scripts and
/// styles only from this origin (no inline script can run, so an escaped value that slipped through could not
/// either), no framing (clickjacking of the cancel button), no sniffing, no referrer to other sites, nothing
/// cached. `same-origin`, not `no-referrer`: under `no-referrer` Chromium sends `Origin: null` on the page's own
/// form posts, which the origin check (`DashboardSessions.requireSameOrigin`) must then refuse (the browser test
/// found it).
enum DashboardResponse {
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static func securityHeaders(contentType: String) -> HTTPHeaders {
        [
            "Content-Type": contentType, "Content-Security-Policy": contentSecurityPolicy, "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
        ]
    }

    static func page(_ html: HTML, status: Int = 200) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: securityHeaders(contentType: "text/html; charset=utf-8"),
            body: Data(html.text.utf8))
    }

    /// 303 See Other: after a form, the browser loads `location` with GET (a reload does not post again).
    static func redirect(to location: String, setCookie: String? = nil) -> HTTPResponse {
        var headers = securityHeaders(contentType: "text/plain; charset=utf-8")
        headers["Location"] = location
        if let setCookie { headers["Set-Cookie"] = setCookie }
        return HTTPResponse(status: 303, headers: headers, body: Data("see \(location)\n".utf8))
    }

    static func json(_ data: Data) -> HTTPResponse {
        HTTPResponse(status: 200, headers: securityHeaders(contentType: "application/json"), body: data)
    }

    static func asset(_ text: String, contentType: String) -> HTTPResponse {
        var headers = securityHeaders(contentType: contentType)
        // The assets are compiled into the binary: they change only with it, and a page load then costs one
        // request, not three.
        headers["Cache-Control"] = "public, max-age=3600"
        return HTTPResponse(status: 200, headers: headers, body: Data(text.utf8))
    }
}
