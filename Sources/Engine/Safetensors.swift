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
    public static func write(_ tensors: [NamedTensor], metadata: [String: String], to path: String) throws(EngineError) {
        var header: [String: Any] = [:]
        var offset = 0
        for tensor in tensors {
            guard tensor.shape.reduce(1, *) == tensor.values.count else {
                throw .checkpointIO(path: path, reason: "tensor \(tensor.name) has shape \(tensor.shape) but \(tensor.values.count) values")
            }
            let bytes = tensor.values.count * tensor.dtype.byteWidth
            header[tensor.name] = ["dtype": tensor.dtype.rawValue, "shape": tensor.shape, "data_offsets": [offset, offset + bytes]]
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
              let handle = FileHandle(forWritingAtPath: temporary) else {
            throw .checkpointIO(path: path, reason: "cannot create \(temporary) (does the directory exist and is it writable?)")
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
                    for i in 0..<n { out[i] = BFloat16.toFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
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

        public init(path: String) throws(EngineError) {
            self.path = path
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
            } catch {
                throw .checkpointIO(path: path, reason: "cannot read: \(error.localizedDescription)")
            }
            guard data.count >= 8 else { throw .invalidCheckpoint(path: path, reason: "shorter than the 8-byte header length") }
            let headerLength = data.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
            guard headerLength > 0, 8 + headerLength <= data.count else {
                throw .invalidCheckpoint(path: path, reason: "header length \(headerLength) does not fit a \(data.count)-byte file")
            }
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
                guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                      let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int],
                      offsets.count == 2 else {
                    throw .invalidCheckpoint(path: path, reason: "tensor \(name) lacks dtype/shape/data_offsets")
                }
                guard let dtype = TensorDType(rawValue: dtypeName) else {
                    throw .invalidCheckpoint(path: path, reason: "tensor \(name) has dtype \(dtypeName); expected F32 or BF16")
                }
                let range = offsets[0]..<offsets[1]
                guard offsets[0] >= 0, offsets[1] <= payload, offsets[0] <= offsets[1],
                      range.count == shape.reduce(1, *) * dtype.byteWidth else {
                    throw .invalidCheckpoint(path: path, reason: "tensor \(name) has inconsistent data_offsets \(offsets) for shape \(shape)")
                }
                entries[name] = Entry(dtype: dtype, shape: shape, byteRange: range)
            }
            self.metadata = metadata
            self.entries = entries
            self.data = data
            dataStart = 8 + headerLength
        }

        /// The fp32 values of tensor `name` (bf16 is widened).
        public func values(_ name: String) throws(EngineError) -> [Float] {
            guard let entry = entries[name] else {
                throw .invalidCheckpoint(path: path, reason: "missing tensor \(name)")
            }
            let bytes = data.subdata(in: (dataStart + entry.byteRange.lowerBound)..<(dataStart + entry.byteRange.upperBound))
            return try Safetensors.decode(bytes, as: entry.dtype)
        }
    }
}
