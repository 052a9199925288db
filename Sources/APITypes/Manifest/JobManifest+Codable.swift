// JSON form of a JobManifest: the manifest document itself (apiVersion, kind, metadata, spec) with
// quantities in canonical spelling. Decoding runs the same validator as `ManifestParser`, so a JSON body
// the server receives is checked exactly like a YAML file the CLI reads.

import ClusterModel
import Foundation

extension JobManifest: Codable {
    public func encode(to encoder: Encoder) throws {
        try manifestValue.encode(to: encoder)
    }

    public init(from decoder: Decoder) throws {
        let value = try ManifestValue(from: decoder)
        do {
            let pipeline = try ManifestParser.validate([value], fileName: "<json>")
            self = pipeline.jobs[0]
        } catch {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    /// The manifest as a generic document; `ManifestParser.validate([m.manifestValue])` gives `m` back.
    public var manifestValue: ManifestValue {
        let spec = self.spec
        var specFields: [(String, ManifestValue)] = [
            ("type", .string(spec.type)),
            (
                "resources",
                .object([
                    ("cpu", .string(ResourceQuantity.formatCPU(spec.resources.cpuMillis))),
                    ("memory", .string(ResourceQuantity.formatMemory(spec.resources.memoryBytes))),
                    (
                        "accelerators",
                        .array(
                            spec.resources.accelerators.sorted { $0.key < $1.key }.map {
                                .object([("type", .string($0.key.rawValue)), ("count", .int($0.value))])
                            })
                    ),
                ])
            ),
            ("replicas", .int(Int64(spec.replicas))),
            ("tasks", .int(Int64(spec.tasks))),
            ("priority", .int(Int64(spec.priority))),
            ("queue", .string(spec.queue)),
            (
                "retry",
                .object([
                    ("maxAttempts", .int(Int64(spec.retry.maxAttempts))),
                    ("backoffSeconds", ManifestValue(.float(spec.retry.initialBackoffSeconds))),
                    ("maxBackoffSeconds", ManifestValue(.float(spec.retry.maxBackoffSeconds))),
                ])
            ),
            ("after", .array(spec.after.map { .string($0) })),
            ("onDependencyFailure", .string(spec.onDependencyFailure.rawValue)),
            ("nodeSelector", Self.labels(spec.nodeSelector)),
            ("affinity", Self.labels(spec.affinity)),
        ]
        if let packBy = spec.packBy { specFields.append(("packBy", .string(packBy))) }
        if let settings = spec.settings { specFields.append((spec.type, settings)) }
        return .object([
            ("apiVersion", .string(JobManifest.apiVersion)),
            ("kind", .string(JobManifest.kind)),
            ("metadata", .object([("name", .string(metadata.name)), ("labels", Self.labels(metadata.labels))])),
            ("spec", .object(specFields)),
        ])
    }

    private static func labels(_ labels: Labels) -> ManifestValue {
        .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }
}
