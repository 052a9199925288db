import Foundation
import HTTPServer

/// An `application/x-www-form-urlencoded` body, as the dashboard's forms post it (`token=…`, `csrf=…`).
struct FormBody: Sendable {
    /// The forms hold a token or two: anything longer is not one of them.
    static let bytesMax = 16 * 1024

    private let fields: [String: String]

    init(_ request: HTTPRequest) throws(DashboardError) {
        guard request.bodyLength <= Self.bytesMax, request.bodyFile == nil else {
            throw .badForm(
                "the form body is \(request.bodyLength) bytes; the dashboard's forms send at most \(Self.bytesMax)")
        }
        var fields: [String: String] = [:]
        for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String? {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
            guard let name = decode(parts[0]), let value = parts.count == 2 ? decode(parts[1]) : "" else {
                throw .badForm("the form field \(String(parts[0]).debugDescription) is not valid percent-encoding")
            }
            if fields[name] == nil { fields[name] = value }
        }
        self.fields = fields
    }

    subscript(name: String) -> String? { fields[name] }
}
