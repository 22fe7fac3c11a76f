package import AgoraCore
package import AgoraEvents
package import AgoraPostgres

/// The services of commerce, built once and wired to each other: what the application hands to routes, the sweeper
/// and the demo seed. Each service owns its SQL; they share the database, the event outbox and the settings.
///
/// Invariants, each kept by the database as well as by this code:
/// - stock never goes negative and reservations never exceed it (`products_reserved_within_stock`);
/// - a checkout reserves with row locks taken in product-id order, so concurrent checkouts never deadlock;
/// - a provider event is handled once (`payment_events` primary key), so a paid order is fulfilled once;
/// - every state change writes an `order_history` row and a domain event in the same transaction (`OrderRecords`);
/// - no transaction is open while a payment provider is called: a refund is recorded (`refunds`, pending) with the
///   change that owes it, asked for after the commit, and its outcome recorded in a transaction of its own.
package struct CommerceServices: Sendable {
    package let cart: CartService
    package let checkout: CheckoutService
    package let orders: OrderService
    package let refunds: RefundService
    package let inventory: InventoryService
    package let reviews: ReviewService
    package let payouts: PayoutService
    package let addresses: AddressBook
    /// Sellers' Solana wallets and what Solana Pay would take for a cart.
    package let wallets: ShopWallets
    package let settings: CommerceSettings
    /// What the services were built from.
    package let db: PGPool
    package let events: EventOutbox
    package let vault: InventoryVault
    package let providers: PaymentProviders
    package let contacts: any AccountContacts
    package let directory: any AccountDirectory
    package let mailer: any OrderMailer

    package init(
        db: PGPool, events: EventOutbox, vault: InventoryVault, settings: CommerceSettings, providers: PaymentProviders,
        contacts: any AccountContacts, directory: any AccountDirectory, mailer: any OrderMailer
    ) {
        self.settings = settings
        self.db = db
        self.events = events
        self.vault = vault
        self.providers = providers
        self.contacts = contacts
        self.directory = directory
        self.mailer = mailer
        cart = CartService(db: db, settings: settings)
        orders = OrderService(db: db, events: events, vault: vault, directory: directory, mailer: mailer, publicURL: settings.publicURL)
        refunds = RefundService(db: db, events: events, providers: providers)
        checkout = CheckoutService(
            db: db, events: events, vault: vault, settings: settings, providers: providers, orders: orders, refunds: refunds,
            contacts: contacts, mailer: mailer
        )
        inventory = InventoryService(db: db, events: events, vault: vault, settings: settings)
        reviews = ReviewService(db: db, directory: directory)
        payouts = PayoutService(db: db)
        addresses = AddressBook(db: db, settings: settings)
        wallets = ShopWallets(db: db, settings: settings)
    }
}
