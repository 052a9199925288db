import Foundation

/// Reads the few elements S3's XML answers carry (ListObjectsV2, InitiateMultipartUpload, Error). Their
/// elements of interest hold text only and never nest in themselves, so a scan for `<Name>...</Name>` is exact
/// and spares a dependency on FoundationXML (libxml2).
enum S3XML {
    /// The raw inner text of every `<name>` element, in document order.
    static func elements(_ name: String, in xml: String) -> [Substring] {
        let open = "<\(name)>"
        let close = "</\(name)>"
        var results: [Substring] = []
        var rest = xml[...]
        while let start = rest.range(of: open), let end = rest.range(of: close, range: start.upperBound..<rest.endIndex)
        {
            results.append(rest[start.upperBound..<end.lowerBound])
            rest = rest[end.upperBound...]
        }
        return results
    }

    /// The unescaped text of the first `<name>` element.
    static func value(_ name: String, in xml: some StringProtocol) -> String? {
        elements(name, in: String(xml)).first.map { unescape($0) }
    }

    static func unescape(_ text: some StringProtocol) -> String {
        guard text.contains("&") else { return String(text) }
        return String(text).replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&#34;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
