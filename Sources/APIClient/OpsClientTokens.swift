import APITypes

// Named operator tokens (`POST/GET /v1/tokens`, `DELETE /v1/tokens/{name}`): admin calls.
extension OpsClient {
    /// Creates a token; the response holds its secret, which the server never shows again.
    public func createToken(_ request: CreateTokenRequest) async throws(ControlPlaneError) -> CreatedTokenResponse {
        try await requester.call(APIRoute.createToken.request(), body: request)
    }

    public func tokens() async throws(ControlPlaneError) -> [TokenView] {
        let page: ListResponse<TokenView> = try await requester.call(APIRoute.tokens.request())
        return page.items
    }

    public func revokeToken(_ name: String) async throws(ControlPlaneError) -> TokenView {
        try await requester.call(APIRoute.revokeToken.request(name))
    }
}
