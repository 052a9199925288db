import Foundation

/// Element types the engine reads and writes in safetensors files.
public enum TensorDType: String, Sendable, Codable {
    case float32 = "F32"
    case bfloat16 = "BF16"

    public var byteWidth: Int { self == .float32 ? 4 : 2 }
}

/// One tensor to write: fp32 values stored as `dtype`.
public struct NamedTensor: Sendable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]
    public var dtype: TensorDType

    public init(name: String, shape: [Int], values: [Float], dtype: TensorDType = .float32) {
        self.name = name
        self.shape = shape
        self.values = values
        self.dtype = dtype
    }
}

/// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
/// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}} padded
/// with spaces to 8 bytes, then the raw little-endian tensor bytes.
public enum Safetensors {
    /// Writes atomically (temporary file, then rename), so a crash never leaves a half-written file.
    public static func write(_ tensors: [NamedTensor], metadata: [String: String], to path: String) throws(EngineError)
    {
        var header: [String: Any] = [:]
        var offset = 0
        for tensor in tensors {
            guard tensor.shape.reduce(1, *) == tensor.values.count else {
                throw .checkpointIO(
                    path: path,
                    reason: "tensor \(tensor.name) has shape \(tensor.shape) but \(tensor.values.count) values")
            }
            let bytes = tensor.values.count * tensor.dtype.byteWidth
            header[tensor.name] = [
                "dtype": tensor.dtype.rawValue, "shape": tensor.shape, "data_offsets": [offset, offset + bytes],
            ]
            offset += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json: Data
        do {
            json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        } catch {
            throw .checkpointIO(path: path, reason: "cannot encode header: \(error)")
        }
        while json.count % 8 != 0 { json.append(0x20) }

        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
            let handle = FileHandle(forWritingAtPath: temporary)
        else {
            throw .checkpointIO(
                path: path, reason: "cannot create \(temporary) (does the directory exist and is it writable?)")
        }
        do {
            var length = UInt64(json.count).littleEndian
            try handle.write(contentsOf: Data(bytes: &length, count: 8))
            try handle.write(contentsOf: json)
            for tensor in tensors {
                try handle.write(contentsOf: encode(tensor.values, as: tensor.dtype))
            }
            try handle.synchronize()
            try handle.close()
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: temporary)
            throw .checkpointIO(path: path, reason: "write failed: \(error)")
        }
    }

    /// Little-endian bytes of `values` as `dtype` (also the wire format for vectors sent between workers).
    public static func encode(_ values: [Float], as dtype: TensorDType) -> Data {
        switch dtype {
        case .float32:
            return values.withUnsafeBufferPointer { Data(buffer: $0) }
        case .bfloat16:
            return BFloat16.encode(values).withUnsafeBufferPointer { Data(buffer: $0) }
        }
    }

    /// fp32 values from little-endian bytes of `dtype`.
    public static func decode(_ bytes: Data, as dtype: TensorDType) throws(EngineError) -> [Float] {
        guard bytes.count % dtype.byteWidth == 0 else {
            throw .invalidBatch("\(bytes.count) bytes is not a whole number of \(dtype.rawValue) values")
        }
        let n = bytes.count / dtype.byteWidth
        return bytes.withUnsafeBytes { raw in
            switch dtype {
            case .float32:
                return [Float](unsafeUninitializedCapacity: n) { out, count in
                    _ = raw.copyBytes(to: out)
                    count = n
                }
            case .bfloat16:
                return [Float](unsafeUninitializedCapacity: n) { out, count in
                    for i in 0..<n {
                        out[i] = BFloat16.toFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    }
                    count = n
                }
            }
        }
    }

    /// A parsed safetensors file; tensor bytes are read on demand.
    public struct File: Sendable {
        public struct Entry: Sendable {
            public var dtype: TensorDType
            public var shape: [Int]
            public var byteRange: Range<Int>
        }

        public let path: String
        public let metadata: [String: String]
        public let entries: [String: Entry]
        private let data: Data
        private let dataStart: Int

        /// The largest header accepted: the same 100,000,000 bytes as the reference implementation
        /// (safetensors' MAX_HEADER_SIZE); a GPT's header is a few KB.
        public static let maxHeaderBytes = 100_000_000

