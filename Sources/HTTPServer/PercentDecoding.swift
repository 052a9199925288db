// Percent-decoding of the request path and query arguments, done here rather than by libmicrohttpd (whose
// unescaper `cmhd_keep_escapes` leaves them as sent). libmicrohttpd decodes in place into C strings, so `%00`
// ended the string: `/v1/jobs/a%00b/cancel` reached the router as `/v1/jobs/a`, and `PUT .../exchange/e%00x` wrote
// the entry `e`. Decoded here, the NUL stays in the Swift string and the router refuses it with a 400.
// Like libmicrohttpd: `%HH` becomes its byte, anything else (a lone `%`, `%zz`) stays as it is, and bytes that
// are not UTF-8 become U+FFFD. (`+` in query arguments was already turned into a space by libmicrohttpd.)

import Foundation

enum PercentDecoding {
    /// `text` (a C string from libmicrohttpd) with every `%HH` decoded.
    static func decode(_ text: UnsafePointer<CChar>) -> String {
        let length = strlen(text)
        return text.withMemoryRebound(to: UInt8.self, capacity: length) {
            decode(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard bytes.contains(UInt8(ascii: "%")) else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
                let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2])
            {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
