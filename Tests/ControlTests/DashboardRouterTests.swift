import APITypes
import ClusterModel
import Foundation
import HTTPServer
import Postgres
import XCTest

@testable import Control

/// The dashboard through the control plane's router (docs/dashboard.md): sign-in with a token into an HttpOnly,
/// SameSite=Strict session cookie; CSRF on every state-changing form; a viewer looks but cannot cancel; a
/// revoked token ends its sessions; every value escaped; a chart with one point per metric row, and the poll
/// that brings the next ones.
final class DashboardRouterTests: InProcessRouterTestCase {
    private func send(
        _ method: String, _ path: String, cookie: String? = nil, form: [(String, String)]? = nil,
        headers extra: HTTPHeaders = [:], query: [HTTPQueryItem] = [], bearer: String? = nil, json: Data? = nil
    ) -> HTTPResponse {
        var headers = extra
        if let cookie { headers["Cookie"] = cookie }
        if let bearer { headers["Authorization"] = "Bearer \(bearer)" }
        var body = Data()
        if let form {
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = Data(form.map { "\(APIRoute.escape($0.0))=\(APIRoute.escape($0.1))" }.joined(separator: "&").utf8)
        }
        if let json { body = json }
        return router.handle(HTTPRequest(method: method, path: path, queryItems: query, headers: headers, body: body))
    }

    private func text(_ response: HTTPResponse) -> String { String(decoding: response.bodyBytes, as: UTF8.self) }

    /// Signs in with `token`: the `Cookie` header value of the new session.
    private func signIn(_ token: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let response = send("POST", "/login", form: [("token", token)])
        XCTAssertEqual(response.status, 303, text(response), file: file, line: line)
        let setCookie = try XCTUnwrap(response.headers["Set-Cookie"], file: file, line: line)
        return String(try XCTUnwrap(setCookie.split(separator: ";").first, file: file, line: line))
    }

    /// The CSRF token a signed-in page carries in its forms.
    private func csrf(_ page: HTTPResponse) throws -> String {
        let html = text(page)
        let marker = "name=\"csrf\" value=\""
        let start = try XCTUnwrap(html.range(of: marker), "no CSRF field in the page").upperBound
        return String(html[start...].prefix(64))
    }

    private func sessionCount() throws -> Int { try sqlInt("SELECT count(*) FROM dashboard_sessions") }

    func testSignInSetsAnHttpOnlyStrictCookieAndAWrongTokenSetsNothing() throws {
        let anonymous = send("GET", "/")
        XCTAssertEqual(anonymous.status, 303)
        XCTAssertEqual(anonymous.headers["Location"], "/login")
        let form = send("GET", "/login")
        XCTAssertEqual(form.status, 200)
        XCTAssertTrue(text(form).contains("<label for=\"token\">API token</label>"), text(form))

        for wrong in ["wrong", "join", "ops_" + String(repeating: "0", count: 64)] {
            let refused = send("POST", "/login", form: [("token", wrong)])
            XCTAssertEqual(refused.status, 401, wrong)
            XCTAssertNil(refused.headers["Set-Cookie"], wrong)
            XCTAssertTrue(text(refused).contains("not an operator token"), text(refused))
        }
        XCTAssertEqual(try sessionCount(), 0, "a refused sign-in stores nothing")
        XCTAssertEqual(send("POST", "/login", form: [("token", "")]).status, 400)

        let signedIn = send("POST", "/login", form: [("token", adminToken)])
        XCTAssertEqual(signedIn.status, 303)
        XCTAssertEqual(signedIn.headers["Location"], "/")
        let setCookie = try XCTUnwrap(signedIn.headers["Set-Cookie"])
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
            XCTAssertTrue(setCookie.contains(attribute), setCookie)
        }
        let cookie = String(setCookie.split(separator: ";")[0])
        let id = String(cookie.dropFirst("ops_session=".count))
        XCTAssertEqual(id.count, 64)
        XCTAssertEqual(try sessionCount(), 1)
        XCTAssertEqual(
            try sqlInt("SELECT count(*) FROM dashboard_sessions WHERE session_sha256 = $1", [.text(id)]), 0,
            "the row keeps the id's hash, not the id")

        let page = send("GET", "/", cookie: cookie)
        XCTAssertEqual(page.status, 200, text(page))
        XCTAssertEqual(page.headers["Content-Type"], "text/html; charset=utf-8")
        XCTAssertTrue(page.headers["Content-Security-Policy"]?.contains("script-src 'self'") == true)
        XCTAssertEqual(page.headers["X-Frame-Options"], "DENY")
        XCTAssertEqual(page.headers["Referrer-Policy"], "same-origin", "the page's own forms carry its Origin")
        XCTAssertTrue(text(page).contains("signed in as admin"), text(page))
        XCTAssertFalse(text(page).contains(adminToken + "\""), "the token is never in a page")