        /// Opens a file and checks its header against itself and the file size, as the reference
        /// implementation does: the header fits the file, every shape is non-negative and its byte count does
        /// not overflow, every tensor's data_offsets hold exactly dtype size × element count bytes, and the
        /// tensors tile the data section without gap or overlap. A crafted header (e.g. a shape whose product
        /// overflows Int64) is refused here with the tensor named instead of trapping a worker later.
        public init(path: String) throws(EngineError) {
            self.path = path
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
            } catch {
                throw .checkpointIO(path: path, reason: "cannot read: \(error.localizedDescription)")
            }
            guard data.count >= 8 else {
                throw .invalidCheckpoint(path: path, reason: "shorter than the 8-byte header length")
            }
            let declared = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            guard declared > 0, declared <= UInt64(data.count - 8), declared <= UInt64(Self.maxHeaderBytes) else {
                throw .invalidCheckpoint(
                    path: path,
                    reason:
                        "header length \(declared) does not fit a \(data.count)-byte file (at most \(Self.maxHeaderBytes) bytes); the file is truncated or not safetensors"
                )
            }
            let headerLength = Int(declared)
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength)))
            } catch {
                throw .invalidCheckpoint(path: path, reason: "header is not JSON: \(error.localizedDescription)")
            }
            guard let header = object as? [String: Any] else {
                throw .invalidCheckpoint(path: path, reason: "header is not a JSON object")
            }
            var metadata: [String: String] = [:]
            var entries: [String: Entry] = [:]
            let payload = data.count - 8 - headerLength
            for (name, value) in header {
                if name == "__metadata__" {
                    guard let m = value as? [String: String] else {
                        throw .invalidCheckpoint(path: path, reason: "__metadata__ must map strings to strings")
                    }
                    metadata = m
                    continue
                }
                entries[name] = try Self.entry(name, value, dataBytes: payload, path: path)
            }
            try Self.checkTiling(entries, dataBytes: payload, path: path)
            self.metadata = metadata
            self.entries = entries
            self.data = data
            dataStart = 8 + headerLength
        }

        /// One header entry `{dtype, shape, data_offsets}`, checked with overflow-safe arithmetic.
        static func entry(_ name: String, _ value: Any, dataBytes: Int, path: String) throws(EngineError) -> Entry {
            func invalid(_ reason: String) -> EngineError { .invalidTensor(path: path, tensor: name, reason: reason) }
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String else {
                throw invalid("lacks dtype/shape/data_offsets")
            }
            guard let dtype = TensorDType(rawValue: dtypeName) else {
                throw invalid("has dtype \(dtypeName); expected F32 or BF16")
            }
            guard let shape = integers(info["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw invalid("has shape \(describe(info["shape"])); expected a list of non-negative integers")
            }
            guard let offsets = integers(info["data_offsets"]), offsets.count == 2 else {
                throw invalid("has data_offsets \(describe(info["data_offsets"])); expected [begin, end] byte offsets")
            }
            var elements = 1
            for dim in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow else { throw invalid("has shape \(shape), whose element count overflows Int64") }
                elements = product
            }
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteWidth)
            guard !overflow else { throw invalid("has shape \(shape), whose byte count overflows Int64") }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataBytes else {
                throw invalid("has data_offsets \(offsets) outside the \(dataBytes)-byte data section")
            }
            guard end - begin == bytes else {
                throw invalid(
                    "has data_offsets \(offsets) (\(end - begin) bytes) but shape \(shape) of \(dtype.rawValue) needs \(bytes) bytes"
                )
            }
            return Entry(dtype: dtype, shape: shape, byteRange: begin..<end)
        }

        /// The tensors must cover the data section exactly once, back to back (no gaps, no overlaps, nothing
        /// left over), as the reference implementation requires.
        static func checkTiling(_ entries: [String: Entry], dataBytes: Int, path: String) throws(EngineError) {
            var next = 0
            for (name, entry) in entries.sorted(by: {
                ($0.value.byteRange.lowerBound, $0.value.byteRange.upperBound) < (
                    $1.value.byteRange.lowerBound, $1.value.byteRange.upperBound
                )
            }) {
                guard entry.byteRange.lowerBound == next else {
                    throw .invalidTensor(
                        path: path, tensor: name,
                        reason:
                            "starts at byte \(entry.byteRange.lowerBound) of the data section, where the tensors before it end at \(next) (gap or overlap)"
                    )
                }
                next = entry.byteRange.upperBound
            }
            guard next == dataBytes else {
                throw .invalidCheckpoint(
                    path: path,
                    reason:
                        "its tensors cover \(next) of the \(dataBytes) bytes after the header; the file is truncated or has trailing data"
                )
            }
        }

        /// JSON integers only (not 2.5, not true, nothing beyond Int64).
        private static func integers(_ value: Any?) -> [Int]? {
            guard let list = value as? [Any] else { return nil }
            var out: [Int] = []
            out.reserveCapacity(list.count)
            for item in list {
                guard let number = item as? NSNumber, !"cdf".contains(String(cString: number.objCType)),
                    let int = Int(exactly: number.int64Value), number == NSNumber(value: int)
                else { return nil }
                out.append(int)
            }
            return out
        }

        private static func describe(_ value: Any?) -> String {
            guard let value, let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
            else { return "(none)" }
            return String(decoding: data.prefix(200), as: UTF8.self)
        }

        /// The fp32 values of tensor `name` (bf16 is widened).
        /// NaN and infinities are refused: no weight, moment or momentum of a usable run holds one.
        public func values(_ name: String) throws(EngineError) -> [Float] {
            guard let entry = entries[name] else {
                throw .invalidCheckpoint(path: path, reason: "missing tensor \(name)")
            }
            let bytes = data.subdata(
                in: (dataStart + entry.byteRange.lowerBound)..<(dataStart + entry.byteRange.upperBound))
            let values = try Safetensors.decode(bytes, as: entry.dtype)
            if let first = values.firstIndex(where: { !$0.isFinite }) {
                throw .nonFiniteTensor(
                    path: path, tensor: name, count: values[first...].reduce(0) { $0 + ($1.isFinite ? 0 : 1) },
                    firstIndex: first, firstValue: values[first])
            }
            return values
        }
    }
}
