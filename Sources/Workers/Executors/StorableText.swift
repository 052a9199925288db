// PostgreSQL refuses U+0000 in text and jsonb, so the control plane answers 400 to a report holding one. What a
// task prints may hold NULs (a binary written to stdout, `printf '\0'`): the worker replaces each with U+FFFD,
// the Unicode replacement character (also what invalid UTF-8 in captured output becomes), before it queues a
// log line, a progress message or a failure message. The rest of the text is kept and the spot stays visible.

public enum StorableText {
    /// What a NUL becomes.
    public static let nulReplacement: Unicode.Scalar = "\u{FFFD}"

    /// `text` with every U+0000 replaced by U+FFFD (the same string when it has none).
    public static func escapingNUL(_ text: String) -> String {
        guard text.utf8.contains(0) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { scalars.append(scalar == "\u{0}" ? nulReplacement : scalar) }
        return String(scalars)
    }
}
