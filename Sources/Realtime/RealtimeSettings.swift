/// Limits and timers of the realtime layer; each is an `AGORA_*` setting (see the README).
public struct RealtimeSettings: Sendable {
    /// Events sent per page while a connection catches up from PostgreSQL (`AGORA_WS_RESUME_PAGE`).
    public var resumePageSize: Int
    /// How long a new connection waits for a first `resume` before it starts at the stream head it was told in
    /// `hello` (`AGORA_WS_RESUME_WAIT_MS`). A client that resumes does so at once; this only delays a client that does
    /// not.
    public var resumeWait: Duration
    /// How often each instance compares its connections with the stream heads in PostgreSQL, catching up any that
    /// missed a publish (a crashed publisher, a Redis outage) (`AGORA_WS_RESYNC_SECONDS`).
    public var resyncInterval: Duration
    /// Topics one connection may follow at once (`AGORA_WS_MAX_TOPICS`).
    public var maxTopicsPerConnection: Int
    /// Live events a connection holds while it is catching up before it drops them and re-reads from PostgreSQL.
    public var maxBufferedEvents: Int
    /// The longest wait for the Redis subscription of a new connection's user before it reads its stream head.
    public var subscribeWait: Duration

    public init(
        resumePageSize: Int = 200,
        resumeWait: Duration = .seconds(2),
        resyncInterval: Duration = .seconds(10),
        maxTopicsPerConnection: Int = 100,
        maxBufferedEvents: Int = 1000,
        subscribeWait: Duration = .seconds(2)
    ) {
        self.resumePageSize = resumePageSize
        self.resumeWait = resumeWait
        self.resyncInterval = resyncInterval
        self.maxTopicsPerConnection = maxTopicsPerConnection
        self.maxBufferedEvents = maxBufferedEvents
        self.subscribeWait = subscribeWait
    }
}