        // A cookie that is not a session of this dashboard is no session.
        XCTAssertEqual(send("GET", "/", cookie: "ops_session=" + String(repeating: "a", count: 64)).status, 303)

        // Signing out needs the CSRF token too, and ends the session.
        XCTAssertEqual(send("POST", "/logout", cookie: cookie).status, 403)
        let out = send("POST", "/logout", cookie: cookie, form: [("csrf", try csrf(page))])
        XCTAssertEqual(out.status, 303)
        XCTAssertTrue(out.headers["Set-Cookie"]?.contains("Max-Age=0") == true)
        XCTAssertEqual(try sessionCount(), 0)
        XCTAssertEqual(send("GET", "/", cookie: cookie).status, 303)
        XCTAssertEqual(send("GET", "/jobs/x/live", cookie: cookie).status, 401, "the poll is told, not redirected")
    }

    func testCancelNeedsThisSessionsCSRFTokenAndNothingChangesWithout() throws {
        let job = try jobs.submit(NewJob(name: "train-a", type: "t")).id
        let cookie = try signIn(adminToken)
        let page = send("GET", "/jobs/train-a", cookie: cookie)
        XCTAssertEqual(page.status, 200, text(page))
        XCTAssertTrue(text(page).contains("Cancel job train-a"), text(page))
        let token = try csrf(page)
        let other = try csrf(send("GET", "/", cookie: try signIn(adminToken)))
        XCTAssertNotEqual(token, other, "each session has its own CSRF token")

        let refusals: [(String, HTTPResponse)] = [
            ("no token", send("POST", "/jobs/train-a/cancel", cookie: cookie)),
            ("empty token", send("POST", "/jobs/train-a/cancel", cookie: cookie, form: [("csrf", "")])),
            ("another session's", send("POST", "/jobs/train-a/cancel", cookie: cookie, form: [("csrf", other)])),
            (
                "another site's form",
                send(
                    "POST", "/jobs/train-a/cancel", cookie: cookie, form: [("csrf", token)],
                    headers: ["Origin": "https://evil.example", "Host": "127.0.0.1:7070"])
            ),
            (
                "an opaque origin",
                send(
                    "POST", "/jobs/train-a/cancel", cookie: cookie, form: [("csrf", token)],
                    headers: ["Origin": "null", "Host": "127.0.0.1:7070"])
            ),
            ("no session", send("POST", "/jobs/train-a/cancel", form: [("csrf", token)])),
        ]
        for (label, response) in refusals {
            XCTAssertTrue([401, 403].contains(response.status), "\(label): \(response.status) \(text(response))")
            let record = try XCTUnwrap(try jobs.job(job))
            XCTAssertFalse(record.cancelRequested, label)
            XCTAssertEqual(record.state, .pending, label)
        }
        XCTAssertTrue(text(refusals[0].1).contains("CSRF"), text(refusals[0].1))

        let cancelled = send(
            "POST", "/jobs/train-a/cancel", cookie: cookie, form: [("csrf", token)],
            headers: ["Origin": "http://127.0.0.1:7070", "Host": "127.0.0.1:7070"])
        XCTAssertEqual(cancelled.status, 303, text(cancelled))
        XCTAssertEqual(cancelled.headers["Location"], "/jobs/train-a")
        XCTAssertEqual(try jobs.job(job)?.state, .cancelled)
        XCTAssertEqual(
            try sqlString(
                "SELECT actor FROM events WHERE job_id = $1 AND new_state = 'cancelled' LIMIT 1", [.int(job.rawValue)]),
            "admin", "the event names who cancelled")
    }

    func testAViewerLooksButCannotCancelAndRevokingItsTokenEndsTheSession() throws {
        let job = try jobs.submit(NewJob(name: "train-b", type: "t")).id
        let created = send(
            "POST", "/v1/tokens", bearer: adminToken,
            json: try WireCoding.encode(CreateTokenRequest(name: "looker", scope: .viewer)))
        XCTAssertEqual(created.status, 201, text(created))
        let secret = try WireCoding.decode(CreatedTokenResponse.self, from: created.bodyBytes).secret
        let cookie = try signIn(secret)
        let page = send("GET", "/jobs/train-b", cookie: cookie)
        XCTAssertEqual(page.status, 200, text(page))
        XCTAssertTrue(text(page).contains("signed in as looker"))

        let refused = send("POST", "/jobs/train-b/cancel", cookie: cookie, form: [("csrf", try csrf(page))])
        XCTAssertEqual(refused.status, 403, text(refused))
        XCTAssertTrue(text(refused).contains("scope submitter"), text(refused))
        XCTAssertFalse(try XCTUnwrap(try jobs.job(job)).cancelRequested)

        XCTAssertEqual(send("DELETE", "/v1/tokens/looker", bearer: adminToken).status, 200)
        XCTAssertEqual(send("GET", "/jobs/train-b", cookie: cookie).status, 303, "a revoked token's session ends")
        XCTAssertEqual(send("POST", "/login", form: [("token", secret)]).status, 401)
    }

    func testEveryValueIsEscaped() throws {
        let hostile = "<script>alert(1)</script>"
        let name = "<script>alert(1)"
        let job = try jobs.submit(NewJob(name: name, type: "t")).id
        let w = try workers.register(
            name: "w-escape", resources: Resources(cpuMillis: 8000, memoryBytes: 8 << 30),
            labels: ["zone": "<img src=x onerror=alert(2)>"])
        let lease = try XCTUnwrap(try leases.claimNext(for: w).first)
        XCTAssertEqual(lease.job, job)
        _ = try TaskLogStore(pool: pool).append(attempt: lease.attempt, lines: [LogLine(seq: 1, line: hostile)])
        _ = try MetricStore(pool: pool).append(
            attempt: lease.attempt, points: [MetricPoint(name: "loss", step: 1, value: 2)])
        let cookie = try signIn(adminToken)
        let pages = [
            send("GET", "/", cookie: cookie), send("GET", "/jobs/\(name)", cookie: cookie),
            send("GET", "/workers", cookie: cookie), send("GET", "/jobs/<b>nosuch", cookie: cookie),
        ]
        XCTAssertEqual(pages.map(\.status), [200, 200, 200, 404])
        for page in pages {
            let html = text(page)
            XCTAssertFalse(html.contains("<script>alert"), html)
            XCTAssertFalse(html.contains("<img src=x"), html)
            XCTAssertFalse(html.contains("<b>nosuch"), html)
        }
        XCTAssertTrue(text(pages[0]).contains("&lt;script&gt;alert(1)"), text(pages[0]))
        XCTAssertTrue(text(pages[1]).contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the log line")
        XCTAssertTrue(text(pages[2]).contains("&lt;img src=x onerror=alert(2)&gt;"), text(pages[2]))
        XCTAssertTrue(text(pages[3]).contains("&lt;b&gt;nosuch"), text(pages[3]))
        let live = send("GET", "/jobs/\(name)/live", cookie: cookie)
        XCTAssertEqual(live.status, 200)
        XCTAssertEqual(live.headers["Content-Type"], "application/json")
    }

    /// The two facts the first pages lacked: a worker's shard cache, and the jobs that read a dataset (not
    /// the one that made it), from the manifests as they are stored.
    func testWorkersShowTheirShardCacheAndADatasetItsReaders() throws {
        let cached = (0..<25).map { "https://blobs.example/corpus/shard-\($0).bin" }
        _ = try WorkerStore(pool: pool).heartbeat(try worker("cache-w"), cachedShards: cached)
        let manifests = try ManifestParser.parse(
            text: """
                apiVersion: llmops/v1
                kind: Job
                metadata: {name: make-corpus}
                spec:
                  type: tokenize
                  tokenize: {inputs: [/data/a.txt], output: {dataset: corpus}, tokenizer: {dataset: base}}
                ---
                apiVersion: llmops/v1
                kind: Job
                metadata: {name: read-corpus}
                spec:
                  type: train
                  train:
                    model: {vocabularySize: 256, contextLength: 16, layers: 1, heads: 1, width: 16}
                    data: [{dataset: other}, {dataset: corpus}]
                    batchSize: 2
                    sequenceLength: 16
                    steps: 2
                ---
                apiVersion: llmops/v1
                kind: Job
                metadata: {name: read-other}
                spec:
                  type: train
                  train:
                    model: {vocabularySize: 256, contextLength: 16, layers: 1, heads: 1, width: 16}
                    data: [{dataset: other}]
                    batchSize: 2
                    sequenceLength: 16
                    steps: 2
                """, fileName: "readers.yaml")
        for manifest in manifests {
            let spec = String(decoding: try WireCoding.encode(manifest), as: UTF8.self)
            _ = try jobs.submit(NewJob(name: manifest.name, type: manifest.spec.type, spec: spec))
        }
        _ = try DatasetStore(pool: pool).register(name: "corpus", location: "/data/corpus", format: "megatron")
        let cookie = try signIn(adminToken)

        let workers = text(send("GET", "/workers", cookie: cookie))
        XCTAssertTrue(workers.contains("<summary>25 shard files</summary>"), workers)
        XCTAssertTrue(workers.contains("<code>shard-0.bin</code>"))
        XCTAssertTrue(workers.contains("and 5 more"), "a cache of 25 lists 20 files")

        let page = text(send("GET", "/datasets/corpus", cookie: cookie))
        let readers = try XCTUnwrap(
            page.range(of: "<dd id=\"readers\">").map { String(page[$0.upperBound...].prefix(400)) })
        XCTAssertTrue(readers.contains(">read-corpus</a>"), readers)
        XCTAssertFalse(readers.contains("make-corpus"), "the job that makes a dataset is not its reader: \(readers)")
        XCTAssertFalse(readers.contains("read-other"), readers)
        XCTAssertTrue(text(send("GET", "/datasets/corpus", cookie: cookie)).contains("state-pending"))
    }

    /// Over HTTPS the cookie is Secure; this plain-HTTP control plane's is not (a browser would drop it).
    func testTheCookieIsSecureExactlyWhenTheControlPlaneServesHTTPS() throws {
        XCTAssertTrue(DashboardSessions.cookie(value: "x", maxAgeSeconds: 1, secure: true).hasSuffix("; Secure"))
        let plain = try signIn(adminToken)
        XCTAssertFalse(DashboardSessions(services: services).cookiesAreSecure)
        let response = send("POST", "/login", form: [("token", adminToken)])
        XCTAssertFalse(try XCTUnwrap(response.headers["Set-Cookie"]).contains("Secure"), plain)
    }

    func testTheChartHasAPointPerMetricRowAndThePollBringsTheNextOnes() throws {
        _ = try jobs.submit(NewJob(name: "train-c", type: "t"))
        let lease = try XCTUnwrap(try leases.claimNext(for: try worker()).first)
        let metrics = MetricStore(pool: pool)
        let steps = 1...37
        _ = try metrics.append(
            attempt: lease.attempt,
            points: steps.flatMap {
                [
                    MetricPoint(name: "loss", step: Int64($0), value: 5 / Double($0)),
                    MetricPoint(name: "lr", step: Int64($0), value: 0.003),
                ]
            })
        _ = try metrics.append(attempt: lease.attempt, points: [MetricPoint(name: "val_loss", step: 20, value: 2.5)])
        try age("metrics")
        let cookie = try signIn(adminToken)
        let page = text(send("GET", "/jobs/train-c", cookie: cookie))
        XCTAssertEqual(try polylinePoints(page, metric: "loss"), 37)
        XCTAssertEqual(try polylinePoints(page, metric: "lr"), 37, "a flat series is drawn too")
        XCTAssertEqual(try polylinePoints(page, metric: "val_loss"), 1)
        let order = ["loss", "val_loss", "lr"].map { page.range(of: "data-metric=\"\($0)\"")!.lowerBound }
        XCTAssertEqual(order, order.sorted(), "loss, val_loss, lr: the training metrics in their order")
        XCTAssertTrue(page.contains("loss: 37 points, steps 1 to 37"), "the chart's text alternative")
        XCTAssertEqual(page.components(separatedBy: " data-step=").count - 1, 75, "the table of points")

        let after = try XCTUnwrap(attribute("data-metrics-after", in: page))
        _ = try metrics.append(
            attempt: lease.attempt, points: (38...42).map { MetricPoint(name: "loss", step: Int64($0), value: 0.1) })
        _ = try TaskLogStore(pool: pool).append(attempt: lease.attempt, lines: [LogLine(seq: 1, line: "step 42")])
        let live = send(
            "GET", "/jobs/train-c/live", cookie: cookie,
            query: [HTTPQueryItem(name: "metricsAfter", value: after), HTTPQueryItem(name: "logsAfter", value: "0")])
        XCTAssertEqual(live.status, 200, text(live))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: live.bodyBytes) as? [String: Any])
        XCTAssertEqual((json["points"] as? [[String: Any]])?.compactMap { $0["step"] as? Int }, Array(38...42))
        XCTAssertEqual((json["lines"] as? [[String: Any]])?.count, 1)
        XCTAssertEqual(json["state"] as? String, "running")
        // Rows written moments ago may still have neighbours with lower ids uncommitted (`SettledCursor`): the
        // cursor stays, so the next poll sends them again, until they are older than the settle window.
        XCTAssertEqual(json["metricsAfter"] as? Int, Int(after))
        try age("metrics")
        let settled = send(
            "GET", "/jobs/train-c/live", cookie: cookie,
            query: [HTTPQueryItem(name: "metricsAfter", value: after), HTTPQueryItem(name: "logsAfter", value: "0")])
        let again = try XCTUnwrap(try JSONSerialization.jsonObject(with: settled.bodyBytes) as? [String: Any])
        XCTAssertEqual((again["points"] as? [[String: Any]])?.compactMap { $0["step"] as? Int }, Array(38...42))
        XCTAssertEqual(again["metricsAfter"] as? Int, (again["points"] as? [[String: Any]])?.last?["id"] as? Int)
        let bad = send(
            "GET", "/jobs/train-c/live", cookie: cookie, query: [HTTPQueryItem(name: "metricsAfter", value: "x")])
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(text(bad).contains("metricsAfter"), text(bad))
        XCTAssertEqual(send("GET", "/assets/dashboard.js").status, 200)
        XCTAssertEqual(send("GET", "/assets/nosuch.js").status, 404)
    }

    /// Moves the rows of `table` out of the settle window, as if written a minute ago.
    private func age(_ table: String) throws {
        try pool.withConnection { _ = try $0.execute("UPDATE \(table) SET at = at - interval '1 minute'") }
    }

    /// The number of `x,y` pairs of the chart of `metric`.
    private func polylinePoints(_ page: String, metric: String) throws -> Int {
        let figure = try XCTUnwrap(page.range(of: "<figure class=\"chart\" data-metric=\"\(metric)\""), metric)
        let rest = page[figure.upperBound...]
        let start = try XCTUnwrap(rest.range(of: "<polyline")).upperBound
        let points = try XCTUnwrap(attribute("points", in: String(rest[start...])))
        return points.split(separator: " ").count
    }

    private func attribute(_ name: String, in html: String) -> String? {
        guard let start = html.range(of: " \(name)=\"")?.upperBound else { return nil }
        return String(html[start...].prefix { $0 != "\"" })
    }
}

