import APITypes

extension StoreError: APIErrorConvertible {
    var apiError: APIErrorBody {
        let code: APIErrorCode
        switch self {
        case .invalid, .unknownDependency, .dependencyCycle: code = .badRequest
        case .unknownWorker: code = .unknownWorker
        case .unknownJob, .unknownAttempt, .unknownDataset: code = .notFound
        case .attemptNotOwned: code = .forbidden
        case .staleAttempt: code = .staleAttempt
        case .jobNameTaken, .workerNotAlive, .conflict: code = .conflict
        }
        return APIErrorBody(code: code, message: description)
    }
}
