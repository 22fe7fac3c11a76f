"""End-to-end: the PWA in headless Chromium against a real server with the demo marketplace (scripts/e2e.sh).

A buyer signs up (and verifies the email from the development mailbox), follows a seller, likes a product, opens a
chat and sends a message; in a second browser the seller sees it arrive live and answers; the buyer buys a physical
and a digital product with the simulated payment; the seller's dashboard shows the order live and marks it shipped;
the buyer's order page changes status live and shows the digital key. Then the admin's stats page, and the app
shell offline. The operator's half: a disputed parcel refunded by the admin, and a reported listing taken down. The live
sockets are Chromium's own WebSockets, which must negotiate permessage-deflate with /ws and
receive their events compressed. Solana Pay: two sellers set their wallets, a buyer pays each seller's QR code (decoded
from the page's SVG with zxing-cpp) through the local Solana JSON-RPC stand-in (AGORA_E2E_SOLANA). Every step asserts
what the page shows; screenshots of the key screens go to AGORA_E2E_SCREENSHOTS.
"""
import glob
import json
import os
import re
import secrets
import signal
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.request
import zlib
from decimal import ROUND_CEILING, Decimal

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ.get("AGORA_E2E_URL", "http://localhost:18080")
MAILBOX = os.environ.get("AGORA_E2E_MAILBOX", "")
SHOTS = os.environ.get("AGORA_E2E_SCREENSHOTS", ".local/screenshots")
PASSWORD = "agora-demo-password"
WAIT = float(os.environ.get("AGORA_E2E_WAIT", "20"))


def wait(driver, timeout=WAIT):
    """A wait that retries when the element it looked at was replaced: live updates redraw parts of pages."""
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException])


def browser(width=1280, height=900):
    options = webdriver.ChromeOptions()
    if os.environ.get("AGORA_E2E_HEADLESS", "1") != "0":
        options.add_argument("--headless=new")
    for argument in ("--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}",
                     "--lang=en-ZA", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    binary = os.environ.get("AGORA_E2E_CHROMIUM", "/usr/bin/chromium")
    if os.path.exists(binary):
        options.binary_location = binary
    service = webdriver.ChromeService(executable_path=os.environ.get("AGORA_E2E_CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    return driver


# Installed before any of the page's own scripts (CDP Page.addScriptToEvaluateOnNewDocument, which the page's CSP does
# not govern): every WebSocket the page makes is still the browser's own, only remembered, with the type and UTF-8 size
# of each message it receives, so a test can look at the PWA's live socket, which socket.js keeps private.
RECORD_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  const sockets = [];
  Object.defineProperty(window, "__agoraSockets", { value: sockets });
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      const record = { socket: this, received: [], deaf: false };
      sockets.push(record);
      // A test may make a socket deaf: still open, but nothing goes through either way, as when its host is cut off
      // the network (the close event still reaches the page).
      const send = this.send.bind(this);
      this.send = (data) => { if (!record.deaf) send(data); };
      const listen = this.addEventListener.bind(this);
      this.addEventListener = (type, listener, options) =>
        listen(type, type === "message" ? (event) => { if (!record.deaf) listener(event); } : listener, options);
      this.addEventListener("message", (event) => {
        let type = null;
        try { type = JSON.parse(event.data).type; } catch {}
        record.received.push({ type, bytes: new TextEncoder().encode(event.data).length });
      });
    }
  };
})();
"""

# The server's default permessage-deflate threshold (AGORA_WS_COMPRESSION_THRESHOLD): messages at least this long go
# compressed.
COMPRESSION_THRESHOLD = 128


class Instance:
    """A second `agora serve` on AGORA_E2E_SECOND_PORT, sharing the first one's database and Redis, that a test may kill."""

    def __init__(self):
        self.port = int(os.environ.get("AGORA_E2E_SECOND_PORT", "18081"))
        self.url = f"http://localhost:{self.port}"
        self.process = None

    def start(self):
        env = dict(os.environ, AGORA_PORT=str(self.port))
        with open(os.path.join(os.environ.get("AGORA_DATA_DIR", "/tmp"), "second.log"), "ab") as log:
            self.process = subprocess.Popen([os.environ["AGORA_E2E_BIN"], "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the second instance exited with {self.process.returncode}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health/ready", timeout=2)
                return
            except Exception:
                time.sleep(0.2)
        raise AssertionError("the second instance never became ready")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class Page:
    """One browser session and the helpers the steps use."""

    def __init__(self, name, driver, base=BASE):
        self.name, self.driver, self.base = name, driver, base

    def go(self, path):
        self.driver.get(self.base + path)

    def find(self, css, text=None, timeout=WAIT):
        """The first visible element matching css (and containing text), waiting for it."""
        def found(driver):
            for element in driver.find_elements(By.CSS_SELECTOR, css):
                try:
                    if element.is_displayed() and (text is None or text in element.text):
                        return element
                except Exception:
                    continue
            return False
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(found)
        except TimeoutException:
            self.shot(f"FAILED-{re.sub(r'[^a-z0-9]+', '-', css.lower())[:40]}")
            raise AssertionError(f"{self.name}: no visible {css!r}{f' containing {text!r}' if text else ''} at {self.driver.current_url}\n"
                                 f"page text: {self.driver.find_element(By.TAG_NAME, 'body').text[:1500]}\nconsole: {self.console()}")

    def inner_text(self, css, text, inner=None):
        """The text of `inner` inside the element matching css and text, looked up afresh until it reads (live
        updates may redraw the element between the two lookups)."""
        def read(_):
            element = self.find(css, text)
            return (element.find_element(By.CSS_SELECTOR, inner) if inner else element).text or False
        return wait(self.driver).until(read)

    def text_becomes(self, css, expected, timeout=WAIT):
        """Waits until the element's text contains `expected`; returns it."""
        element = self.find(css)
        try:
            wait(self.driver, timeout).until(lambda _: expected in self.driver.find_element(By.CSS_SELECTOR, css).text)
        except TimeoutException:
            self.shot(f"FAILED-text-{expected[:20]}")
            raise AssertionError(f"{self.name}: {css!r} says {element.text!r}, not {expected!r}, at {self.driver.current_url}\nconsole: {self.console()}")
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def status_becomes(self, css, expected, timeout=WAIT):
        """Waits until the (capitalized) status badge reads `expected`, whatever its case."""
        self.find(css)
        try:
            wait(self.driver, timeout).until(lambda _: expected.lower() in self.driver.find_element(By.CSS_SELECTOR, css).text.lower())
        except TimeoutException:
            self.shot(f"FAILED-status-{expected[:20]}")
            raise AssertionError(f"{self.name}: {css!r} never said {expected!r} at {self.driver.current_url}\nconsole: {self.console()}")

    def click(self, css, text=None):
        for attempt in range(3):
            element = self.find(css, text)
            try:
                self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
                WebDriverWait(self.driver, WAIT).until(lambda _: element.is_enabled())
                element.click()
                return element
            except StaleElementReferenceException:
                if attempt == 2:
                    raise  # redrawn three times in a row: something is looping

    def fill(self, css, value):
        element = self.find(css)
        element.clear()
        element.send_keys(value)
        return element

    def wait_url(self, pattern, timeout=WAIT):
        try:
            WebDriverWait(self.driver, timeout).until(lambda d: re.search(pattern, d.current_url))
        except TimeoutException:
            raise AssertionError(f"{self.name}: address {self.driver.current_url} never matched {pattern}")
        return self.driver.current_url

    def live(self):
        """Waits for the live socket's "Live" badge."""
        return self.text_becomes("#conn", "Live")

    def record_sockets(self):
        """From the next page load on, remembers the page's WebSockets (RECORD_SOCKETS)."""
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_SOCKETS})

    def live_sockets(self):
        """The page's open sockets to /ws: address, negotiated extensions, and the messages each received."""
        return self.driver.execute_script("""
            return (window.__agoraSockets || [])
                .filter((r) => r.socket.readyState === 1 && new URL(r.socket.url).pathname === "/ws")
                .map((r) => ({ url: r.socket.url, extensions: r.socket.extensions, received: r.received }));
        """)

    def shot(self, name):
        os.makedirs(SHOTS, exist_ok=True)
        self.driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))

    def console(self):
        try:
            return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")][-10:]
        except Exception:
            return []

    def fetch(self, method, path, body=None):
        """An API call made by the page itself (its cookies, its Origin): setting the scene without another login."""
        result = self.driver.execute_async_script("""
            const [method, path, body, done] = arguments;
            fetch(path, { method, credentials: "same-origin", headers: body ? { "Content-Type": "application/json" } : {},
                          body: body ? JSON.stringify(body) : undefined })
              .then(async (r) => done({ status: r.status, body: await r.json().catch(() => null) }))
              .catch((e) => done({ status: 0, body: String(e) }));
        """, method, path, body)
        if result["status"] >= 300:
            raise AssertionError(f"{self.name}: {method} {path} answered {result['status']}: {result['body']}")
        return result["body"]

    def answer_prompt(self, text):
        """Types `text` into the page's prompt() and confirms it."""
        alert = WebDriverWait(self.driver, WAIT).until(EC.alert_is_present())
        alert.send_keys(text)
        alert.accept()

    def login(self, email, password=PASSWORD):
        self.go("/login")
        self.fill("#f-email", email)
        self.fill("#f-password", password)
        self.click("form button[type=submit]")
        self.find("a.bell")  # logged in (the name beside it is hidden on a phone)


