// A manifest applied under the name of an existing job with another spec: the store refuses it
// (`StoreError.jobNameTaken`); this says which fields differ and the three ways on.

import APITypes
import Foundation

enum JobSpecConflict {
    /// At most this many differing fields are named (a renamed kind differs everywhere; the first few say it).
    static let maxNamedFields = 6

    /// The 409 for job `name`: `stored` is its stored manifest, `submitted` the one applied (both JSON text).
    static func error(name: String, stored: String?, submitted: String) -> StoreError {
        let fields = differingFields(JSONText.parse(stored), JSONText.parse(submitted), path: "")
        let shown = fields.prefix(maxNamedFields).joined(separator: ", ") + (fields.count > maxNamedFields ? ", …" : "")
        return .conflict(
            what: "job \(name)",
            message:
                "it exists with a different spec\(fields.isEmpty ? "" : " (differs in \(shown))"), and apply never changes an existing job. "
                + "To run this manifest, rename the job (metadata.name) or delete the old one first "
                + "(`opsctl delete job \(name)`) and apply again; to run the stored spec once more, `opsctl rerun \(name)`"
        )
    }

    /// The dotted paths (`spec.priority`, `spec.shell.command[1]`) where two documents differ, in key order.
    static func differingFields(_ a: AnyJSON?, _ b: AnyJSON?, path: String) -> [String] {
        guard a != b else { return [] }
        switch (a, b) {
        case (.object(let x)?, .object(let y)?):
            return Set(x.keys).union(y.keys).sorted().flatMap { key in
                differingFields(x[key], y[key], path: path.isEmpty ? key : path + "." + key)
            }
        case (.array(let x)?, .array(let y)?) where x.count == y.count:
            return zip(x, y).enumerated().flatMap { index, pair in
                differingFields(pair.0, pair.1, path: path + "[\(index)]")
            }
        default:
            return [path.isEmpty ? "the whole document" : path]
        }
    }
}
