// Parsing of a single-range `Range: bytes=...` header against a file of known size (RFC 9110 §14).

import Foundation

enum ByteRangeRequest: Equatable {
    /// No usable Range header: serve the whole file.
    case whole
    /// Serve bytes `start...end` (inclusive) with 206.
    case partial(start: Int64, end: Int64)
    /// The range lies outside the file: 416.
    case unsatisfiable

    /// Multi-range and malformed headers are ignored (the whole file is served), as RFC 9110 allows.
    static func parse(_ header: String?, fileSize: Int64) -> ByteRangeRequest {
        guard let header = header?.trimmingCharacters(in: .whitespaces), header.lowercased().hasPrefix("bytes=") else {
            return .whole
        }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            // Suffix range: the last N bytes.
            guard let suffix = Int64(last), suffix >= 0 else { return .whole }
            if suffix == 0 || fileSize == 0 { return .unsatisfiable }
            return .partial(start: max(0, fileSize - suffix), end: fileSize - 1)
        }
        guard let start = Int64(first), start >= 0 else { return .whole }
        var end = fileSize - 1
        if !last.isEmpty {
            guard let requested = Int64(last), requested >= start else { return .whole }
            end = min(requested, fileSize - 1)
        }
        if start >= fileSize { return .unsatisfiable }
        return .partial(start: start, end: end)
    }
}