def png_file(width, height, rgb=(31, 95, 91)):
    """A solid-colour PNG of width × height written to a temporary file, for the file inputs; returns its path."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    handle, path = tempfile.mkstemp(suffix=".png")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return path


BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"  # the server's default USDC (AGORA_SOLANA_TOKENS)


def solana_address():
    """A fresh Solana public key in base58 (32 random bytes: nobody holds its secret key, and nobody needs to)."""
    data = secrets.token_bytes(32)
    number, text = int.from_bytes(data, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = BASE58[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def decode_qr_svg(markup):
    """The text of a QR code drawn by Public/app/qr.js: its SVG (a viewBox of the symbol and its quiet zone, in
    modules, and one path of `M x y h w v1 h -w z` runs of dark modules) rasterised with Pillow at 4 pixels a module,
    then read by zxing-cpp as a phone's scanner would."""
    try:
        import zxingcpp
        from PIL import Image, ImageDraw
    except ImportError as error:
        raise AssertionError(f"the QR decoder is missing ({error}): pip install zxing-cpp Pillow") from error
    extent = int(re.search(r'viewBox="0 0 (\d+) \1"', markup).group(1))
    path = re.search(r'<path[^>]* d="([^"]*)"', markup).group(1)
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path)
    if not runs or "".join(f"M{x} {y}h{w}v1h-{w}z" for x, y, w in runs) != path:
        raise AssertionError(f"the QR code's path is not runs of unit squares: {path[:200]}")
    scale = 4
    image = Image.new("L", (extent * scale, extent * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y, width in ((int(x), int(y), int(w)) for x, y, w in runs):
        draw.rectangle([x * scale, y * scale, (x + width) * scale - 1, (y + 1) * scale - 1], fill=0)
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    if not found:
        raise AssertionError("zxing-cpp found no QR code in the page's SVG")
    return found[0].text


def solana_control(action, body):
    """The Solana RPC stand-in's control API (scripts/e2e.sh starts it): e.g. `pay` lands a signed transfer."""
    request = urllib.request.Request(f"{os.environ['AGORA_E2E_SOLANA']}/control/{action}", method="POST",
                                     data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def mailed_link(email, page="verify-email"):
    """The newest development mail to `email` that holds a /<page>?token= link, and that link."""
    deadline = time.time() + WAIT
    while time.time() < deadline:
        for path in sorted(glob.glob(os.path.join(MAILBOX, "*")), key=os.path.getmtime, reverse=True):
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
            if email in text:
                # Quoted-printable may fold long lines with "=\n" and encode "=" as "=3D".
                unfolded = text.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
                match = re.search(rf"https?://\S+/{page}\?token=[A-Za-z0-9_\-]+", unfolded)
                if match:
                    return match.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no {page} mail for {email} in {MAILBOX}")


class MarketplaceJourney(unittest.TestCase):
    def setUp(self):
        self.pages = []
        self.instances = []

    def tearDown(self):
        for page in self.pages:
            page.driver.quit()
        for instance in self.instances:
            instance.stop()

    def open(self, name, width=1280, height=900, base=BASE):
        page = Page(name, browser(width, height), base)
        self.pages.append(page)
        page.record_sockets()
        return page

    def assert_compressed_live_events(self, page, event_type):
        """The page's live socket negotiated permessage-deflate with the server, and received `event_type` events long
        enough to be sent compressed, which Chromium inflated and the page went on to show. (Every open socket to /ws
        is held to this: after a reconnect the page may hold two.)"""
        sockets = page.live_sockets()
        self.assertGreaterEqual(len(sockets), 1, f"{page.name}: no open socket to /ws")
        for socket in sockets:
            self.assertIn("permessage-deflate", socket["extensions"],
                          f"{page.name}: the live socket did not negotiate permessage-deflate (extensions {socket['extensions']!r})")
            compressed = [m for m in socket["received"] if m["type"] == event_type and m["bytes"] >= COMPRESSION_THRESHOLD]
            self.assertTrue(compressed, f"{page.name}: no {event_type} of {COMPRESSION_THRESHOLD} bytes or more on the live socket: "
                                        f"{socket['received']}")

    def sold_and_shipped(self, seller, buyer, title):
        """Through the API, as the logged-in pages: the seller lists a physical product, the buyer buys and pays for
        it, the seller ships it. Returns the order and the seller order ids."""
        product = seller.fetch("POST", "/api/products", {"title": title, "description": "A test listing", "price": {"amount": 25000, "currency": "ZAR"},
                                                         "stock": 3, "condition": "new", "type": "physical"})
        seller.fetch("POST", f"/api/products/{product['id']}/publish")
        buyer.fetch("DELETE", "/api/cart")
        buyer.fetch("POST", "/api/cart/items", {"productId": product["id"], "quantity": 1})
        order = buyer.fetch("POST", "/api/checkout", {"shippingAddress": {"name": "Demo Buyer", "line1": "1 Long Street", "city": "Cape Town",
                                                                           "region": "Western Cape", "postalCode": "8001", "country": "ZA"}})
        session = re.search(r"session=([^&]+)", order["payment"]["url"]).group(1)
        buyer.fetch("POST", f"/api/payments/simulated/{session}/complete", {"outcome": "paid"})
        seller_order = order["sellerOrders"][0]["id"]
        seller.fetch("POST", f"/api/seller/orders/{seller_order}/ship", {"carrier": "PostNet", "trackingNumber": "PN-E2E-1"})
        return order["id"], seller_order

    def test_a_dispute_over_a_parcel_that_never_came_is_refunded_by_the_admin(self):
        # -- A shipped order that never arrives.
        buyer = self.open("dispute-buyer")
        buyer.login("lindiwe@demo.agora.local")
        seller = self.open("dispute-seller")
        seller.login("vinyl_vault@demo.agora.local")
        order, seller_order = self.sold_and_shipped(seller, buyer, f"Turntable belt {secrets.token_hex(2)}")

        # -- The buyer opens a dispute from the order page.
        buyer.go(f"/orders/{order}")
        buyer.live()
        buyer.click("[data-testid=open-dispute]")
        buyer.find("[data-testid=open-dispute-form] select").send_keys("The parcel never came")
        buyer.fill("[data-testid=open-dispute-form] textarea", "Tracking has not moved for ten days.")
        buyer.click("[data-testid=open-dispute-form] button[type=submit]")
        buyer.status_becomes("[data-testid=dispute-status]", "open")

        # -- The seller sees it on the dashboard and refuses with a reply.
        seller.go("/sell/orders")
        seller.find("[data-testid=dispute] [data-testid=dispute-message]", "Tracking has not moved")
        seller.fill("[data-testid=dispute] textarea", "It was delivered to your door on Monday.")
        seller.click("[data-testid=dispute] .dispute-reply button[type=submit]")
        seller.status_becomes("[data-testid=dispute-status]", "seller replied")

        # -- The buyer sees the reply live and escalates.
        buyer.find("[data-testid=dispute-message]", "delivered to your door")
        buyer.click("[data-testid=escalate]")
        buyer.status_becomes("[data-testid=dispute-status]", "escalated")
        buyer.shot("13-dispute-buyer")

        # -- The admin decides: a full refund.
        admin = self.open("dispute-admin")
        admin.login("demo_admin@demo.agora.local")
        admin.go("/admin/disputes")
        admin.find(".admin-dispute", "Tracking has not moved")
        admin.click("[data-testid=decide-dispute] button[type=submit]")
        admin.answer_prompt("No proof of delivery from the courier")
        admin.find(".toast", "Refunded")
        admin.shot("14-admin-disputes")

        # -- The buyer sees the refund live; the audit log shows the decision.
        # Everything paid: the 250.00 price and the 60.00 flat shipping.
        buyer.text_becomes("[data-testid=order-refunded]", "310")
        buyer.status_becomes("[data-testid=dispute-status]", "resolved (refunded)")
        buyer.find("[data-testid=refund]", "dispute")
        admin.go("/admin/audit")
        entry = admin.find("[data-testid=audit-entry]", "dispute.decided")
        self.assertIn("No proof of delivery", entry.text)
        admin.shot("15-admin-audit")

    def test_a_reported_listing_is_taken_down_and_its_seller_sees_why(self):
        buyer = self.open("report-buyer")
        buyer.login("demo_buyer@demo.agora.local")
        seller = self.open("report-seller")
        seller.login("karoo_crafts@demo.agora.local")
        title = f"Designer bag {secrets.token_hex(2)}"
        product = seller.fetch("POST", "/api/products", {"title": title, "description": "Genuine, honest", "price": {"amount": 99900, "currency": "ZAR"},
                                                         "stock": 2, "condition": "new", "type": "physical"})
        seller.fetch("POST", f"/api/products/{product['id']}/publish")

        # -- The buyer reports the listing.
        buyer.go(f"/p/{product['id']}")
        buyer.click("[data-testid=report]")
        buyer.find("[data-testid=report-form] select").send_keys("Counterfeit")
        buyer.fill("[data-testid=report-form] textarea", "The logo is wrong; this is a copy.")
        buyer.click("[data-testid=report-form] button[type=submit]")
        buyer.find(".toast", "Reported")

        # -- The admin takes it down from the reports queue.
        admin = self.open("report-admin")
        admin.login("demo_admin@demo.agora.local")
        admin.go("/admin/reports")
        admin.find("[data-testid=report]", "The logo is wrong")
        admin.click("[data-testid=report] button[data-action=take_down]")
        admin.answer_prompt("Counterfeit brand goods are not allowed")
        admin.find(".toast", "Resolved")
        admin.shot("16-admin-reports")

        # -- Gone for buyers; the seller sees it taken down, and why.
        buyer.go(f"/p/{product['id']}")
        buyer.find("h1", "Product not found")
        seller.go("/sell/products")
        seller.find("[data-testid=takedown-reason]", "Counterfeit brand goods are not allowed")
        seller.go(f"/p/{product['id']}")
        seller.find("[data-testid=takedown-reason]", "Counterfeit brand goods are not allowed")
        seller.shot("17-seller-takedown")

    def test_buyer_and_seller_journey(self):
        tag = secrets.token_hex(3)
        username = f"shopper_{tag}"
        email = f"{username}@example.com"

        # -- The buyer signs up and verifies the email.
        buyer = self.open("buyer")
        buyer.go("/")
        buyer.find("h1", "Buy from independent sellers")
        self.assertIn("default-src 'self'", buyer.driver.execute_script(
            "return fetch('/').then(r => r.headers.get('content-security-policy'))"))
        buyer.shot("01-home-anonymous")
        buyer.click("a.button", "Create an account")
        buyer.fill("#f-displayName", f"Shopper {tag}")
        buyer.fill("#f-username", username)
        buyer.fill("#f-email", email)
        buyer.fill("#f-password", "short")
        buyer.click("form button[type=submit]")
        self.assertIn("10", buyer.find("#f-password-error").text)  # the server's 422 is shown by the field
        buyer.fill("#f-password", "correct horse battery")
        buyer.click("form button[type=submit]")
        buyer.wait_url(r"/explore")
        self.assertEqual(buyer.find("a.me").text, f"Shopper {tag}")
        buyer.live()
        # No token anywhere script can read: the cookies are HttpOnly and nothing is in web storage.
        self.assertEqual(buyer.driver.execute_script("return document.cookie"), "")
        self.assertEqual(buyer.driver.execute_script("return localStorage.length"), 0)
        buyer.driver.get(mailed_link(email))
        buyer.find("h1", "Email verified")

        # -- Follows a seller.
        buyer.go("/u/thandi_tech")
        followers = int(buyer.find("[data-testid=followers]").text)
        buyer.click("[data-testid=follow]", "Follow")
        buyer.text_becomes("[data-testid=follow]", "Following")
        self.assertEqual(int(buyer.find("[data-testid=followers]").text), followers + 1)
        buyer.shot("02-seller-profile")

        # -- Finds a product through search and likes it.
        buyer.go("/explore")
        buyer.fill("#x-q", "charger")
        buyer.find("#x-q").send_keys(Keys.ENTER)
        buyer.click(".product-card .card-title", "USB-C charger")
        buyer.wait_url(r"/p/usb-c-charger[a-z0-9-]*-[0-9a-f]{12}$")  # the product's shareable address
        charger_url = buyer.driver.current_url
        likes = int(buyer.find("[data-testid=likes]").text)
        buyer.click("[data-testid=like]")
        buyer.text_becomes("[data-testid=like]", "Liked")
        buyer.text_becomes("[data-testid=likes]", str(likes + 1))
        buyer.shot("03-product")

        # -- The seller logs in elsewhere and watches the messages.
        seller = self.open("seller")
        seller.login("thandi_tech@demo.agora.local")
        seller.live()
        seller.go("/chat")
        seller.find("h1", "Messages")
        seller.live()

        # -- The buyer messages the seller from the product.
        buyer.click("[data-testid=message-seller]")
        buyer.wait_url(r"/chat/[0-9a-fA-F-]{36}")
        buyer.live()
        buyer.fill("#chat-input", "Hi! Is the charger still available?")
        buyer.find("#chat-input").send_keys(Keys.ENTER)
        buyer.find(".message.mine", "Is the charger still available?")

        # -- The seller sees it arrive live (the conversation appears with an unread count) and answers.
        seller.find(".conversation", f"Shopper {tag}")
        self.assertEqual(seller.find(".conversation [data-testid=unread]").text, "1")
        seller.click(".conversation a", f"Shopper {tag}")
        seller.find(".message.theirs", "Is the charger still available?")
        buyer.text_becomes(".message.mine [data-testid=receipt]", "Seen")  # the seller's read receipt, live
        seller.find("#chat-input").send_keys("Yes")
        buyer.text_becomes("[data-testid=typing]", "is typing")
        seller.find("#chat-input").send_keys(" it is! It ships tomorrow.", Keys.ENTER)
        buyer.find(".message.theirs", "It ships tomorrow.")
        # -- Both live sockets speak permessage-deflate (the server accepts it by default), and the chat messages each
        #    page just showed came through them compressed.
        self.assert_compressed_live_events(buyer, "chat:message")
        self.assert_compressed_live_events(seller, "chat:message")
        seller.shot("04-seller-chat")
        buyer.shot("05-buyer-chat")

        # -- The seller opens the dashboard; the buyer buys the charger and a digital key.
        seller.go("/sell/orders")
        seller.find("h2", "Incoming orders")
        seller.live()
        before = len(seller.driver.find_elements(By.CSS_SELECTOR, "[data-testid=incoming-order]"))
        buyer.driver.get(charger_url)
        buyer.click(".buy button[type=submit]", "Add to cart")
        buyer.find(".toast", "Added to your cart")
        buyer.go("/explore?q=stardew")
        buyer.click(".product-card .card-title", "Stardew Farm")
        buyer.click(".buy button[type=submit]", "Add to cart")
        buyer.find(".toast", "Added to your cart")
        buyer.go("/cart")
        buyer.find(".cart-line", "USB-C charger")
        buyer.find(".cart-line", "Stardew Farm")
        buyer.fill("#f-name", f"Shopper {tag}")
        buyer.fill("#f-line1", "12 Long Street")
        buyer.fill("#f-city", "Cape Town")
        buyer.fill("#f-postalCode", "8001")
        buyer.fill("#f-region", "Western Cape")
        buyer.click("#save-address")
        buyer.shot("06-cart")
        buyer.click("form.checkout button[type=submit]")
        buyer.wait_url(r"/pay\.html\?session=")
        buyer.find("#total")
        buyer.shot("07-payment")
        buyer.click("#pay")
        order_url = buyer.wait_url(r"/orders/[0-9a-f-]{36}")
        buyer.live()

        # -- The seller's dashboard shows the new order live.
        seller.find(".toast", "New order")
        seller.text_becomes("[data-testid=new-orders]", "1")
        WebDriverWait(seller.driver, WAIT).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid=incoming-order]")) == before + 1)
        self.assertIn("paid", seller.inner_text("[data-testid=incoming-order]", "USB-C charger", "[data-testid=incoming-status]").lower())
        self.assertNotIn("Stardew", seller.inner_text("[data-testid=incoming-order]", "USB-C charger"))  # the key is another seller's
        seller.shot("08-seller-new-order")

        # -- The buyer's order: paid, the key delivered.
        key = buyer.find("[data-testid=digital-item]").text
        self.assertRegex(key, r"^DEMO-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$")
        self.assertIn("paid", buyer.inner_text("[data-testid=seller-order]", "USB-C charger", "[data-testid=seller-order-status]").lower())
        buyer.shot("09-order-paid")

        # -- The seller marks it shipped; the buyer's page changes live.
        tracking = f"PN{tag.upper()}"
        seller_order = wait(seller.driver).until(lambda _: seller.find("[data-testid=incoming-order]", "USB-C charger").get_attribute("data-id"))
        seller.fill(f"#tracking-{seller_order}", tracking)
        seller.click(f"li[data-id='{seller_order}'] .ship-form button[type=submit]", "Mark shipped")
        seller.find(".toast", "Marked shipped")
        seller.find("[data-testid=incoming-order]", tracking)
        buyer.find("[data-testid=tracking]", tracking)
        self.assertIn("shipped", buyer.inner_text("[data-testid=seller-order]", "USB-C charger", "[data-testid=seller-order-status]").lower())
        self.assert_compressed_live_events(buyer, "order:status")
        self.assert_compressed_live_events(seller, "order:status")
        self.assertEqual(buyer.find("[data-testid=digital-item]").text, key)
        buyer.shot("10-order-shipped")

        # -- The bell counts the shipping notice; the list shows it.
        self.assertNotEqual(buyer.text_becomes("[data-unread]", "").text, "0")
        buyer.click("a.bell")
        buyer.find("[data-testid=notification]", "shipped")
        buyer.shot("11-notifications")

        # -- The address typed at checkout was saved to the address book, as its default.
        buyer.go("/account/addresses")
        self.assertIn("default", buyer.inner_text("[data-testid=saved-address]", "12 Long Street").lower())

        # -- The buyer confirms receipt, and may then review what was bought: the review shows on the product.
        buyer.driver.get(order_url)
        buyer.click("[data-testid=seller-order] button", "I received it")
        wait(buyer.driver).until(lambda d: all(
            "delivered" in e.text.lower() for e in d.find_elements(By.CSS_SELECTOR, "[data-testid=seller-order-status]")))
        buyer.driver.get(charger_url)
        buyer.click(".review-form summary", "Write a review")
        buyer.click(".review-form input[name=rating][value='4']")
        buyer.fill("#review-body", "Charges my laptop fast. Arrived a day early.")
        buyer.click(".review-form button[type=submit]", "Post review")
        buyer.find(".review-form p[role=status]", "Thanks for your review")
        buyer.driver.refresh()
        buyer.find(".review", "Arrived a day early")
        buyer.find(".reviews p", "4 out of 5 from 1 review")
        buyer.shot("11b-review")

        # -- The admin's stats page draws its charts from the stats endpoint.
        admin = self.open("admin")
        admin.login("demo_admin@demo.agora.local")
        admin.go("/admin")
        paid = admin.find(".stat-card", "Paid orders")
        self.assertGreaterEqual(int(paid.find_element(By.TAG_NAME, "strong").text), 1)
        self.assertGreaterEqual(len(admin.driver.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")), 1)
        admin.find("table td", "USB-C charger")
        admin.shot("12-admin-stats")

        # -- On a phone: the tab bar instead of the sidebar, and the shell keeps working without the network.
        phone = self.open("phone", 390, 844)
        phone.login(email, "correct horse battery")
        phone.go("/orders")
        phone.find("[data-testid=order-status]")
        self.assertTrue(phone.find("#tabbar").is_displayed())
        phone.shot("13-phone-orders")
        phone.driver.execute_script("return navigator.serviceWorker.ready.then(() => true)")
        WebDriverWait(phone.driver, WAIT).until(lambda d: d.execute_script("return !!navigator.serviceWorker.controller") or d.refresh())
        # Chromium's own installability check (what Lighthouse's "installable" audit asks): no errors.
        manifest = phone.driver.execute_cdp_cmd("Page.getAppManifest", {})
        self.assertEqual(manifest.get("errors", []), [], manifest)
        errors = phone.driver.execute_cdp_cmd("Page.getInstallabilityErrors", {})
        self.assertEqual(errors.get("installabilityErrors"), [], errors)
        phone.driver.set_network_conditions(offline=True, latency=0, download_throughput=0, upload_throughput=0)
        phone.driver.execute_cdp_cmd("Network.enable", {})
        phone.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
        phone.go("/explore")
        phone.find("#offline", "cannot be reached")
        phone.find("a.brand")
        phone.shot("14-phone-offline")

    def test_a_shared_product_link_opens_its_page_and_the_app(self):
        tag = secrets.token_hex(3)
        seller = self.open("sharing-seller")
        seller.login("karoo_crafts@demo.agora.local")
        title = f"Shared </script> bowl {tag}"
        product = seller.fetch("POST", "/api/products", {"title": title, "description": "Thrown by hand.", "price": {"amount": 45000, "currency": "ZAR"},
                                                         "stock": 2, "condition": "new", "type": "physical"})
        product = seller.fetch("POST", f"/api/products/{product['id']}/publish")
        slug = product["slug"]
        self.assertTrue(slug.startswith(f"shared-script-bowl-{tag}-"), slug)

        # A visitor follows an old-style link (the id): the server answers 301 to the slug, renders the page's tags,
        # and the app boots on it and draws the product over the server's view.
        visitor = self.open("visitor")
        visitor.go(f"/p/{product['id']}")
        visitor.find("article.product h1", title)
        self.assertTrue(visitor.driver.current_url.endswith(f"/p/{slug}"), visitor.driver.current_url)
        head = visitor.driver.execute_script("""return {
            canonical: document.querySelector("link[rel=canonical]")?.href,
            ogTitle: document.querySelector("meta[property='og:title']")?.content,
            ld: JSON.parse(document.querySelector("script[type='application/ld+json']").textContent) };""")
        self.assertEqual(head["ogTitle"], title)
        self.assertTrue(head["canonical"].endswith(f"/p/{slug}"))
        self.assertEqual(head["ld"]["offers"]["price"], "450.00")
        visitor.find("[data-testid=share]", "Share")
        visitor.shot("share-01-product")

        # The seller gives the shop a banner on the account page; the shop's page, opened from a shared /s/ link,
        # shows it.
        seller.go("/account")
        seller.find("[data-testid=banner-file]").send_keys(png_file(640, 160))
        seller.find(".toast", "Shop banner updated")
        seller.find("[data-testid=banner]")
        visitor.go("/s/karoo_crafts")
        visitor.find("section.profile h1")
        visitor.find("img[data-testid=banner]")
        visitor.find("[data-testid=member-since]", "Member since")
        self.assertTrue(visitor.driver.execute_script("return document.querySelector(\"link[rel=canonical]\").href").endswith("/s/karoo_crafts"))
        visitor.shot("share-02-shop")

    def test_a_phone_loads_the_webp_thumbnails_of_product_cards(self):
        """Product images carry thumbnails made at upload (libvips); the cards offer them in srcset, and a phone-sized
        window fetches the 320-pixel WebP rather than the original."""
        phone = self.open("thumbnails")
        phone.driver.set_window_size(400, 900)
        phone.go("/")
        phone.find(".product-card img")
        script = """const i = document.querySelector('.product-card img');
            return i && i.complete && i.naturalWidth ? {srcset: i.srcset, current: i.currentSrc, natural: i.naturalWidth} : null;"""
        card = WebDriverWait(phone.driver, WAIT).until(lambda d: d.execute_script(script))
        self.assertRegex(card["srcset"], r"/media/[0-9a-f]{32}-320\.webp 320w, /media/[0-9a-f]{32}\.png 640w")
        self.assertTrue(card["current"].endswith("-320.webp"), card)
        served = phone.driver.execute_script("""return fetch(arguments[0]).then(async (r) =>
            ({status: r.status, type: r.headers.get('content-type'), bytes: (await r.arrayBuffer()).byteLength}));""", card["current"])
        self.assertEqual((served["status"], served["type"]), (200, "image/webp"), served)

    def test_a_push_reaches_the_service_worker_and_shows_a_notification_that_opens_its_page(self):
        """The service worker's half of Web Push in Chromium: notification permission granted and a push delivered to
        the worker through DevTools (ServiceWorker.deliverPushMessage, the payload as the server encrypts it, decrypted
        by the browser), which shows the notification with the page to open. A headless Chromium has no push service
        to subscribe with, so the server's half (subscription, encryption, VAPID) is the Swift WebPushTests' against
        a real push library; DevTools has no command to click a notification, so the click's target is read from the
        notification's data."""
        page = self.open("push")
        page.driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": BASE, "permissions": ["notifications"]})
        page.login("demo_buyer@demo.agora.local")
        scope = page.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            navigator.serviceWorker.ready.then((r) => done(r.scope)).catch((e) => done(String(e)));""")
        self.assertEqual(scope, BASE + "/")
        self.assertEqual(page.driver.execute_script("return Notification.permission"), "granted")
        payload = json.dumps({"title": "New message", "body": "Is the pot still for sale?", "url": "/chat/abc", "tag": "msg-abc", "kind": "message"})
        page.driver.execute_cdp_cmd("ServiceWorker.enable", {})
        shown = []
        for registration in ("0", "1", "2", "3"):
            try:
                page.driver.execute_cdp_cmd("ServiceWorker.deliverPushMessage", {"origin": BASE, "registrationId": registration, "data": payload})
            except Exception:  # noqa: BLE001 - not this registration id
                continue
            deadline = time.time() + 5
            while time.time() < deadline and not shown:
                shown = page.driver.execute_async_script("""
                    const done = arguments[arguments.length - 1];
                    navigator.serviceWorker.ready.then((r) => r.getNotifications())
                      .then((list) => done(list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url }))))
                      .catch((e) => done([]));""")
                time.sleep(0.1)
            if shown:
                break
        self.assertEqual(shown, [{"title": "New message", "body": "Is the pot still for sale?", "tag": "msg-abc", "url": "/chat/abc"}])
        # The click opens data.url on our own origin (sw.js notificationclick): that page is the conversation.
        page.go(shown[0]["url"])
        page.find("h1, .chat, [data-testid=thread], main")
        self.assertTrue(page.driver.current_url.endswith("/chat/abc"))

    def test_a_third_party_web_app_uses_the_api_with_tokens_in_the_body_across_origins(self):
        """The native-client flow from a browser on another origin: CORS lets the listed origin (127.0.0.1 on port + 2,
        AGORA_CORS_ORIGINS) log in with `Agora-Token-Delivery: body`, call the API with the bearer token and refresh
        with the token in the body; the same page from an origin that is not listed (localhost) is refused by the
        browser itself."""
        import http.server
        import threading
        from urllib.parse import urlparse
        api = BASE
        third = int(urlparse(BASE).port) + 2
        page_html = b"<!doctype html><title>Third party</title><p>A web app of someone else's.</p>"

        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page_html)))
                self.end_headers()
                self.wfile.write(page_html)

            def log_message(self, *arguments):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", third), Page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.shutdown)
        flow = """
            const [api, done] = arguments;
            (async () => {
              const json = { "Content-Type": "application/json", "Agora-Token-Delivery": "body" };
              const login = await fetch(api + "/api/auth/login", { method: "POST", headers: json,
                body: JSON.stringify({ email: "demo_buyer@demo.agora.local", password: "agora-demo-password" }) });
              const grant = await login.json();
              const me = await (await fetch(api + "/api/me", { headers: { Authorization: "Bearer " + grant.accessToken } })).json();
              const refreshed = await (await fetch(api + "/api/auth/refresh", { method: "POST", headers: json,
                body: JSON.stringify({ refreshToken: grant.refreshToken }) })).json();
              done({ status: login.status, username: me.username, rotated: Boolean(refreshed.refreshToken) && refreshed.refreshToken !== grant.refreshToken,
                     cookies: document.cookie });
            })().catch((error) => done({ error: String(error) }));
        """
        listed = self.open("third-party")
        listed.driver.get(f"http://127.0.0.1:{third}/")
        result = listed.driver.execute_async_script(flow, api)
        self.assertEqual(result, {"status": 200, "username": "demo_buyer", "rotated": True, "cookies": ""}, result)

        unlisted = self.open("unlisted-party")
        unlisted.driver.get(f"http://localhost:{third}/")
        refused = unlisted.driver.execute_async_script(flow, api)
        self.assertIn("Failed to fetch", refused.get("error", ""), refused)

    def test_a_forgotten_password_is_reset_from_the_mailed_link(self):
        page = self.open("forgetful")
        page.go("/login")
        page.click("a", "Forgot password?")
        page.fill("#f-email", "pieter@demo.agora.local")
        page.click("form button[type=submit]", "Send link")
        page.find("form p[role=status]", "a link is on its way")
        page.driver.get(mailed_link("pieter@demo.agora.local", "reset-password"))
        page.find("h1", "Choose a new password")
        page.fill("#f-password", "a brand new passphrase")
        page.click("form button[type=submit]", "Set password")
        page.find("h1", "Password changed")
        page.login("pieter@demo.agora.local", "a brand new passphrase")
        self.assertEqual(page.find("a.me").text, "Pieter")

    def test_a_buyer_continues_with_discord_and_another_links_it_on_the_account_page(self):
        # The local provider (scripts/e2e.sh) stands in for Discord; the browser consents as its default user.
        def provider_user(subject, username, email):
            request = urllib.request.Request(os.environ["AGORA_E2E_OAUTH"] + "/control/users", method="POST",
                                             data=json.dumps({"e2e_discord": {"id": subject, "username": username, "email": email,
                                                                              "verified": True}}).encode(),
                                             headers={"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=10).read()

        tag = secrets.token_hex(4)
        provider_user("9" + str(int(tag, 16)), "Disco" + tag, f"disco-{tag}@example.com")
        page = self.open("discord")
        page.go("/login")
        page.click("[data-testid=oauth-discord]", "Continue with Discord")
        page.find("a.bell")  # logged in, on a new account
        page.wait_url(r"/explore\?welcome=1")
        page.go("/account")
        page.find("p", f"disco-{tag}@example.com")
        page.find("section p", f"Discord: connected as Disco{tag}")
        page.find("p", "No password yet")
        page.shot("discord-login")

        # Someone with a password links a Discord account from the account page, then unlinks it.
        provider_user("8" + str(int(tag, 16)), "Linker" + tag, f"linker-discord-{tag}@example.com")
        other = self.open("linker")
        other.go("/signup")
        other.fill("#f-displayName", "Linker")
        other.fill("#f-username", "linker_" + tag)
        other.fill("#f-email", f"linker-{tag}@example.com")
        other.fill("#f-password", "a long linker password")
        other.click("form button[type=submit]", "Sign up")
        other.wait_url(r"/explore")
        other.go("/account")
        other.click("[data-testid=link-discord]", "Link Discord")
        other.wait_url(r"/account\?linked=discord")
        other.find("section p", f"Discord: connected as Linker{tag}")
        other.click("[data-testid=unlink-discord]", "Unlink")
        other.find("section p", "Discord: not connected")

    def test_a_buyer_pays_two_sellers_with_solana_pay_by_qr_code(self):
        tag = secrets.token_hex(2)
        crafts_wallet, vinyl_wallet = solana_address(), solana_address()

        # -- One seller sets a wallet on the dashboard: a wrong address is refused by the field, then USDC is accepted.
        crafts = self.open("solana-seller")
        crafts.login("karoo_crafts@demo.agora.local")
        crafts.go("/sell/payouts")
        crafts.find("h2", "Solana wallet")
        crafts.find("[data-testid=wallet-status]", "No wallet yet")
        crafts.fill("[data-testid=wallet-address]", "not-a-wallet-0OIl")
        Select(crafts.find("[data-testid=wallet-token]")).select_by_value("USDC")
        crafts.click("[data-testid=wallet-save]")
        self.assertIn("Solana public key", crafts.find("#wallet-address-error").text)
        self.assertEqual(crafts.find("[data-testid=wallet-address]").get_attribute("aria-invalid"), "true")
        crafts.fill("[data-testid=wallet-address]", crafts_wallet)
        crafts.click("[data-testid=wallet-save]")
        crafts.text_becomes("[data-testid=wallet-status]", crafts_wallet)
        self.assertIn("USDC", crafts.find("[data-testid=wallet-status]").text)
        crafts.find("[data-testid=wallet-remove]")
        crafts.shot("solana-seller-wallet")

        # -- The other sets one through the API, in SOL.
        vinyl = self.open("solana-seller-2")
        vinyl.login("vinyl_vault@demo.agora.local")
        wallet = vinyl.fetch("PUT", "/api/seller/wallet", {"address": vinyl_wallet, "token": "SOL"})
        self.assertEqual((wallet["address"], wallet["token"], wallet.get("mint"), wallet["decimals"]), (vinyl_wallet, "SOL", None, 9))

        # -- A product of each in the buyer's cart.
        products = {}
        for seller, title, price in ((crafts, f"Clay teapot {tag}", 25000), (vinyl, f"Jazz LP {tag}", 12000)):
            product = seller.fetch("POST", "/api/products", {"title": title, "description": "For the Solana Pay test", "price": {"amount": price, "currency": "ZAR"},
                                                             "stock": 3, "condition": "new", "type": "physical"})
            seller.fetch("POST", f"/api/products/{product['id']}/publish")
            products[title] = product
        buyer = self.open("solana-buyer")
        buyer.login("demo_buyer@demo.agora.local")  # has a default address: checkout ships there
        buyer.fetch("DELETE", "/api/cart")
        for product in products.values():
            buyer.fetch("POST", "/api/cart/items", {"productId": product["id"], "quantity": 1})

        # -- At checkout the card is chosen; Solana Pay shows each seller's quote at the configured rate.
        options = buyer.fetch("GET", "/api/checkout/options")["solanaPay"]
        self.assertTrue(options["available"], options)
        quotes = {quote["token"]: quote for quote in options["quotes"]}
        self.assertEqual(set(quotes), {"USDC", "SOL"}, options)
        for token, rate, decimals in (("USDC", "0.055", 6), ("SOL", "0.0003", 9)):
            expected = (Decimal(quotes[token]["total"]["amount"]) / 100 * Decimal(rate)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_CEILING)
            self.assertEqual(Decimal(quotes[token]["amount"]), expected, quotes[token])
            self.assertEqual(quotes[token]["amountAtomic"], int(expected.scaleb(decimals)), quotes[token])
        buyer.go("/cart")
        self.assertTrue(buyer.find("[data-testid=pay-provider]").is_selected())
        buyer.click("[data-testid=pay-solana]")
        for token, quote in quotes.items():
            shown = buyer.find("[data-testid=solana-quote]", f"{quote['amount']} {token}").text
            self.assertIn(f"Rate {quote['rate']} {token} per ZAR · e2e fixed rate · ", shown)
        buyer.find("[data-testid=solana-quote]", f"Clay teapot {tag}")
        buyer.driver.execute_script("document.getElementById('solana-quotes').scrollIntoView({block: 'center'})")
        buyer.shot("solana-checkout")

        # -- Checkout lands on the order's page: a QR code and a wallet link per seller.
        buyer.click("form.checkout button[type=submit]", "Checkout and pay")
        order_id = re.search(r"/orders/([0-9a-fA-F-]{36})$", buyer.wait_url(r"/orders/[0-9a-fA-F-]{36}$")).group(1)
        buyer.find("h3", "Pay Karoo Crafts")
        buyer.find("h3", "Pay Vinyl Vault")
        wait(buyer.driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid=solana-qr] svg")) == 2)
        order = buyer.fetch("GET", f"/api/orders/{order_id}")
        self.assertEqual(order["payment"]["provider"], "solana_pay")
        transfers = {t["sellerOrderId"]: t for t in order["payment"]["solanaPay"]}
        cards = buyer.driver.execute_script("""
            return [...document.querySelectorAll("[data-testid=solana-transfer]")].map((card) => ({
              sellerOrder: card.dataset.sellerOrder, svg: card.querySelector("[data-testid=solana-qr] svg").outerHTML,
              href: card.querySelector("[data-testid=solana-link]").getAttribute("href"),
              status: card.querySelector("[data-testid=solana-status]").textContent }));
        """)
        self.assertEqual({card["sellerOrder"] for card in cards}, set(transfers))
        for card in cards:
            transfer = transfers[card["sellerOrder"]]
            decoded = decode_qr_svg(card["svg"])
            self.assertEqual(decoded, card["href"])
            self.assertEqual(decoded, transfer["url"])
            recipient = crafts_wallet if transfer["token"] == "USDC" else vinyl_wallet
            self.assertTrue(decoded.startswith(f"solana:{recipient}?amount={transfer['amount']}"), decoded)
            self.assertEqual((transfer["amount"], transfer.get("mint")), (quotes[transfer["token"]]["amount"], USDC_MINT if transfer["token"] == "USDC" else None))
            self.assertIn(f"reference={transfer['reference']}", decoded)
            self.assertIn("Waiting for payment", card["status"])
        buyer.find("[data-testid=solana-rate]", "e2e fixed rate")
        buyer.shot("solana-order-qr")

        # -- Each transfer lands on the chain and the page follows without a reload: the first is seen `confirmed`
        #    (no event says so: the page's poll shows it), then finalized; the second lands finalized at once.
        buyer.driver.execute_script("window.__sameDocument = true")

        def status_of(seller_order):
            return buyer.driver.execute_script(
                "return document.querySelector(`[data-seller-order='${arguments[0]}'] [data-testid=solana-status]`)?.textContent ?? ''", seller_order)

        def statuses_become(expected):
            try:
                wait(buyer.driver).until(lambda _: all(word in status_of(so) for so, word in expected.items()))
            except TimeoutException:
                buyer.shot("FAILED-solana-status")
                raise AssertionError(f"the transfers never read {expected}: {[status_of(so) for so in transfers]}\nconsole: {buyer.console()}")

        first, second = transfers
        pay = {so: {"recipient": t["recipient"], "amount": str(t["amountAtomic"]), "splToken": t.get("mint"), "reference": t["reference"]}
               for so, t in transfers.items()}
        landed = {first: solana_control("pay", {**pay[first], "stage": "confirmed"})}
        statuses_become({first: "Confirming", second: "Waiting for payment"})
        self.assertIn(landed[first]["signature"], buyer.find(f"[data-seller-order='{first}'] [data-testid=solana-signature]").text)
        self.assertEqual(buyer.driver.find_elements(By.CSS_SELECTOR, f"[data-seller-order='{first}'] [data-testid=solana-qr]"), [],
                         "a transfer on its way still shows its QR code")
        solana_control("finalize", {"signature": landed[first]["signature"]})
        statuses_become({first: "Paid", second: "Waiting for payment"})
        landed[second] = solana_control("pay", {**pay[second], "stage": "finalized"})
        statuses_become({first: "Paid", second: "Paid"})
        for seller_order, transaction in landed.items():
            self.assertIn(transaction["signature"], buyer.find(f"[data-seller-order='{seller_order}'] [data-testid=solana-signature]").text)
        buyer.status_becomes("[data-testid=order-status]", "paid")
        self.assertEqual(len(buyer.driver.find_elements(By.CSS_SELECTOR, "[data-testid=solana-qr]")), 0, "a paid transfer still shows its QR code")
        self.assertTrue(buyer.driver.execute_script("return window.__sameDocument === true"), "the order page was reloaded")
        buyer.shot("solana-order-paid")

    def test_a_socket_whose_host_goes_silent_is_left_and_resumed_elsewhere(self):
        # No close and no answer: the PWA's ping (every 25 s, 10 s to answer; 1 s each here) must notice.
        page = self.open("silent")
        page.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                    {"source": "window.__agoraPingMs = 1000; window.__agoraPongMs = 1000;"})
        page.login("vinyl_vault@demo.agora.local")
        page.live()
        opened = page.driver.execute_script("return window.__agoraSockets.filter((r) => new URL(r.socket.url).pathname === '/ws').length")
        page.driver.execute_script("window.__agoraSockets.filter((r) => new URL(r.socket.url).pathname === '/ws').at(-1).deaf = true")
        started = time.monotonic()
        WebDriverWait(page.driver, WAIT).until(lambda d: d.execute_script(
            "return window.__agoraSockets.filter((r) => new URL(r.socket.url).pathname === '/ws' && !r.deaf && r.socket.readyState === 1).length") >= 1
            and d.execute_script("return window.__agoraSockets.filter((r) => new URL(r.socket.url).pathname === '/ws').length") > opened)
        took = time.monotonic() - started
        page.live()
        self.assertLess(took, 10, f"the silent socket was left after {took:.1f} s")
        deaf_state = page.driver.execute_script(
            "return window.__agoraSockets.filter((r) => r.deaf).map((r) => r.socket.readyState)")
        self.assertTrue(all(state >= 2 for state in deaf_state), f"the silent socket is closing or closed: {deaf_state}")

    def test_the_service_worker_caches_every_shell_file(self):
        public = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Public")
        with open(os.path.join(public, "sw.js"), encoding="utf-8") as handle:
            source = handle.read()
        listed = set(re.findall(r'"(/[^"]*)"', source[source.index("const SHELL"):source.index("];")]))
        files = {"/" + os.path.relpath(path, public).replace(os.sep, "/")
                 for path in glob.glob(os.path.join(public, "app", "**", "*.js"), recursive=True)}
        files |= {"/", "/index.html", "/styles.css", "/manifest.webmanifest"}
        files |= {"/icons/" + name for name in os.listdir(os.path.join(public, "icons")) if "maskable" not in name}
        self.assertEqual(files - listed, set(), "files the offline shell would lack")
        self.assertEqual(listed - files, set(), "listed files that do not exist (install would fail)")

    def test_seller_lists_products_and_buyers_see_changes_live(self):
        tag = secrets.token_hex(3)
        word = f"zanzibar{tag}"  # a search word no other product has

        # -- A seller creates a draft: a bad price is refused next to the field, nothing is created.
        seller = self.open("lister")
        seller.login("karoo_crafts@demo.agora.local")
        seller.go("/sell/products")
        seller.click("a.button", "New product")
        seller.fill("#f-title", f"Carved vase {word}")
        seller.fill("#f-description", "Hand-carved from jacaranda wood.")
        seller.fill("#f-price", "-5")
        seller.click("form button[type=submit]", "Create draft")
        seller.find("#f-price-error")
        self.assertRegex(seller.driver.current_url, r"/sell/products/new$")
        seller.fill("#f-price", "199.50")
        seller.fill("#f-stock", "3")
        seller.fill("#f-tags", "vase, wood")
        seller.click("form button[type=submit]", "Create draft")
        seller.wait_url(r"/sell/products/[0-9A-Fa-f-]{36}$")
        seller.find(".toast", "Draft created")

        # -- Uploads an image (multipart from the file input) and publishes.
        image = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Public", "icons", "icon-512.png")
        seller.find("#image-file").send_keys(os.path.abspath(image))
        seller.find(".image-list img")
        seller.click("button", "Publish")
        seller.find("h2 .status", "Published")  # capitalised by CSS
        seller.shot("15-seller-editor")
        product_path = "/p/" + seller.driver.current_url.rsplit("/", 1)[1]

        # -- A buyer finds it by search and keeps its page open.
        buyer = self.open("watcher")
        buyer.login("demo_buyer@demo.agora.local")
        buyer.go(f"/explore?q={word}")
        buyer.find(".product-card", "Carved vase")
        buyer.click(".product-card .card-title", "Carved vase")
        buyer.find("[data-testid=price]", "199.50")
        buyer.live()
        buyer.find(".gallery img")

        # -- The seller changes price and stock; the open product page follows live (topic product:<id>).
        seller.fill("#f-price", "149.00")
        seller.fill("#f-stock", "1")
        seller.click("form button[type=submit]", "Save changes")
        seller.find(".toast", "Saved")
        buyer.text_becomes("[data-testid=price]", "149.00")
        buyer.text_becomes("[data-testid=stock]", "only 1 left")
        # A topic event is compressed once for every follower with the same window (PreparedMessage).
        self.assert_compressed_live_events(buyer, "product:updated")
        buyer.shot("16-product-live-update")

        # -- The buyer blocks the seller (after a confirmation) and the profile remembers it; then unblocks.
        buyer.go("/u/karoo_crafts")
        buyer.click("[data-testid=block]", "Block")
        WebDriverWait(buyer.driver, WAIT).until(EC.alert_is_present()).accept()
        buyer.text_becomes("[data-testid=block]", "Unblock")
        buyer.driver.refresh()
        buyer.text_becomes("[data-testid=block]", "Unblock")
        buyer.click("[data-testid=block]", "Unblock")
        buyer.text_becomes("[data-testid=block]", "Block")

        # -- A digital product's stock is its uploaded inventory; duplicate lines are counted, not stored.
        seller.go("/sell/products/new")
        seller.fill("#f-title", f"Gift code {word}")
        seller.fill("#f-price", "50")
        seller.find("#f-type").send_keys("Digital key")
        seller.click("form button[type=submit]", "Create draft")
        seller.wait_url(r"/sell/products/[0-9A-Fa-f-]{36}$")
        seller.fill("#inventory-lines", f"CODE-{tag}-1\nCODE-{tag}-2\nCODE-{tag}-1")
        seller.click("button", "Upload items")
        result = seller.find("section p[role=status]", "Added 2")
        self.assertIn("Skipped 1 duplicate within the upload (line 3)", result.text)
        seller.find("section p[role=status]", "2 available")
        self.assertEqual(seller.find("#inventory-lines").get_attribute("value"), "")
        seller.shot("17-inventory-upload")

    def test_a_killed_instance_loses_no_message(self):
        # The buyer's tab is on a second instance; the seller's on the first.
        second = Instance()
        self.instances.append(second)
        second.start()
        buyer = self.open("resumer", base=second.url)
        buyer.login("lindiwe@demo.agora.local")
        buyer.go("/u/vinyl_vault")
        buyer.click("button", "Message")
        buyer.wait_url(r"/chat/[0-9A-Fa-f-]{36}")
        buyer.live()
        buyer.fill("#chat-input", "Do you still have the Makeba LP?")
        buyer.find("#chat-input").send_keys(Keys.ENTER)
        buyer.find(".message.mine", "Makeba LP")

        seller = self.open("answerer")
        seller.login("vinyl_vault@demo.agora.local")
        seller.go("/chat")
        seller.click(".conversation a", "Lindiwe")
        seller.find(".message.theirs", "Makeba LP")
        seller.live()

        # -- The buyer's instance dies. The tab says so and keeps trying; the seller answers meanwhile.
        second.kill()
        buyer.text_becomes("#conn", "Reconnecting")
        answers = [f"Yes, one copy ({n}/3)" for n in (1, 2, 3)]
        for answer in answers:
            seller.fill("#chat-input", answer)
            seller.find("#chat-input").send_keys(Keys.ENTER)
            seller.find(".message.mine", answer)
        buyer.shot("18-instance-down")

        # -- It comes back: the tab reconnects, resumes from its last seq and shows each answer once, in order.
        second.start()
        buyer.text_becomes("#conn", "Live", timeout=WAIT + 30)  # backoff may be at a few seconds by now
        buyer.find(".message.theirs", answers[-1])
        shown = [m.text.split("\n")[0] for m in buyer.driver.find_elements(By.CSS_SELECTOR, ".message.theirs")]
        self.assertEqual(shown, answers)
        # The resumed events came over the new socket, compressed as well.
        self.assert_compressed_live_events(buyer, "chat:message")
        buyer.shot("19-resumed")


if __name__ == "__main__":
    unittest.main()