/// The pure parts: escaping, progress and ETA.
final class DashboardRenderingTests: XCTestCase {
    func testInterpolatedTextIsEscapedAndMarkupIsNot() {
        let value = "<a href=\"x\" onclick='y'>&</a>"
        let fragment: HTML = "<td>\(value)</td>"
        XCTAssertEqual(fragment.text, "<td>&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;</td>")
        let nested: HTML = "<tr>\(fragment)</tr>"
        XCTAssertEqual(nested.text, "<tr>" + fragment.text + "</tr>")
    }

    func testTheCursorMovesOnlyPastRowsOlderThanTheSettleWindow() {
        let now = Date()
        let old = now.addingTimeInterval(-SettledCursor.settleSeconds - 1)
        let rows: [(Int64, Date)] = [(4, old), (5, old), (7, now), (6, old)]
        XCTAssertEqual(SettledCursor.after(rows, previous: 3, now: now, id: \.0, at: \.1), 5)
        XCTAssertEqual(SettledCursor.after(Array(rows.suffix(2)), previous: 5, now: now, id: \.0, at: \.1), 5)
        XCTAssertEqual(SettledCursor.after([(Int64, Date)](), previous: 9, now: now, id: \.0, at: \.1), 9)
    }

    func testProgressCountsRunningTasksAndExtrapolatesTheETA() {
        let started = Date(timeIntervalSince1970: 1_000)
        let job = JobView(
            id: JobID(1), name: "j", type: "train", state: .running, queue: "default", priority: 0, replicas: 1,
            after: [], tasks: TaskCounts(blocked: 0, queued: 1, running: 1, succeeded: 2, failed: 0, cancelled: 0),
            pendingReason: nil, cancelRequested: false, submittedAt: started, startedAt: started, finishedAt: nil,
            failureMessage: nil, manifest: nil)
        let progress = JobProgress(job: job, runningTaskProgress: [0.5], now: started.addingTimeInterval(100))
        XCTAssertEqual(progress.fraction, 2.5 / 4, accuracy: 1e-9)
        XCTAssertEqual(progress.remainingSeconds ?? 0, 60, accuracy: 1e-9)
        XCTAssertEqual(progress.percentText, "62%")
        XCTAssertEqual(progress.etaText, "1m 00s")
        var pending = job
        pending.state = .pending
        XCTAssertNil(JobProgress(job: pending, runningTaskProgress: [], now: Date()).remainingSeconds)
        XCTAssertEqual(JobProgress.duration(3_725), "1h 02m")
    }
}
