// Syntax of job names, queue names, label keys and values (Kubernetes conventions).

public enum ManifestNames {
    public static let dnsLabelExpectation =
        "a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)"
    public static let labelKeyExpectation =
        "a label key (letters, digits, '-', '_', '.', optionally prefixed by a DNS domain and '/')"
    public static let labelValueExpectation = "a label value (letters, digits, '-', '_', '.', at most 63 characters)"

    /// `train-small`: lowercase alphanumerics and '-', alphanumeric at both ends, 1...63 characters.
    public static func isDNSLabel(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard (1...63).contains(bytes.count), isLowerAlnum(bytes.first!), isLowerAlnum(bytes.last!) else {
            return false
        }
        return bytes.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// `zone`, `example.com/rack`.
    public static func isLabelKey(_ s: String) -> Bool {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return isLabelName(String(parts[0]))
        case 2:
            let prefix = String(parts[0])
            return (1...253).contains(prefix.utf8.count)
                && prefix.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0)) }
                && isLabelName(String(parts[1]))
        default: return false
        }
    }

    /// Empty, or alphanumeric at both ends with '-', '_', '.' inside; at most 63 characters.
    public static func isLabelValue(_ s: String) -> Bool { s.isEmpty || isLabelName(s) }

    private static func isLabelName(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard (1...63).contains(bytes.count), isAlnum(bytes.first!), isAlnum(bytes.last!) else { return false }
        return bytes.allSatisfy {
            isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        }
    }

    private static func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
    private static func isAlnum(_ c: UInt8) -> Bool { isLowerAlnum(c) || (c >= 65 && c <= 90) }
}
