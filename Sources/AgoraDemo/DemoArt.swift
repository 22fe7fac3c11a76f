/// Product-card illustrations for demo data: a gradient, a few soft shapes, a card and two big initials, all
/// decided by a seed, so every demo product gets its own picture and the same one on every run.
package enum DemoArt {
    /// The colours of one illustration.
    package struct Palette: Sendable, Hashable {
        /// The sky at the top of the background gradient.
        package var top: RGBColor
        /// The bottom of the gradient; the floor and the card's shadow are darker shades of it.
        package var bottom: RGBColor
        /// Colours for the background shapes.
        package var accents: [RGBColor]
        /// The card the initials sit on.
        package var card: RGBColor
        /// The initials.
        package var ink: RGBColor

        /// Makes a palette from `0xRRGGBB` values.
        package init(top: UInt32, bottom: UInt32, accents: [UInt32], card: UInt32, ink: UInt32) {
            self.top = RGBColor(hex: top)
            self.bottom = RGBColor(hex: bottom)
            self.accents = accents.map(RGBColor.init(hex:))
            self.card = RGBColor(hex: card)
            self.ink = RGBColor(hex: ink)
        }
    }

    /// The built-in palettes; `render` picks one by seed unless given one.
    package static let palettes: [Palette] = [
        Palette(top: 0xFFE3D3, bottom: 0xF7A08C, accents: [0xF26B5B, 0xFFC857, 0xFFF1E6], card: 0xFFFFFF, ink: 0x3D2C4E),  // coral
        Palette(top: 0xD8F3EC, bottom: 0x7CC6B6, accents: [0x2A9D8F, 0xE9C46A, 0xF1FAEE], card: 0xFDFDFB, ink: 0x1D3557),  // mint
        Palette(top: 0xE4E8FF, bottom: 0x98A6F5, accents: [0x5F6CE0, 0xFF9F80, 0xF4F1FF], card: 0xFFFFFF, ink: 0x23214A),  // periwinkle
        Palette(top: 0xFFF6D6, bottom: 0xF2C46D, accents: [0xE07A32, 0x7A9E7E, 0xFFFBEF], card: 0xFFFDF7, ink: 0x4A2F1B),  // honey
        Palette(top: 0xE9F5FF, bottom: 0x8EC5E8, accents: [0x3A7CA5, 0xF4A261, 0xFFFFFF], card: 0xFFFFFF, ink: 0x16324F),  // sky
        Palette(top: 0xF6E6F2, bottom: 0xD49AC6, accents: [0xA8508F, 0x8FC0A9, 0xFFF4FB], card: 0xFFFDFE, ink: 0x3B1737),  // orchid
    ]

    /// Renders an illustration.
    /// - Parameters:
    ///   - width: width in pixels (the card layout is relative, so any size from about 64 works).
    ///   - height: height in pixels.
    ///   - seed: decides the palette (unless given) and the shapes.
    ///   - initials: up to two characters drawn on the card, e.g. from `initials(of:)`.
    ///   - palette: the colours; nil picks one of `palettes` by seed.
    package static func render(width: Int = 640, height: Int = 480, seed: UInt64, initials: String, palette: Palette? = nil) -> PixelBuffer {
        var random = SplitMix64(seed: seed)
        let palette = palette ?? palettes[Int(random.next() % UInt64(palettes.count))]
        var image = PixelBuffer(width: width, height: height)
        image.fillVerticalGradient(from: palette.top, to: palette.bottom)
        let unit = min(width, height)

        // Background discs, some cut by the edges, in accents faded towards the sky.
        for index in 0..<(3 + Int(random.next() % 3)) {
            let color = palette.accents[index % palette.accents.count].mixed(with: palette.top, 0.35)
            let radius = unit / 10 + Int(random.next() % UInt64(max(1, unit / 4)))
            let centerX = Int(random.next() % UInt64(width))
            let centerY = Int(random.next() % UInt64(height))
            image.fillCircle(centerX: centerX, centerY: centerY, radius: radius, with: color)
        }
        // A floor, so the card stands on something.
        let floor = height * 3 / 4
        let floorColor = palette.bottom.mixed(with: palette.ink, 0.12)
        image.fillRoundedRectangle(x: -unit / 8, y: floor, width: width + unit / 4, height: height, radius: unit / 8, with: floorColor)

        // The card: a flat offset shadow, then the card, then the initials centred on it.
        let cardWidth = width * 9 / 20
        let cardHeight = height * 11 / 20
        let cardX = (width - cardWidth) / 2 + Int(random.next() % UInt64(max(1, width / 12))) - width / 24
        let cardY = (height - cardHeight) / 2 - height / 20
        let corner = unit / 16
        let shadow = palette.bottom.mixed(with: palette.ink, 0.35)
        image.fillRoundedRectangle(x: cardX + unit / 40, y: cardY + unit / 30, width: cardWidth, height: cardHeight, radius: corner, with: shadow)
        image.fillRoundedRectangle(x: cardX, y: cardY, width: cardWidth, height: cardHeight, radius: corner, with: palette.card)
        let accent = palette.accents[Int(random.next() % UInt64(palette.accents.count))]
        let barY = cardY + cardHeight * 4 / 5
        image.fillRoundedRectangle(
            x: cardX + cardWidth / 8, y: barY, width: cardWidth * 3 / 4, height: max(2, cardHeight / 16), radius: unit / 60, with: accent)

        let text = String(initials.uppercased().filter(BitmapFont.has).prefix(2))
        let scale = max(1, min(cardHeight * 2 / 5 / BitmapFont.glyphHeight, cardWidth * 3 / 4 / max(1, PixelBuffer.textWidth(text, scale: 1))))
        let textX = cardX + (cardWidth - PixelBuffer.textWidth(text, scale: scale)) / 2
        let textY = cardY + (cardHeight * 4 / 5 - BitmapFont.glyphHeight * scale) / 2
        image.drawText(text, x: textX, y: textY, scale: scale, with: palette.ink)
        return image
    }

    /// Renders an illustration for a product title, seeded by the title, as a PNG file.
    /// - Parameters:
    ///   - title: the product's title; its initials go on the card and its text decides the seed.
    ///   - width: width in pixels.
    ///   - height: height in pixels.
    package static func png(title: String, width: Int = 640, height: Int = 480) -> [UInt8] {
        PNGEncoder.encode(render(width: width, height: height, seed: seed(for: title), initials: initials(of: title)))
    }

    /// The first A–Z or 0–9 of each of the first two words that have one (`"Walnut desk lamp"` → `"WD"`); other
    /// letters are skipped because the built-in font has no glyphs for them.
    package static func initials(of title: String) -> String {
        let words = title.uppercased().split { !$0.isLetter && !$0.isNumber }
        return String(words.compactMap { $0.first(where: BitmapFont.has) }.prefix(2))
    }

    /// A seed that depends only on `text` (FNV-1a): `Hasher` is randomised per process, which would give every
    /// run different pictures.
    package static func seed(for text: String) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
