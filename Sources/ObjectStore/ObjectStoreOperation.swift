/// The request an error is about, with the IAM permission it needs: a refused request names that permission so
/// an operator knows what to grant.
public enum ObjectStoreOperation: String, Sendable, Equatable, CaseIterable {
    case putObject, getObject, headObject, listObjects, deleteObject
    case createMultipartUpload, uploadPart, completeMultipartUpload, abortMultipartUpload

    /// The IAM action that allows it (HeadObject is authorised by s3:GetObject, ListObjectsV2 by s3:ListBucket,
    /// every multipart step but the abort by s3:PutObject).
    public var permission: String {
        switch self {
        case .putObject, .createMultipartUpload, .uploadPart, .completeMultipartUpload: return "s3:PutObject"
        case .getObject, .headObject: return "s3:GetObject"
        case .listObjects: return "s3:ListBucket"
        case .deleteObject: return "s3:DeleteObject"
        case .abortMultipartUpload: return "s3:AbortMultipartUpload"
        }
    }
}
