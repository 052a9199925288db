// Queues and worker pools are cluster objects, not jobs: their metadata is their name only, and their documents
// open the same way (unknown top-level keys refused, `apiVersion` checked, the name read). Their validators share
// that opening and the shape of what they return.

/// What a cluster object's validator returns: the object when its document is valid, and its name and line either
/// way (the duplicate-name check reads them from invalid documents too).
struct NamedObjectOutcome<Object> {
    var object: Object?
    var name: String?
    var nameLine: Int?

    /// The top-level keys of every cluster object's document.
    static var topLevelFields: [String] { ["apiVersion", "kind", "metadata", "spec"] }

    /// Opens a cluster object's document: the outcome with its name read, and the reader of its top level (nil when
    /// the document is not an object, which the collector has been told).
    static func open(_ document: ManifestValue, problems: ManifestProblemCollector) -> (
        outcome: Self, root: ManifestObjectReader?
    ) {
        var outcome = Self()
        let root = ManifestObjectReader(document, path: "", problems: problems)
        guard case .object = document.content else { return (outcome, nil) }
        root.rejectUnknownKeys(allowed: topLevelFields)
        root.checkAPIVersion()
        (outcome.name, outcome.nameLine) = root.readNameOnlyMetadata()
        return (outcome, root)
    }
}

extension ManifestValue {
    /// Whether this document's `kind` is `kind` (the parser routes queue and pool documents to their validators).
    func isKind(_ kind: String) -> Bool {
        if case .string(kind)? = self["kind"]?.content { return true }
        return false
    }
}
