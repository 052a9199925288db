// Issue 17: a real Prometheus (Debian's `prometheus`, installed by scripts/install-test-deps.sh) scrapes a running
// control plane every second with a viewer token, after a job ran through it, and the series are queried back
// through Prometheus' HTTP API (`/api/v1/query`). This is the check that the exposition is what Prometheus
// itself parses (OpenMetrics, which it asks for first), not only what our own parser accepts.

import APIClient
import APITypes
import Foundation
import HTTPClient
import Spawn
import TestSupport
import XCTest

final class PrometheusScrapeTests: XCTestCase {
    static let executable = "/usr/bin/prometheus"

    func testPrometheusScrapesTheControlPlaneAndAnswersQueries() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw XCTSkip("\(Self.executable) is missing: run scripts/install-test-deps.sh (Debian package prometheus)")
        }
        let cluster = try InProcessCluster()
        let prometheus = PrometheusProcess()
        do {
            cluster.startWorker(name: "w1")
            _ = try await cluster.admin.submit([InProcessCluster.sleepJob("scraped", seconds: 0.1)])
            try await waitUntil("the job succeeded", timeoutSeconds: 30) {
                try await cluster.admin.job("scraped").state == .succeeded
            }
            let viewer = try await cluster.admin.createToken(CreateTokenRequest(name: "prometheus", scope: .viewer))
            try prometheus.start(target: cluster.plane.baseURL, bearerToken: viewer.secret)

            // Prometheus scrapes every second; the series appear after its first scrape.
            let up = try prometheus.waitForValue(#"up{job="llmops"}"#)
            XCTAssertEqual(up, 1, "the scrape failed: \(prometheus.targetHealth())")
            XCTAssertEqual(try prometheus.waitForValue(#"llmops_jobs{state="succeeded",queue="default"}"#), 1)
            XCTAssertEqual(try prometheus.waitForValue("llmops_task_claims_total"), 1)
            XCTAssertEqual(try prometheus.waitForValue(#"llmops_workers{state="alive"}"#), 1)
            let polls = try prometheus.waitForValue(
                #"sum(llmops_http_request_duration_seconds_count{route="/v1/worker/poll"})"#)
            XCTAssertGreaterThanOrEqual(polls, 1)
            // Prometheus read the buckets as one histogram: its +Inf bucket is the count, from the same scrape.
            let infMinusCount = try prometheus.waitForValue(
                #"sum(llmops_http_request_duration_seconds_bucket{route="/v1/worker/poll",le="+Inf"}) - sum(llmops_http_request_duration_seconds_count{route="/v1/worker/poll"})"#
            )
            XCTAssertEqual(infMinusCount, 0)
            // Reported, not asserted: what one scrape costs as Prometheus measures it.
            let samples = try prometheus.waitForValue(#"scrape_samples_scraped{job="llmops"}"#)
            let seconds = try prometheus.waitForValue(#"scrape_duration_seconds{job="llmops"}"#)
            print("prometheus scrape of the control plane: \(Int(samples)) samples in \(seconds * 1000) ms")
        } catch {
            prometheus.stop()
            await cluster.shutdown()
            throw error
        }
        prometheus.stop()
        await cluster.shutdown()
    }
}

/// One Prometheus server on 127.0.0.1 with a generated configuration and its TSDB in a temporary directory.
private final class PrometheusProcess: @unchecked Sendable {
    private let directory: TemporaryDirectory
    private var process: SpawnedChild?
    private var port = 0
    private let http = HTTPClient()

    init() { directory = try! TemporaryDirectory.make(prefix: "llmops-prometheus-") }

    func start(target baseURL: String, bearerToken: String) throws {
        port = try FreePort.next()
        let tokenFile = directory.path + "/token"
        try bearerToken.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let host = try XCTUnwrap(
            URL(string: baseURL).flatMap { url in url.port.map { "\(url.host ?? "127.0.0.1"):\($0)" } })
        let configuration = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: llmops
                metrics_path: /metrics
                authorization:
                  type: Bearer
                  credentials_file: \(tokenFile)
                static_configs:
                  - targets: ["\(host)"]
            """
        try configuration.write(toFile: directory.path + "/prometheus.yml", atomically: true, encoding: .utf8)
        process = try SpawnedChild.start(
            ChildSpec(
                executable: PrometheusScrapeTests.executable,
                arguments: [
                    "--config.file=\(directory.path)/prometheus.yml", "--storage.tsdb.path=\(directory.path)/data",
                    "--web.listen-address=127.0.0.1:\(port)",
                ],
                output: .file(path: directory.path + "/prometheus.log")))
    }

    /// The value of the first series `query` returns, once it returns one (within 30 s).
    func waitForValue(_ query: String) throws -> Double {
        var value: Double?
        do {
            try waitUntil("Prometheus answers \(query)", timeoutSeconds: 30, intervalSeconds: 0.5) {
                value = try self.query(query)
                return value != nil
            }
        } catch {
            throw PrometheusTestFailure("\(error); targets: \(targetHealth()); log: \(logTail())")
        }
        return value!
    }

    /// `/api/v1/query`: the first sample's value, or nil while the result is empty (or the server not up yet).
    func query(_ promQL: String) throws -> Double? {
        let encoded = promQL.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? promQL
        guard
            let response = try? http.send(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/query?query=\(encoded)", timeoutSeconds: 5)),
            response.status == 200
        else { return nil }
        let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        guard json?["status"] as? String == "success", let data = json?["data"] as? [String: Any],
            let result = data["result"] as? [[String: Any]], let first = result.first,
            let sample = first["value"] as? [Any], sample.count == 2, let text = sample[1] as? String
        else { return nil }
        return Double(text)
    }

    /// What Prometheus says of its target (last error, health), for failure messages.
    func targetHealth() -> String {
        guard
            let response = try? http.send(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/targets", timeoutSeconds: 5))
        else { return "<no answer>" }
        return response.text
    }

    private func logTail() -> String {
        let text = (try? String(contentsOfFile: directory.path + "/prometheus.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(20).joined(separator: "\n")
    }

    func stop() {
        if let process, process.signal(SIGTERM) { _ = try? process.waitForExit() }
        process = nil
        directory.remove()
    }
}

private struct PrometheusTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
