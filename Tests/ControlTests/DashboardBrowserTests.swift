import APITypes
import Foundation
import TestSupport
import XCTest

/// The dashboard in a real browser (issue 17; docs/dashboard.md): headless Chromium driven by Selenium
/// (`scripts/dashboard_browser.py`) against `opsctl serve` and two `opsctl worker` processes running the sample
/// pipeline (smaller, as in SamplePipelineTests). The script signs in through the form, watches the train job's
/// page draw its points live, checks every page's DOM against the API (job names and states, one chart point per
/// metric row) and saves a screenshot of each page that must not be blank. With `OPS_DASHBOARD_SCREENSHOTS=DIR`
/// the screenshots are copied there (docs/dashboard/ holds the ones of the sample pipeline).
final class DashboardBrowserTests: XCTestCase {
    private var cluster: ProcessCluster!

    override func setUpWithError() throws {
        for (path, package) in [
            ("/usr/bin/chromium", "chromium"), ("/usr/bin/chromedriver", "chromium-driver"),
        ] where !FileManager.default.isExecutableFile(atPath: path) {
            throw XCTSkip("\(path) is missing: install Debian's \(package) (bash scripts/install-test-deps.sh)")
        }
        cluster = try ProcessCluster()
    }

    override func tearDown() {
        if let cluster, (testRun?.totalFailureCount ?? 0) > 0 { print(cluster.logs(lastLines: 80)) }
        cluster?.shutdown()
        cluster = nil
    }

    func testEveryPageOfTheSamplePipelineInChromium() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let script = root.appendingPathComponent("scripts/dashboard_browser.py").path
        let probe = try cluster.startTracked(
            name: "selenium-probe", executable: "/usr/bin/env", arguments: ["python3", "-c", "import selenium, PIL"],
            [:])
        guard probe.waitForExit(timeoutSeconds: 60) == 0 else {
            throw XCTSkip("Python's selenium or Pillow is missing: bash scripts/install-test-deps.sh installs them")
        }
        // The train job logs every 2 steps for 80 steps, so its page is open while points still arrive.
        let demo = try String(contentsOf: root.appendingPathComponent("manifests/pipeline.yaml"), encoding: .utf8)
        let small = demo.replacingOccurrences(of: "steps: 1500", with: "steps: 80")
            .replacingOccurrences(of: "logEvery: 10", with: "logEvery: 2")
            .replacingOccurrences(of: "checkpointEvery: 250", with: "checkpointEvery: 40")
            .replacingOccurrences(of: "every: 250", with: "every: 40")
        XCTAssertNotEqual(small, demo)
        let manifest = try cluster.writeManifest("pipeline.yaml", small)

        let port = try FreePort.next()
        let server = "http://127.0.0.1:\(port)"
        let serve = try cluster.startServe(port: port, leaseSeconds: 10, heartbeatSeconds: 1, maxBodyBytes: "1Mi")
        try await waitUntilReady(RawHTTP(baseURL: server), process: serve)
        _ = try cluster.startWorker(name: "w1", server: server, maxTasks: 1)
        _ = try cluster.startWorker(name: "w2", server: server, maxTasks: 1)
        let apply = try cluster.run(["apply", "-f", manifest], server: server, timeoutSeconds: 300)
        XCTAssertEqual(apply.status, 0, apply.stdout + apply.stderr)

        let screenshots = cluster.directory.path + "/screenshots"
        let browser = try cluster.startTracked(
            name: "browser", executable: "/usr/bin/env",
            arguments: [
                "python3", script, "--base", server, "--token", cluster.adminToken, "--train-job", "pydocs-gpt",
                "--dataset", "pydocs", "--workers", "w1,w2", "--screenshots", screenshots, "--timeout-seconds", "900",
            ], [:])
        let status = browser.waitForExit(timeoutSeconds: 1_500)
        XCTAssertEqual(status, 0, browser.output)
        print(browser.output)
        let pages = ["login", "job-running", "jobs", "job", "workers", "queues", "datasets", "dataset"]
        for page in pages {
            let size = (try? FileManager.default.attributesOfItem(atPath: "\(screenshots)/\(page).png")[.size]) as? Int
            XCTAssertGreaterThan(size ?? 0, 10_000, "\(page).png")
        }
        if let keep = ProcessInfo.processInfo.environment["OPS_DASHBOARD_SCREENSHOTS"], status == 0 {
            try FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
            for page in pages {
                let target = "\(keep)/\(page).png"
                try? FileManager.default.removeItem(atPath: target)
                try FileManager.default.copyItem(atPath: "\(screenshots)/\(page).png", toPath: target)
            }
        }
    }
}
