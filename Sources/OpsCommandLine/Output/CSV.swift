// RFC 4180 rows for `get metrics -o csv`: a field with a comma, a quote or a line break is quoted, its quotes
// doubled; lines end with `\n` (what spreadsheet tools and pandas read).

enum CSV {
    static func render(headers: [String], rows: [[String]]) -> String {
        ([headers] + rows).map { row in
            precondition(row.count == headers.count, "a CSV row has \(row.count) fields, the header \(headers.count)")
            return row.map(field).joined(separator: ",") + "\n"
        }.joined()
    }

    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
