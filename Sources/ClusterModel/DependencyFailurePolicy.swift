// What a job waiting on `after:` dependencies does when one of them fails or is cancelled. The one
// definition: manifests (`spec.onDependencyFailure`), the store's `job_dependencies.on_failure` column (its
// CHECK lists exactly these raw values) and the job views use it.

public enum DependencyFailurePolicy: String, Hashable, Codable, Sendable, CaseIterable {
    /// The dependent fails without running (its tasks fail, `pendingReason` says which dependency failed).
    /// The default of a manifest.
    case fail
    /// The dependent is cancelled without running (its tasks are cancelled, `pendingReason` says why).
    case cancel
    /// The dependent runs anyway once the dependency has finished, whatever its outcome (cleanup jobs).
    case proceed
}
