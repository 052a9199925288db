// The `stream` job kind: materialize a blended, shuffled, packed mixture of tokenized datasets as the
// shards of a new dataset (or, with `mode: verify`, re-check every shard of a dataset).
//
//   spec:
//     type: stream
//     stream:
//       inputs:
//         - {dataset: web-v1, weight: 0.7}          # a dataset registered in the control plane
//         - {location: /data/tokens/code, weight: 0.3}   # or a directory / file:// / http(s):// URL
//       sequenceLength: 1024        # T: every sample has T + 1 tokens
//       seed: 1234
//       samples: 1000000            # or tokens: 1G (samples = ceil(tokens / T))
//       samplesPerShard: 16384      # one task writes one shard of this many samples
//       output: {dataset: mix-v1, location: /data/tokens}   # shards in /data/tokens/mix-v1/

import Foundation

public enum StreamJobKinds {
    public static let streamName = "stream"
    public static let verifyName = "verify"

    static let materializeFields = [
        "mode", "inputs", "sequenceLength", "seed", "samples", "tokens", "samplesPerShard",
        "shuffleWindow", "output", "cacheDirectory",
    ]
    static let verifyFields = ["mode", "dataset", "location", "shardsPerTask", "cacheDirectory"]

    static let datasetNameExpectation =
        "a dataset name (letters, digits, '-', '_', '.'; 1 to 100 characters, not starting with '.')"

    /// Same rule as tokenize datasets.
    public static func isDatasetName(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 100, !s.hasPrefix(".") else { return false }
        return s.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "-" || $0 == "_"
                || $0 == "."
        }
    }

    static let locationExpectation =
        "an absolute directory path, file://, http:// or https:// URL of a dataset (with its index.json)"
    static func isDatasetLocation(_ s: String) -> Bool {
        let lower = s.lowercased()
        return !s.contains("\0")
            && (s.hasPrefix("/") || lower.hasPrefix("file:///") || lower.hasPrefix("http://")
                || lower.hasPrefix("https://"))
    }

    /// `spec.type: stream`.
    public static let stream = JobKind(
        name: streamName,
        summary:
            "materializes a blended, shuffled, packed mixture of datasets as a new dataset (mode: verify re-checks a dataset)",
        settingsRequired: true
    ) { settings, context in
        let mode =
            settings.choice("mode", [StreamSettings.materializeMode, StreamSettings.verifyMode])
            ?? StreamSettings.materializeMode
        checkSplitsItself(context, kind: streamName)
        if mode == StreamSettings.verifyMode {
            validateVerify(settings)
        } else {
            validateMaterialize(settings)
        }
    }

    /// Tasks come from the split (of samples or shards), not from `spec.tasks`; they are independent (no gang).
    static func checkSplitsItself(_ context: JobKindContext, kind: String) {
        if context.tasks != 1 {
            context.spec.report(
                "tasks",
                "expected 1 (or no tasks field): a \(kind) job splits its work into tasks itself; use samplesPerShard (stream) or shardsPerTask (verify)"
            )
        }
        if context.replicas > 1 {
            context.spec.report(
                "replicas", "expected 1 for a \(kind) job (its tasks run independently), got \(context.replicas)")
        }
    }

    static func validateMaterialize(_ settings: ManifestObjectReader) {
        settings.rejectUnknownKeys(allowed: materializeFields)
        if let inputs = settings.list(
            "inputs", required: true, expected: "a non-empty list of {dataset|location, weight}")
        {
            if inputs.isEmpty {
                settings.report("inputs", "expected a non-empty list of {dataset|location, weight}, got an empty list")
            }
            for (value, path) in inputs {
                let input = ManifestObjectReader(value, path: path, problems: settings.problems)
                guard case .object = value.content else { continue }
                input.rejectUnknownKeys(allowed: ["dataset", "location", "weight"])
                if input.has("dataset") == input.has("location") {
                    input.report(
                        nil,
                        "expected exactly one of dataset (a registered dataset name) or location (\(locationExpectation))"
                    )
                }
                _ = input.string("dataset", expected: datasetNameExpectation, isValid: isDatasetName)
                _ = input.string("location", expected: locationExpectation, isValid: isDatasetLocation)
                if let weight = input.number("weight", min: 0), weight <= 0 {
                    input.report("weight", "expected a number > 0, got \(weight)")
                }
            }
        }
        _ = settings.integer("sequenceLength", required: true, min: 1, max: 1 << 20)
        _ = settings.integer("seed", min: 0)
        let samples = settings.integer("samples", min: 1)
        _ = settings.integer("tokens", min: 1)
        if settings.has("samples") == settings.has("tokens") {
            settings.report(
                nil,
                "expected exactly one of samples (packed sequences to write) or tokens (samples = tokens / sequenceLength, rounded up)"
            )
        }
        let perShard = settings.integer("samplesPerShard", min: 1) ?? StreamSettings.defaultSamplesPerShard
        if let samples, settings.value("samplesPerShard") != nil || samples > perShard,
            (samples + perShard - 1) / perShard > Int64(StreamSettings.maxTasks)
        {
            settings.report(
                "samplesPerShard",
                "expected at most \(StreamSettings.maxTasks) shards (one task each): \(samples) samples need samplesPerShard >= \((samples + Int64(StreamSettings.maxTasks) - 1) / Int64(StreamSettings.maxTasks))"
            )
        }
        _ = settings.integer("shuffleWindow", min: 1, max: 1 << 24)
        if let output = settings.object("output", required: true) {
            output.rejectUnknownKeys(allowed: ["dataset", "location"])
            _ = output.string("dataset", required: true, expected: datasetNameExpectation, isValid: isDatasetName)
            _ = output.string(
                "location", required: true,
                expected: "an absolute directory path (the dataset goes to <location>/<dataset>)",
                isValid: { $0.hasPrefix("/") && !$0.contains("\0") })
        }
        _ = settings.string("cacheDirectory", expected: "an absolute directory path", isValid: { $0.hasPrefix("/") })
    }

    static func validateVerify(_ settings: ManifestObjectReader) {
        settings.rejectUnknownKeys(allowed: verifyFields)
        if settings.has("dataset") == settings.has("location") {
            settings.report(
                nil, "expected exactly one of dataset (a registered dataset name) or location (\(locationExpectation))")
        }
        _ = settings.string("dataset", expected: datasetNameExpectation, isValid: isDatasetName)
        _ = settings.string("location", expected: locationExpectation, isValid: isDatasetLocation)
        _ = settings.integer("shardsPerTask", min: 1, max: 1_000_000)
        _ = settings.string("cacheDirectory", expected: "an absolute directory path", isValid: { $0.hasPrefix("/") })
    }
}
