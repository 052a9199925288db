// The GPT-2 byte-to-unicode mapping used by byte-level BPE files: every byte is shown as a printable
// character, so vocabulary and merges in tokenizer.json are strings of these characters.

public enum ByteLevel {
    /// byte -> code point of its printable stand-in.
    public static let byteToCodePoint: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// code point (< 0x144) -> byte, or -1.
    static let codePointToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, cp) in byteToCodePoint.enumerated() { table[Int(cp)] = Int16(b) }
        return table
    }()

    /// Printable form of raw bytes, as written in tokenizer.json.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(byteToCodePoint[Int(b)])!) }
        return String(s)
    }

    /// Raw bytes of a printable form; nil when a character is outside the byte alphabet.
    public static func decode(_ string: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(string.unicodeScalars.count)
        for scalar in string.unicodeScalars {
            let v = Int(scalar.value)
            guard v < codePointToByte.count, codePointToByte[v] >= 0 else { return nil }
            out.append(UInt8(codePointToByte[v]))
        }
        return out
    }
}
