import APITypes

/// The problems `ManifestParser` reports for a manifest text, as the CLI prints them; none for a valid one.
/// Shared by the manifest tests that check one kind's messages.
func manifestProblems(_ text: String, fileName: String = "t.yaml") -> [String] {
    do {
        _ = try ManifestParser.parse(text: text, fileName: fileName)
        return []
    } catch {
        return error.problems.map(\.description)
    }
}

/// A one-layer train job named `pre` reading `data`, with the `spec.train` lines `extra` (one per line) added after
/// its settings: the manifest the train-settings tests vary one setting of.
func trainManifest(data: String, _ extra: String) -> String {
    """
    apiVersion: llmops/v1
    kind: Job
    metadata: {name: pre}
    spec:
      type: train
      train:
        model: {vocabularySize: 256, contextLength: 32, layers: 1, heads: 2, width: 32}
        data: \(data)
        batchSize: 4
        steps: 12
    \(extra.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    """
}
