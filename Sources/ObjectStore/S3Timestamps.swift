import Foundation

/// The two timestamp formats S3 answers with: ISO 8601 in listings (`2026-12-05T22:04:17.000Z`) and the HTTP
/// date of `Last-Modified` (`Sat, 05 Dec 2026 22:04:17 GMT`). An unreadable one is nil, never a guess.
enum S3Timestamps {
    static func iso8601(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return withFraction.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
