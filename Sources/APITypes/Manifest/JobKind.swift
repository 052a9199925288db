// Job kinds are open: each kind registers its name and a validator for its settings (`spec.<name>`).
// Built-in kinds live in BuiltInJobKinds.swift; later kinds (tokenize, stream, train, eval) add theirs there.

import Foundation
import Primitives

/// What a kind's validator may look at besides its own settings.
public struct JobKindContext {
    public let replicas: Int
    public let tasks: Int
    /// The `spec` mapping, to report problems about common fields (`spec.reader.report("replicas", ...)`).
    public let spec: ManifestObjectReader
}

public struct JobKind: Sendable {
    public let name: String
    /// One line for `opsctl` help and error messages.
    public let summary: String
    /// Whether `spec.<name>` must be present.
    public let settingsRequired: Bool
    /// Checks the settings mapping (an empty reader when absent and optional) and records problems.
    public let validate: @Sendable (_ settings: ManifestObjectReader, _ context: JobKindContext) -> Void

    public init(
        name: String, summary: String, settingsRequired: Bool = false,
        validate: @escaping @Sendable (_ settings: ManifestObjectReader, _ context: JobKindContext) -> Void
    ) {
        self.name = name
        self.summary = summary
        self.settingsRequired = settingsRequired
        self.validate = validate
    }
}

public final class JobKindRegistry: Sendable {
    private let kinds: Locked<[String: JobKind]>

    public init(kinds: [JobKind]) {
        self.kinds = Locked(Dictionary(kinds.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last }))
    }

    /// The kinds this build knows (what `opsctl apply` and the control plane accept).
    public static let standard = JobKindRegistry(kinds: BuiltInJobKinds.all)

    /// Adds or replaces a kind.
    public func register(_ kind: JobKind) { kinds.withLock { $0[kind.name] = kind } }
    public func kind(named name: String) -> JobKind? { kinds.withLock { $0[name] } }
    public var names: [String] { kinds.withLock { $0.keys.sorted() } }
}
