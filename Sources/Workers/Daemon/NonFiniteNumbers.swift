// JSON has no NaN or infinity: Foundation's encoder throws on them, and a report batch that cannot be encoded
// is lost as a whole (with the completions of other tasks in it). Results are checked before they are queued.

import APITypes

extension AnyJSON {
    /// The path (`result.datasets[0].loss`) of the first NaN or infinite number, or nil.
    func firstNonFiniteNumber(at path: String = "result") -> String? {
        switch self {
        case .double(let value): return value.isFinite ? nil : "\(path) (\(value))"
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = item.firstNonFiniteNumber(at: "\(path)[\(index)]") { return found }
            }
            return nil
        case .object(let members):
            for key in members.keys.sorted() {
                if let found = members[key]!.firstNonFiniteNumber(at: "\(path).\(key)") { return found }
            }
            return nil
        case .null, .bool, .int, .string: return nil
        }
    }
}
