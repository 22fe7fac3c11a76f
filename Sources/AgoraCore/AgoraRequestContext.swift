public import Hummingbird
/// The request context of every Agora route.
public struct AgoraRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The body size limit for this request; `BodyLimitMiddleware` sets it from `AGORA_MAX_BODY_SIZE`.
    public var maxUploadSize: Int

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.maxUploadSize = 1 << 20
    }
}
