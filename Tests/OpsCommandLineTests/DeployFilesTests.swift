// The files in deploy/ checked offline (docs/deploy.md says what was not run against a live cluster):
//   - the systemd units pass `systemd-analyze verify` with no warning (their ExecStart pointed at the opsctl built
//     beside the tests, since verify requires the binary to exist), and their environment files set only OPS_*
//     variables that `serve`/`worker` read;
//   - the Kubernetes manifests render with `kubectl kustomize` (which needs no cluster; `kubectl apply
//     --dry-run=client` does: it asks the API server for its resource types), and each document is parsed with
//     the repository's own YAML parser and checked: apiVersion/kind pairs, selectors that match their pod
//     templates, Services and PodDisruptionBudgets that select those pods, Secret keys that exist, volumes that are
//     declared, and OPS_* variables that the container's command reads.

import Foundation
import TestSupport
import XCTest
import YAML

@testable import OpsCommandLine

final class DeployFilesTests: XCTestCase {
    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    private static let systemd = repository.appendingPathComponent("deploy/systemd").path
    private static let kubernetes = repository.appendingPathComponent("deploy/kubernetes").path

    // MARK: systemd

    func testSystemdUnitsPassSystemdAnalyzeVerify() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else {
            throw XCTSkip(
                "systemd-analyze is not installed (Debian's systemd); scripts/install-test-deps.sh installs it")
        }
        let directory = try TemporaryDirectory.make(prefix: "llmops-units-")
        defer { directory.remove() }
        let opsctl = try builtOpsctl()
        // A template is verified through an instance of it.
        let units = [
            ("opsctl-control-plane.service", "opsctl-control-plane.service"),
            ("opsctl-worker@.service", "opsctl-worker@gpu0.service"),
        ]
        for (source, target) in units {
            let text = try String(contentsOfFile: Self.systemd + "/" + source, encoding: .utf8)
            XCTAssertTrue(text.contains("ExecStart=/usr/local/bin/opsctl "), source)
            try text.replacingOccurrences(of: "/usr/local/bin/opsctl", with: opsctl).write(
                toFile: directory.path + "/" + target, atomically: true, encoding: .utf8)
        }
        let result = try runTool(
            "/usr/bin/systemd-analyze", ["verify"] + units.map { directory.path + "/" + $0.1 },
            directory: directory.path)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(result.output, "", "systemd-analyze verify warns:\n\(result.output)")

        let controlPlane = try unitSettings("opsctl-control-plane.service")
        XCTAssertEqual(controlPlane["Type"], ["notify"])
        XCTAssertEqual(controlPlane["ExecReload"], ["/bin/kill -HUP $MAINPID"])
        let worker = try unitSettings("opsctl-worker@.service")
        for unit in [controlPlane, worker] {
            for (key, value) in [
                ("Restart", "on-failure"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("User", "opsctl"),
            ] {
                XCTAssertEqual(unit[key], [value], key)
            }
            XCTAssertNotNil(unit["StateDirectory"])
            XCTAssertNotNil(unit["EnvironmentFile"])
        }
    }

    func testEnvironmentFilesSetOnlyVariablesTheCommandReads() throws {
        for (file, command) in [("control-plane.env", "serve"), ("worker.env", "worker")] {
            let known = try environmentVariables(of: command)
            let text = try String(contentsOfFile: Self.systemd + "/" + file, encoding: .utf8)
            var set: [String] = []
            for line in text.split(separator: "\n") {
                let assignment = line.hasPrefix("#") ? String(line.dropFirst()) : String(line)
                guard let equals = assignment.firstIndex(of: "="), assignment.hasPrefix("OPS_") else { continue }
                set.append(String(assignment[..<equals]))
            }
            XCTAssertGreaterThan(set.count, 3, file)
            for variable in set {
                XCTAssertTrue(known.contains(variable), "\(file): \(variable) is not read by opsctl \(command)")
            }
        }
    }

