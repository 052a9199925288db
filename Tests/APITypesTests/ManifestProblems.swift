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
