// Multipart upload of a file larger than the part size: create, upload each part (read into memory once,
// hashed for the signature, retried on its own), complete. Any failure aborts the upload, so the bucket
// holds neither a half-written object nor orphaned parts that S3 would bill for.

import Checksum
import Foundation

extension S3ObjectStore {
    func putMultipart(key: String, fromFile path: String, sizeBytes: Int64) throws(ObjectStoreError) -> ObjectInfo {
        // The whole file's SHA-256 goes into the metadata at creation, before any part is sent: one extra read
        // of the file (~1 GB/s with libcrypto), cheaper than a copy of the object to set it afterwards.
        let sha256 = try Self.fileSHA256(path)
        let created = try perform(
            S3Request(
                operation: .createMultipartUpload, method: "POST", key: key,
                query: [(name: "uploads", value: "")],
                headers: [Self.sha256MetadataHeader: sha256], body: .data(Data())))
        guard let uploadID = S3XML.value("UploadId", in: created.text) else {
            throw .invalidResponse(
                bucket: configuration.bucket, operation: .createMultipartUpload, detail: "no UploadId")
        }
        do throws(ObjectStoreError) {
            let etags = try uploadParts(key: key, path: path, sizeBytes: sizeBytes, uploadID: uploadID)
            let etag = try completeMultipart(key: key, uploadID: uploadID, partETags: etags)
            return ObjectInfo(key: key, sizeBytes: sizeBytes, etag: etag, sha256: sha256)
        } catch {
            abortMultipart(key: key, uploadID: uploadID)
            throw error
        }
    }

    private func uploadParts(key: String, path: String, sizeBytes: Int64, uploadID: String) throws(ObjectStoreError)
        -> [String]
    {
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw .localFile(path: path, detail: "cannot open the file to upload")
        }
        defer { try? file.close() }
        let partSize = Int64(configuration.partSizeBytes)
        let partCount = Int((sizeBytes + partSize - 1) / partSize)
        var etags: [String] = []
        for partNumber in 1...partCount {
            let part: Data
            do {
                try file.seek(toOffset: UInt64(partSize) * UInt64(partNumber - 1))
                part = try file.read(upToCount: Int(partSize)) ?? Data()
            } catch {
                throw .localFile(path: path, detail: "cannot read part \(partNumber): \(error)")
            }
            let response = try perform(
                S3Request(
                    operation: .uploadPart, method: "PUT", key: key,
                    query: [(name: "partNumber", value: "\(partNumber)"), (name: "uploadId", value: uploadID)],
                    body: .data(part)))
            etags.append(Self.etag(response))
        }
        return etags
    }

    private func completeMultipart(key: String, uploadID: String, partETags: [String]) throws(ObjectStoreError)
        -> String
    {
        let parts = partETags.enumerated().map {
            "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\"\(S3XML.escape($0.element))\"</ETag></Part>"
        }
        let body = Data("<CompleteMultipartUpload>\(parts.joined())</CompleteMultipartUpload>".utf8)
        let response = try perform(
            S3Request(
                operation: .completeMultipartUpload, method: "POST", key: key,
                query: [(name: "uploadId", value: uploadID)],
                headers: ["content-type": "application/xml"], body: .data(body)))
        // S3 may answer 200 and still fail the completion, with an <Error> in the body.
        let xml = response.text
        if xml.contains("<Error>") {
            throw .unexpectedStatus(
                bucket: configuration.bucket, key: key, operation: .completeMultipartUpload, status: response.status,
                code: S3XML.value("Code", in: xml) ?? "Error", message: S3XML.value("Message", in: xml) ?? "")
        }
        return Self.unquoted(S3XML.value("ETag", in: xml) ?? "")
    }

    /// Best effort: when the abort itself fails the original error is the one worth reporting; the bucket's
    /// lifecycle rule for incomplete uploads (docs/storage.md) cleans up what is left.
    private func abortMultipart(key: String, uploadID: String) {
        do throws(ObjectStoreError) {
            _ = try perform(
                S3Request(
                    operation: .abortMultipartUpload, method: "DELETE", key: key,
                    query: [(name: "uploadId", value: uploadID)]))
        } catch {
            log?("could not abort the multipart upload of \"\(key)\" in bucket \"\(configuration.bucket)\": \(error)")
        }
    }
}
