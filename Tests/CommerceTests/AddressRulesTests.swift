import Commerce
import Testing

/// The rules every shipping address meets, typed at checkout or saved in the address book.
struct AddressRulesTests {
    static func za(region: String? = "Western Cape", postalCode: String = "8001", phone: String? = nil) -> ShippingAddress {
        ShippingAddress(name: "Thandi", line1: "12 Long Street", city: "Cape Town", region: region, postalCode: postalCode, country: "ZA", phone: phone)
    }

    @Test func southAfricaNeedsOneOfTheNineProvincesAndFourDigits() {
        #expect(Self.za().normalized().problems().isEmpty)
        #expect(Self.za(region: nil).normalized().problems()["shippingAddress.region"]?.contains("province") == true)
        #expect(Self.za(region: "Transvaal").normalized().problems()["shippingAddress.region"]?.contains("Gauteng") == true)
        for code in ["800", "80011", "8OO1", "80 01", "٨٠٠١"] {
            #expect(Self.za(postalCode: code).normalized().problems()["shippingAddress.postalCode"] != nil, "\(code)")
        }
        #expect(Self.za(postalCode: " 0002 ").normalized().problems().isEmpty)
    }

    @Test func provincesAreStoredByTheirNames() {
        let written = ["gauteng": "Gauteng", "GP": "Gauteng", "kzn": "KwaZulu-Natal", "KwaZulu Natal": "KwaZulu-Natal", "kwazulu-natal": "KwaZulu-Natal",
                       "north west": "North West", "NW": "North West", "northern cape": "Northern Cape", "WC": "Western Cape", "Free-State": "Free State",
                       "EC": "Eastern Cape", "Limpopo": "Limpopo", "mp": "Mpumalanga"]
        for (text, name) in written {
            #expect(Self.za(region: text).normalized().region == name, "\(text)")
            #expect(Self.za(region: text).normalized().problems().isEmpty, "\(text)")
        }
        #expect(ShippingAddress.southAfricanProvinces.count == 9)
        // Outside South Africa the region is kept as written.
        var elsewhere = Self.za(region: "gp")
        elsewhere.country = "DE"
        elsewhere.postalCode = "10115"
        #expect(elsewhere.normalized().region == "gp" && elsewhere.normalized().problems().isEmpty)
    }

    @Test func elsewhereAPostalCodeIsLettersDigitsSpacesAndHyphens() {
        func problems(_ code: String, _ country: String) -> [String: String] {
            ShippingAddress(name: "A", line1: "1 Road", city: "Town", postalCode: code, country: country).normalized().problems(prefix: "address")
        }
        #expect(problems("sw1a  1aa", "GB").isEmpty)
        #expect(ShippingAddress(name: "A", line1: "1", city: "T", postalCode: "sw1a  1aa", country: "GB").normalized().postalCode == "SW1A 1AA")
        #expect(problems("100-0001", "JP").isEmpty && problems("D02 X285", "IE").isEmpty)
        #expect(problems("1", "DE")["address.postalCode"] != nil)
        #expect(problems("--", "DE")["address.postalCode"] != nil)
        #expect(problems("10115;DROP", "DE")["address.postalCode"] != nil)
        #expect(problems("1234567890123", "DE")["address.postalCode"] != nil)
        // Lower-case countries are refused, as the API documents (the PWA upper-cases).
        #expect(ShippingAddress(name: "A", line1: "1", city: "T", postalCode: "10115", country: "de").problems()["shippingAddress.country"] != nil)
    }

    @Test func everyFieldIsOneLineOfPlainText() {
        var address = Self.za()
        address.line1 = "12 Long Street\nEvil: header"
        #expect(address.normalized().problems()["shippingAddress.line1"] != nil)
        address = Self.za()
        address.name = "Th\u{202E}andi"
        #expect(address.normalized().problems()["shippingAddress.name"] != nil)
        address = Self.za()
        address.city = String(repeating: "x", count: 101)
        #expect(address.normalized().problems()["shippingAddress.city"] == "must be at most 100 characters")
    }

    @Test func phoneNumbersHoldSixToFifteenDigits() {
        for good in ["+27 21 555 0100", "021-555-0100", "(021) 555.0100"] { #expect(Self.za(phone: good).normalized().problems().isEmpty, "\(good)") }
        for bad in ["12345", "+27 21 555 0100 0100 00", "call me", "27+215550100", "++27215550100"] {
            #expect(Self.za(phone: bad).normalized().problems()["shippingAddress.phone"] != nil, "\(bad)")
        }
        #expect(Self.za(phone: "  ").normalized().phone == nil)
    }
}