    // MARK: Kubernetes

    func testKubernetesManifestsRenderWithKubectlKustomize() throws {
        guard
            let kubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw XCTSkip(
                "kubectl is not installed (Debian's kubernetes-client); scripts/install-test-deps.sh installs it")
        }
        let result = try runTool(kubectl, ["kustomize", Self.kubernetes], directory: Self.kubernetes)
        XCTAssertEqual(result.status, 0, result.output)
        let documents = try YAMLParser.parseDocuments(result.output, fileName: "kubectl kustomize")
        let kinds = documents.compactMap { $0["kind"]?.scalarValue }.sorted()
        XCTAssertEqual(
            kinds,
            [
                "Cluster", "Deployment", "Namespace", "PodDisruptionBudget", "PodDisruptionBudget", "Secret", "Service",
                "Service", "StatefulSet",
            ])
        for document in documents where document["kind"]?.scalarValue != "Namespace" {
            XCTAssertEqual(document["metadata"]?["namespace"]?.scalarValue, "llm-ops", document.summary)
        }
    }

    func testKubernetesManifestsAreConsistent() throws {
        let documents = try kubernetesDocuments()
        let expectedAPIVersions = [
            "Namespace": "v1", "Secret": "v1", "Service": "v1", "Deployment": "apps/v1", "StatefulSet": "apps/v1",
            "PodDisruptionBudget": "policy/v1", "Cluster": "postgresql.cnpg.io/v1", "Issuer": "cert-manager.io/v1",
            "Certificate": "cert-manager.io/v1", "Kustomization": "kustomize.config.k8s.io/v1beta1",
        ]
        for (file, document) in documents {
            let kind = try XCTUnwrap(document["kind"]?.scalarValue, "\(file): no kind")
            XCTAssertEqual(document["apiVersion"]?.scalarValue, expectedAPIVersions[kind], "\(file): \(kind)")
            if kind != "Kustomization" { XCTAssertNotNil(document["metadata"]?["name"]?.scalarValue, file) }
        }
        func named(_ kind: String, _ name: String) throws -> YAMLNode {
            try XCTUnwrap(
                documents.map { $0.1 }.first {
                    $0["kind"]?.scalarValue == kind && $0["metadata"]?["name"]?.scalarValue == name
                },
                "no \(kind) \(name)")
        }
        let deployment = try named("Deployment", "opsctl-control-plane")
        let statefulSet = try named("StatefulSet", "opsctl-worker")
        XCTAssertEqual(deployment["spec"]?["replicas"]?.scalarValue, "2", "two replicas: a leader and a standby")

        let tokens = try named("Secret", "opsctl-tokens")
        let secretKeys: [String: Set<String>] = [
            "opsctl-tokens": Set(mappingKeys(tokens["stringData"])),
            // Written by CloudNativePG for the Cluster `opsctl-db` (its `<cluster>-app` Secret).
            "opsctl-db-app": ["uri", "username", "password", "host", "port", "dbname"],
            // Written by cert-manager (tls-cert-manager.yaml) or by hand (docs/deploy.md).
            "opsctl-tls": ["tls.crt", "tls.key", "ca.crt"],
        ]
        XCTAssertNotNil(try? named("Cluster", "opsctl-db"), "the database Secret comes from this Cluster")
        XCTAssertEqual(try named("Certificate", "opsctl-tls")["spec"]?["secretName"]?.scalarValue, "opsctl-tls")

        for (workload, command) in [(deployment, "serve"), (statefulSet, "worker")] {
            let name = workload["metadata"]?["name"]?.scalarValue ?? "?"
            let podLabels = try labels(workload["spec"]?["template"]?["metadata"]?["labels"])
            let selector = try labels(workload["spec"]?["selector"]?["matchLabels"])
            XCTAssertFalse(selector.isEmpty, name)
            XCTAssertTrue(
                selector.allSatisfy { podLabels[$0.key] == $0.value }, "\(name): selector \(selector) vs \(podLabels)")
            let pod = try XCTUnwrap(workload["spec"]?["template"]?["spec"], name)
            let container = try XCTUnwrap(pod["containers"]?[0], name)
            XCTAssertEqual(container["args"]?[0]?.scalarValue, command, name)
            XCTAssertNotNil(container["resources"]?["requests"]?["cpu"], "\(name) requests CPU")
            XCTAssertNotNil(container["resources"]?["limits"]?["memory"], "\(name) limits memory")

            let known = try environmentVariables(of: command)
            for variable in items(of: container["env"]) {
                let variableName = try XCTUnwrap(variable["name"]?.scalarValue)
                XCTAssertTrue(known.contains(variableName), "\(name): \(variableName) is not read by opsctl \(command)")
                if let reference = variable["valueFrom"]?["secretKeyRef"] {
                    let secret = reference["name"]?.scalarValue ?? ""
                    let key = reference["key"]?.scalarValue ?? ""
                    XCTAssertTrue(
                        secretKeys[secret]?.contains(key) ?? false, "\(name): \(variableName) → \(secret)/\(key)")
                }
            }
            let volumes = Set(
                items(of: pod["volumes"]).compactMap { $0["name"]?.scalarValue }
                    + items(of: workload["spec"]?["volumeClaimTemplates"]).compactMap {
                        $0["metadata"]?["name"]?.scalarValue
                    })
            for mount in items(of: container["volumeMounts"]) {
                XCTAssertTrue(volumes.contains(mount["name"]?.scalarValue ?? ""), "\(name): mount \(mount.summary)")
            }
            for volume in items(of: pod["volumes"]) {
                guard let secret = volume["secret"] else { continue }
                XCTAssertNotNil(
                    secretKeys[secret["secretName"]?.scalarValue ?? ""], "\(name): volume \(volume.summary)")
            }
            // Services and budgets that select these pods.
            let selecting = documents.map { $0.1 }.filter { document in
                guard let kind = document["kind"]?.scalarValue, ["Service", "PodDisruptionBudget"].contains(kind) else {
                    return false
                }
                let selector =
                    (try? labels(document["spec"]?["selector"]?["matchLabels"] ?? document["spec"]?["selector"])) ?? [:]
                return !selector.isEmpty && selector.allSatisfy { podLabels[$0.key] == $0.value }
            }
            XCTAssertEqual(
                Set(selecting.compactMap { $0["kind"]?.scalarValue }), ["Service", "PodDisruptionBudget"],
                "\(name) has a Service and a PodDisruptionBudget")
        }

        // The probes and the Service use the container's named port; the worker talks to that Service over HTTPS.
        let controlPlaneContainer = try XCTUnwrap(deployment["spec"]?["template"]?["spec"]?["containers"]?[0])
        let portNames = items(of: controlPlaneContainer["ports"]).compactMap { $0["name"]?.scalarValue }
        XCTAssertEqual(controlPlaneContainer["readinessProbe"]?["httpGet"]?["port"]?.scalarValue, "https")
        XCTAssertEqual(controlPlaneContainer["readinessProbe"]?["httpGet"]?["path"]?.scalarValue, "/readyz")
        let service = try named("Service", "opsctl-control-plane")
        XCTAssertTrue(portNames.contains(service["spec"]?["ports"]?[0]?["targetPort"]?.scalarValue ?? ""))
        let workerEnvironment = items(of: statefulSet["spec"]?["template"]?["spec"]?["containers"]?[0]?["env"])
        XCTAssertEqual(
            workerEnvironment.first { $0["name"]?.scalarValue == "OPS_SERVER" }?["value"]?.scalarValue,
            "https://opsctl-control-plane")
        XCTAssertTrue(
            items(of: try named("Certificate", "opsctl-tls")["spec"]?["dnsNames"]).contains {
                $0.scalarValue == "opsctl-control-plane"
            }, "the certificate names the Service the workers dial")
        XCTAssertEqual(
            statefulSet["spec"]?["serviceName"]?.scalarValue,
            try named("Service", "opsctl-worker")["metadata"]?["name"]?.scalarValue)
        XCTAssertEqual(try named("Service", "opsctl-worker")["spec"]?["clusterIP"]?.scalarValue, "None")
    }

    // MARK: Helpers

    /// (file, document) for every YAML file in deploy/kubernetes.
    private func kubernetesDocuments() throws -> [(String, YAMLNode)] {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.kubernetes).filter {
            $0.hasSuffix(".yaml")
        }
        .sorted()
        XCTAssertTrue(files.contains("kustomization.yaml"))
        let kustomization = try YAMLParser.parse(
            try String(contentsOfFile: Self.kubernetes + "/kustomization.yaml", encoding: .utf8))
        let resources = Set(items(of: kustomization?["resources"]).compactMap(\.scalarValue))
        XCTAssertEqual(
            resources, Set(files).subtracting(["kustomization.yaml", "tls-cert-manager.yaml"]),
            "every manifest but the optional cert-manager one is in kustomization.yaml")
        return try files.flatMap { file in
            try YAMLParser.parseDocuments(
                try String(contentsOfFile: Self.kubernetes + "/" + file, encoding: .utf8), fileName: file
            ).map { (file, $0) }
        }
    }

    private func items(of node: YAMLNode?) -> [YAMLNode] {
        if case .sequence(let items, _)? = node { return items }
        return []
    }

    private func mappingKeys(_ node: YAMLNode?) -> [String] {
        if case .mapping(let entries, _)? = node { return entries.compactMap(\.key.scalarValue) }
        return []
    }

    private func labels(_ node: YAMLNode?) throws -> [String: String] {
        guard case .mapping(let entries, _)? = node else { return [:] }
        var result: [String: String] = [:]
        for entry in entries { result[entry.key.scalarValue ?? ""] = entry.value.scalarValue ?? "" }
        return result
    }

    /// The OPS_* variables `opsctl <command>` reads: its options', the global options', and the systemd/Kubernetes
    /// ones the daemons read directly.
    private func environmentVariables(of command: String) throws -> Set<String> {
        let spec = try XCTUnwrap(OpsCommands.parser.command(named: command))
        var known = Set((spec.options + OpsCommands.globalOptions).compactMap(\.environment))
        known.formUnion(["OPS_TOKEN", "OPS_ADMIN_TOKEN", "OPS_JOIN_TOKEN"])
        return known
    }

    /// The settings of a unit file: key → values in order.
    private func unitSettings(_ file: String) throws -> [String: [String]] {
        var settings: [String: [String]] = [:]
        for line in try String(contentsOfFile: Self.systemd + "/" + file, encoding: .utf8).split(separator: "\n") {
            guard !line.hasPrefix("#"), !line.hasPrefix("["), let equals = line.firstIndex(of: "=") else { continue }
            settings[String(line[..<equals]), default: []].append(String(line[line.index(after: equals)...]))
        }
        return settings
    }

    /// The opsctl built beside this test bundle.
    private func builtOpsctl() throws -> String {
        let directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates =
            [directory.appendingPathComponent("opsctl").path]
            + Bundle.allBundles.filter { $0.bundlePath.hasSuffix(".xctest") }.map {
                $0.bundleURL.deletingLastPathComponent().appendingPathComponent("opsctl").path
            }
        return try XCTUnwrap(
            candidates.first { FileManager.default.isExecutableFile(atPath: $0) },
            "opsctl is not built beside the tests (looked at \(candidates)); run swift build --build-tests")
    }

    private func runTool(_ executable: String, _ arguments: [String], directory: String) throws -> (
        status: Int32, output: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        // kubectl kustomize reads no cluster; make sure it could not reach one.
        environment["KUBECONFIG"] = "/nonexistent"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
