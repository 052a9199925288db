import APITypes

extension WorkerNameHeld: APIErrorConvertible {
    var apiError: APIErrorBody { APIErrorBody(code: .conflict, message: description) }
}
