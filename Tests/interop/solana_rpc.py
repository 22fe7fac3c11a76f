"""A local stand-in for a Solana JSON-RPC node, for the Solana Pay tests: the chain cannot be reached from here, so this
keeps a tiny ledger (lamports per account, token amounts per (owner, mint), decimals per mint) and a list of real,
signed legacy transactions (built and signed with solders, as a Solana Pay wallet builds them: optional spl-memo
instruction first, then a System Program transfer or an spl-token TransferChecked between associated token accounts,
with the reference keys appended read-only), each at a stage: confirmed, finalized or dropped.

    python3 solana_rpc.py --ready FILE
    python3 solana_rpc.py --self-test

Writes its port to FILE once it listens on 127.0.0.1. Endpoints:
- POST /                      JSON-RPC 2.0 (one call or a batch array), answered as agave answers:
    getSignaturesForAddress   (address, {limit, before, until, commitment, minContextSlot}) newest first
    getTransaction            (signature, {encoding, commitment, maxSupportedTransactionVersion}); encodings json
                              (agave's default), jsonParsed, base64, base58 and binary, as a node has them
    getSignatureStatuses      (signatures, {searchTransactionHistory})
    getHealth, getSlot, getBlockHeight, getLatestBlockhash, getVersion
  As on a real node, getSignaturesForAddress and getTransaction refuse `processed` (-32602, "Method does not
  support commitment below `confirmed`") and default to `finalized`; a confirmed transaction shows at `confirmed`,
  a finalized one at both, a dropped one nowhere. Unknown method: -32601; bad params: -32602.
  jsonParsed parses as agave does, so a TransferChecked that carries a reference shows `multisigAuthority` and
  `signers: [reference...]` in place of `authority` (agave reads accounts past the fourth as multisig signers).
- GET  /health                "ok"
- POST /control/pay           {recipient, amount: "<atomic units>", splToken: mint|null, reference: key|[keys]|null,
                               memo?, variant?: exact|wrong_mint|short|over|no_reference|wrong_recipient,
                               stage?: confirmed|finalized (default finalized), failed?: bool} -> {signature, slot,
                               payer}. A fresh funded payer each time; `failed` lands the transaction with
                               {"InstructionError": [i, {"Custom": 1}]} and only the fee taken; `no_reference`
                               leaves the reference out of the transaction yet lists it under that reference.
- POST /control/finalize      {signature}: confirmed -> finalized
- POST /control/drop          {signature}: confirmed -> dropped (gone from every answer, its balance changes undone)
- POST /control/fail          {mode: http_500|rpc_error|timeout|garbage, count, method?, seconds?}: the next `count`
                               HTTP requests to / (those holding a call to `method`, if given) fail so: HTTP 500;
                               -32005 "Node is behind by 42 slots"; no answer for `seconds` (30) then the connection
                               closed; 200 with a body that is not JSON. Rules queue up in order.
- POST /control/mint          {mint?, decimals?: 6}: registers a mint (a fresh one if none given) -> {mint, decimals}
- GET  /control/calls         {method: count} of the JSON-RPC calls received (failed ones too)
- GET  /control/transactions  [{signature, slot, stage, err}] oldest first
- POST /control/reset         forgets transactions, balances, failure rules and counts (mints and the slot stay)
"""
import argparse
import base64
import json
import os
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import TransferParams, transfer
from solders.token import ID as TOKEN_PROGRAM_ID
from solders.token.associated import get_associated_token_address
from solders.transaction import Transaction

MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
MEMO_V1_PROGRAM_ID = Pubkey.from_string("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")

API_VERSION = "2.2.16"
FEATURE_SET = 3294202862
FEE_PER_SIGNATURE = 5000
START_SLOT = 350_000_000
SKIPPED_SLOTS = 21_234_567  # block height = slot - this, as skipped slots make it on a real cluster
MAX_SIGNATURES_LIMIT = 1000
WALLET_LAMPORTS = 1_000_000_000  # what an account nobody funded holds (1 SOL), so tests look at deltas
TOKEN_ACCOUNT_LAMPORTS = 2_039_280  # rent-exempt minimum of a 165-byte token account
MINT_LAMPORTS = 1_461_600  # rent-exempt minimum of an 82-byte mint
PROGRAM_LAMPORTS = {str(SYSTEM_PROGRAM_ID): 1, str(TOKEN_PROGRAM_ID): 934_087_680, str(MEMO_PROGRAM_ID): 521_498_880}
COMMITMENTS = ("processed", "confirmed", "finalized")
VARIANTS = ("exact", "wrong_mint", "short", "over", "no_reference", "wrong_recipient")
FAIL_MODES = ("http_500", "rpc_error", "timeout", "garbage")

# ---------------------------------------------------------------------------------------------------------------------
# base58 (the node's text form of keys, signatures and instruction data)

B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
B58_INDEX = {c: i for i, c in enumerate(B58_ALPHABET)}


def b58encode(data):
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(B58_ALPHABET[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text):
    number = 0
    for char in text:
        if char not in B58_INDEX:
            raise ValueError("Invalid")
        number = number * 58 + B58_INDEX[char]
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


# ---------------------------------------------------------------------------------------------------------------------
# JSON-RPC errors, worded as agave words them


class RpcError(Exception):
    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def body(self):
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message):
    return RpcError(-32602, message)


def parse_key(text, size):
    """agave's verify_pubkey / verify_signature: "Invalid param: WrongSize" or "Invalid param: Invalid"."""
    if not isinstance(text, str):
        raise invalid_params("Invalid params: invalid type: expected a string.")
    if len(text) > (44 if size == 32 else 88):
        raise invalid_params("Invalid param: WrongSize")
    try:
        raw = b58decode(text)
    except ValueError:
        raise invalid_params("Invalid param: Invalid")
    if len(raw) != size:
        raise invalid_params("Invalid param: WrongSize")
    return text


def positional(params, required, maximum):
    if params is None:
        params = []
    if not isinstance(params, list):
        raise invalid_params("Invalid params: invalid type: map, expected a sequence.")
    if len(params) < required:
        raise invalid_params(f"Invalid params: invalid length {len(params)}, expected at least {required}.")
    if len(params) > maximum:
        raise invalid_params(f"Invalid params: invalid length {len(params)}, expected at most {maximum}.")
    return params + [None] * (maximum - len(params))


def config_object(value):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_params("Invalid params: invalid type: expected struct config.")
    return value


def commitment_of(config):
    commitment = config.get("commitment") or "finalized"
    if commitment not in COMMITMENTS:
        raise invalid_params(f"Invalid params: unknown variant `{commitment}`, expected one of `processed`, "
                             "`confirmed`, `finalized`.")
    return commitment


def at_least_confirmed(commitment):
    if commitment == "processed":
        raise invalid_params("Method does not support commitment below `confirmed`")


def ui_amount_string(amount, decimals):
    """agave's real_number_string_trimmed."""
    if decimals == 0:
        return str(amount)
    text = str(amount).rjust(decimals + 1, "0")
    text = text[:-decimals] + "." + text[-decimals:]
    return text.rstrip("0").rstrip(".")


def token_amount(amount, decimals, zero_is_null=False):
    """A UiTokenAmount. Stored token balances lose a zero uiAmount (agave keeps them as protobuf, where 0.0 reads back
    as null); amounts parsed from instruction data keep 0.0."""
    ui_amount = amount / (10 ** decimals)
    return {"uiAmount": None if zero_is_null and amount == 0 else ui_amount, "decimals": decimals,
            "amount": str(amount), "uiAmountString": ui_amount_string(amount, decimals)}


# ---------------------------------------------------------------------------------------------------------------------
# The ledger


class Ledger:
    def __init__(self):
        self.lock = threading.RLock()
        self.mints = {}  # mint -> decimals; kept across resets
        self.slot = START_SLOT
        self.blockhash = (self.slot, Hash(os.urandom(32)))
        self.release = threading.Event()
        self.reset()

    def reset(self):
        with self.lock:
            self.lamports = {}  # account -> lamports
            self.tokens = {}  # (owner, mint) -> atomic amount
            self.token_accounts = {}  # token account -> (owner, mint)
            self.transactions = []  # oldest first
            self.by_signature = {}
            self.failures = []  # [{mode, remaining, method, seconds}]
            self.calls = {}
            self.release.set()  # lets go of requests held by a `timeout` rule
            self.release = threading.Event()

    # -- balances

    def lamports_of(self, key):
        if key in self.lamports:
            return self.lamports[key]
        if key in PROGRAM_LAMPORTS:
            return PROGRAM_LAMPORTS[key]
        if key in self.mints:
            return MINT_LAMPORTS
        if key in self.token_accounts:
            return TOKEN_ACCOUNT_LAMPORTS
        return WALLET_LAMPORTS

    def register_mint(self, mint, decimals):
        with self.lock:
            self.mints[mint] = decimals
        return {"mint": mint, "decimals": decimals}

    def decimals_of(self, mint):
        with self.lock:
            return self.mints.setdefault(mint, 6)

    def finalized_slot(self):
        pending = [t["slot"] for t in self.transactions if t["stage"] == "confirmed"]
        return min(pending) - 1 if pending else self.slot

    def slot_at(self, commitment):
        return self.finalized_slot() if commitment == "finalized" else self.slot

    def latest_blockhash(self):
        if self.blockhash[0] != self.slot:
            self.blockhash = (self.slot, Hash(os.urandom(32)))
        return self.blockhash[1]

    # -- payments

    def pay(self, body):
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        recipient = control_key(body.get("recipient"), "recipient")
        amount = body.get("amount")
        if isinstance(amount, int) and not isinstance(amount, bool):
            amount = str(amount)
        if not isinstance(amount, str) or not amount.isdigit():
            raise ValueError("amount must be atomic units, as a string of digits")
        amount = int(amount)
        mint = body.get("splToken")
        mint = None if mint is None else control_key(mint, "splToken")
        references = body.get("reference")
        references = [] if references is None else references if isinstance(references, list) else [references]
        references = [control_key(r, "reference") for r in references]
        memo = body.get("memo")
        if memo is not None and not isinstance(memo, str):
            raise ValueError("memo must be a string")
        variant = body.get("variant") or "exact"
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}")
        stage = body.get("stage") or "finalized"
        if stage not in ("confirmed", "finalized"):
            raise ValueError("stage must be confirmed or finalized")
        failed = bool(body.get("failed", False))

        paid = {"short": amount - 1, "over": amount + 1}.get(variant, amount)
        if paid < 0:
            raise ValueError("short needs an amount of at least 1")
        if paid >= 2 ** 64:
            raise ValueError("amount does not fit in a u64")
        if variant == "wrong_mint":
            decimals = self.decimals_of(mint) if mint else 9
            mint = str(Keypair().pubkey())
            self.register_mint(mint, decimals)
        elif mint is not None:
            decimals = self.decimals_of(mint)
        if variant == "wrong_recipient":
            recipient = str(Keypair().pubkey())
        carried = [] if variant == "no_reference" else references

        payer = Keypair()
        payer_key = payer.pubkey()
        instructions = []
        if memo is not None:
            instructions.append(Instruction(MEMO_PROGRAM_ID, memo.encode(), []))
        extra = [AccountMeta(Pubkey.from_string(r), is_signer=False, is_writable=False) for r in carried]
        if mint is None:
            base = transfer(TransferParams(from_pubkey=payer_key, to_pubkey=Pubkey.from_string(recipient), lamports=paid))
            instructions.append(Instruction(base.program_id, base.data, list(base.accounts) + extra))
            source = destination = None
        else:
            mint_key = Pubkey.from_string(mint)
            source = get_associated_token_address(payer_key, mint_key)
            destination = get_associated_token_address(Pubkey.from_string(recipient), mint_key)
            data = bytes([12]) + paid.to_bytes(8, "little") + bytes([decimals])  # TransferChecked
            accounts = [AccountMeta(source, is_signer=False, is_writable=True),
                        AccountMeta(mint_key, is_signer=False, is_writable=False),
                        AccountMeta(destination, is_signer=False, is_writable=True),
                        AccountMeta(payer_key, is_signer=True, is_writable=False)]
            instructions.append(Instruction(TOKEN_PROGRAM_ID, data, accounts + extra))
        blockhash = Hash(os.urandom(32))
        transaction = Transaction([payer], Message.new_with_blockhash(instructions, payer_key, blockhash), blockhash)
        transfer_index = len(instructions) - 1
        keys = [str(k) for k in transaction.message.account_keys]
        fee = FEE_PER_SIGNATURE * transaction.message.header.num_required_signatures

        with self.lock:
            payer_text = str(payer_key)
            self.lamports[payer_text] = (paid if mint is None else 0) + 10 * WALLET_LAMPORTS
            if mint is not None:
                self.token_accounts[str(source)] = (payer_text, mint)
                self.token_accounts[str(destination)] = (recipient, mint)
                self.tokens[(payer_text, mint)] = paid + 1_000_000
                self.tokens.setdefault((recipient, mint), 0)
            pre = [self.lamports_of(k) for k in keys]
            pre_tokens = self.token_balances(keys)
            changes = {("lamports", payer_text): -fee}
            if not failed:
                if mint is None:
                    changes[("lamports", payer_text)] -= paid
                    changes[("lamports", recipient)] = paid
                else:
                    changes[("tokens", (payer_text, mint))] = -paid
                    changes[("tokens", (recipient, mint))] = paid
            self.apply(changes, 1)
            post = [self.lamports_of(k) for k in keys]
            post_tokens = self.token_balances(keys)
            self.slot += 1
            logs, units = program_logs(instructions, transfer_index if failed else None, memo, paid)
            err = {"InstructionError": [transfer_index, {"Custom": 1}]} if failed else None
            writable = sum(1 for i in range(len(keys)) if is_writable(transaction.message, i))
            record = {
                "signature": str(transaction.signatures[0]), "slot": self.slot, "blockTime": int(time.time()),
                "stage": stage, "err": err, "transaction": transaction, "fee": fee,
                "preBalances": pre, "postBalances": post, "preTokenBalances": pre_tokens,
                "postTokenBalances": post_tokens, "logMessages": logs, "computeUnitsConsumed": units,
                "costUnits": 720 * len(transaction.signatures) + 300 * writable + units + len(bytes(transaction)) // 4,
                "memo": format_memos(transaction.message), "changes": changes,
                "addresses": set(keys) | set(references),
            }
            self.transactions.append(record)
            self.by_signature[record["signature"]] = record
        return {"signature": record["signature"], "slot": record["slot"], "payer": payer_text}

    def token_balances(self, keys):
        balances = []
        for index, key in enumerate(keys):
            if key in self.token_accounts:
                owner, mint = self.token_accounts[key]
                balances.append({"accountIndex": index, "mint": mint, "owner": owner, "programId": str(TOKEN_PROGRAM_ID),
                                 "amount": self.tokens.get((owner, mint), 0), "decimals": self.mints[mint]})
        return balances

    def apply(self, changes, sign):
        for (kind, key), delta in changes.items():
            if kind == "lamports":
                self.lamports[key] = self.lamports_of(key) + sign * delta
            else:
                self.tokens[key] = self.tokens.get(key, 0) + sign * delta

    def move(self, body, to_stage):
        signature = body.get("signature") if isinstance(body, dict) else None
        with self.lock:
            record = self.by_signature.get(signature)
            if record is None:
                raise LookupError(f"no transaction {signature}")
            if record["stage"] != "confirmed":
                raise ValueError(f"the transaction is {record['stage']}, not confirmed")
            record["stage"] = to_stage
            if to_stage == "dropped":
                self.apply(record["changes"], -1)
            return {"signature": signature, "slot": record["slot"], "stage": to_stage}

    def add_failure(self, body):
        if not isinstance(body, dict) or body.get("mode") not in FAIL_MODES:
            raise ValueError(f"mode must be one of {', '.join(FAIL_MODES)}")
        count = body.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive integer")
        method = body.get("method")
        seconds = body.get("seconds", 30)
        if not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError("seconds must be a number")
        with self.lock:
            self.failures.append({"mode": body["mode"], "remaining": count, "method": method, "seconds": seconds})
            return {"queued": len(self.failures)}

    def take_failure(self, methods):
        """The first queued rule that applies to a request calling `methods`, used up by one."""
        with self.lock:
            for rule in self.failures:
                if rule["method"] is None or rule["method"] in methods:
                    rule["remaining"] -= 1
                    if rule["remaining"] == 0:
                        self.failures.remove(rule)
                    return dict(rule)
        return None

    def count(self, method):
        with self.lock:
            self.calls[method] = self.calls.get(method, 0) + 1

    # -- what the node shows

    def visible(self, record, commitment):
        return record["stage"] == "finalized" or (record["stage"] == "confirmed" and commitment != "finalized")

    def min_context(self, config, commitment):
        minimum = config.get("minContextSlot")
        if minimum is not None:
            if not isinstance(minimum, int) or minimum < 0:
                raise invalid_params("Invalid params: invalid type: expected u64.")
            slot = self.slot_at(commitment)
            if minimum > slot:
                raise RpcError(-32016, "Minimum context slot has not been reached", {"contextSlot": slot})


def control_key(value, name):
    try:
        if not isinstance(value, str):
            raise ValueError
        Pubkey.from_string(value)
        if len(b58decode(value)) != 32:
            raise ValueError
    except ValueError:
        raise ValueError(f"{name} must be a base58 public key")
    return value


def is_writable(message, index):
    header = message.header
    signed = header.num_required_signatures
    if index < signed:
        return index < signed - header.num_readonly_signed_accounts
    return index < len(message.account_keys) - header.num_readonly_unsigned_accounts


def memo_text(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def format_memos(message):
    """agave's extract_and_fmt_memos: each memo instruction as "[<byte length>] <text>", joined by "; "."""
    keys = message.account_keys
    memos = []
    for instruction in message.instructions:
        if keys[instruction.program_id_index] in (MEMO_PROGRAM_ID, MEMO_V1_PROGRAM_ID):
            text = memo_text(bytes(instruction.data))
            memos.append(f"[{len(instruction.data)}] {text if text is not None else '(unparseable)'}")
    return "; ".join(memos) if memos else None


def program_logs(instructions, failing_index, memo, paid):
    """The log lines and compute units a node records for these instructions (the failing one, if any, stops)."""
    budget = 200_000 * len(instructions)
    logs, used = [], 0
    for index, instruction in enumerate(instructions):
        program = str(instruction.program_id)
        logs.append(f"Program {program} invoke [1]")
        fails = index == failing_index
        if instruction.program_id == MEMO_PROGRAM_ID:
            cost = 300 + 30 * len(instruction.data)
            logs.append(f"Program log: Memo (len {len(memo.encode())}): {json.dumps(memo, ensure_ascii=False)}")
            logs.append(f"Program {program} consumed {cost} of {budget - used} compute units")
        elif instruction.program_id == SYSTEM_PROGRAM_ID:
            cost = 150
            if fails:
                logs.append(f"Transfer: insufficient lamports 0, need {paid}")
        else:
            cost = 4_644 if fails else 6_200
            logs.append("Program log: Instruction: TransferChecked")
            if fails:
                logs.append("Program log: Error: insufficient funds")
            logs.append(f"Program {program} consumed {cost} of {budget - used} compute units")
        used += cost
        if fails:
            logs.append(f"Program {program} failed: custom program error: 0x1")
            break
        logs.append(f"Program {program} success")
    return logs, used


# ---------------------------------------------------------------------------------------------------------------------
# Encoding a transaction as getTransaction answers it


def parse_instruction(instruction, keys):
    program = keys[instruction.program_id_index]
    accounts = [keys[i] for i in bytes(instruction.accounts)]
    data = bytes(instruction.data)
    if program == str(SYSTEM_PROGRAM_ID) and len(data) == 12 and struct.unpack_from("<I", data)[0] == 2 \
            and len(accounts) >= 2:
        lamports = struct.unpack_from("<Q", data, 4)[0]
        return {"parsed": {"info": {"source": accounts[0], "destination": accounts[1], "lamports": lamports},
                           "type": "transfer"},
                "program": "system", "programId": program, "stackHeight": None}
    if program == str(TOKEN_PROGRAM_ID) and len(data) == 10 and data[0] == 12 and len(accounts) >= 4:
        amount, decimals = struct.unpack_from("<Q", data, 1)[0], data[9]
        info = {"source": accounts[0], "mint": accounts[1], "destination": accounts[2],
                "tokenAmount": token_amount(amount, decimals)}
        if len(accounts) > 4:  # agave's parse_signers: past the authority, accounts are multisig signers
            info["multisigAuthority"] = accounts[3]
            info["signers"] = accounts[4:]
        else:
            info["authority"] = accounts[3]
        return {"parsed": {"info": info, "type": "transferChecked"}, "program": "spl-token", "programId": program,
                "stackHeight": None}
    if program in (str(MEMO_PROGRAM_ID), str(MEMO_V1_PROGRAM_ID)) and memo_text(data) is not None:
        return {"parsed": memo_text(data), "program": "spl-memo", "programId": program, "stackHeight": None}
    return {"accounts": accounts, "data": b58encode(data), "programId": program, "stackHeight": None}


def encode_token_balances(balances):
    return [{"accountIndex": b["accountIndex"], "mint": b["mint"],
             "uiTokenAmount": token_amount(b["amount"], b["decimals"], zero_is_null=True),
             "owner": b["owner"], "programId": b["programId"]} for b in balances]


def encode_transaction(record, encoding, max_version):
    transaction = record["transaction"]
    message = transaction.message
    keys = [str(k) for k in message.account_keys]
    signatures = [str(s) for s in transaction.signatures]
    if encoding == "jsonParsed":
        body = {"signatures": signatures, "message": {
            "accountKeys": [{"pubkey": key, "writable": is_writable(message, i),
                             "signer": i < message.header.num_required_signatures, "source": "transaction"}
                            for i, key in enumerate(keys)],
            "recentBlockhash": str(message.recent_blockhash),
            "instructions": [parse_instruction(ix, keys) for ix in message.instructions]}}
    elif encoding == "json":
        header = message.header
        body = {"signatures": signatures, "message": {
            "header": {"numRequiredSignatures": header.num_required_signatures,
                       "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                       "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts},
            "accountKeys": keys, "recentBlockhash": str(message.recent_blockhash),
            "instructions": [{"programIdIndex": ix.program_id_index, "accounts": list(bytes(ix.accounts)),
                              "data": b58encode(bytes(ix.data)), "stackHeight": None} for ix in message.instructions]}}
    elif encoding == "base64":
        body = [base64.b64encode(bytes(transaction)).decode(), "base64"]
    elif encoding == "base58":
        body = [b58encode(bytes(transaction)), "base58"]
    else:  # binary: the legacy bare base58 string
        body = b58encode(bytes(transaction))
    err = record["err"]
    meta = {"err": err, "status": {"Ok": None} if err is None else {"Err": err}, "fee": record["fee"],
            "preBalances": record["preBalances"], "postBalances": record["postBalances"],
            "innerInstructions": [], "logMessages": record["logMessages"],
            "preTokenBalances": encode_token_balances(record["preTokenBalances"]),
            "postTokenBalances": encode_token_balances(record["postTokenBalances"]), "rewards": []}
    if encoding != "jsonParsed":
        meta["loadedAddresses"] = {"writable": [], "readonly": []}
    meta["computeUnitsConsumed"] = record["computeUnitsConsumed"]
    meta["costUnits"] = record["costUnits"]
    answer = {"slot": record["slot"], "transaction": body, "meta": meta}
    if max_version is not None:
        answer["version"] = "legacy"
    answer["blockTime"] = record["blockTime"]
    return answer


# ---------------------------------------------------------------------------------------------------------------------
# JSON-RPC methods


def context(ledger, commitment="finalized"):
    return {"apiVersion": API_VERSION, "slot": ledger.slot_at(commitment)}


def get_signatures_for_address(ledger, params):
    address, config = positional(params, 1, 2)
    address = parse_key(address, 32)
    config = config_object(config)
    commitment = commitment_of(config)
    at_least_confirmed(commitment)
    before, until, limit = config.get("before"), config.get("until"), config.get("limit")
    before = None if before is None else parse_key(before, 64)
    until = None if until is None else parse_key(until, 64)
    if limit is None:
        limit = MAX_SIGNATURES_LIMIT
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise invalid_params("Invalid params: invalid type: expected usize.")
    if limit == 0 or limit > MAX_SIGNATURES_LIMIT:
        raise invalid_params(f"Invalid limit; max {MAX_SIGNATURES_LIMIT}")
    with ledger.lock:
        ledger.min_context(config, commitment)
        found = [r for r in reversed(ledger.transactions) if address in r["addresses"] and ledger.visible(r, commitment)]
        if before is not None:
            position = next((i for i, r in enumerate(found) if r["signature"] == before), None)
            found = [] if position is None else found[position + 1:]
        if until is not None:
            position = next((i for i, r in enumerate(found) if r["signature"] == until), None)
            if position is not None:
                found = found[:position]
        return [{"signature": r["signature"], "slot": r["slot"], "err": r["err"], "memo": r["memo"],
                 "blockTime": r["blockTime"], "confirmationStatus": r["stage"]} for r in found[:limit]]


def get_transaction(ledger, params):
    signature, config = positional(params, 1, 2)
    if isinstance(config, str) or config is None:  # the deprecated form: the encoding alone
        config = {"encoding": config}
    config = config_object(config)
    encoding = config.get("encoding") or "json"
    if encoding not in ("json", "jsonParsed", "base64", "base58", "binary"):
        raise invalid_params("Invalid params: data did not match any variant of untagged enum "
                             "RpcEncodingConfigWrapper.")
    commitment = commitment_of(config)
    max_version = config.get("maxSupportedTransactionVersion")
    if max_version is not None and (not isinstance(max_version, int) or not 0 <= max_version <= 255):
        raise invalid_params("Invalid params: invalid type: expected u8.")
    signature = parse_key(signature, 64)
    at_least_confirmed(commitment)
    with ledger.lock:
        record = ledger.by_signature.get(signature)
        if record is None or not ledger.visible(record, commitment):
            return None
        return encode_transaction(record, encoding, max_version)


def get_signature_statuses(ledger, params):
    signatures, config = positional(params, 1, 2)
    if not isinstance(signatures, list):
        raise invalid_params("Invalid params: invalid type: expected a sequence.")
    if len(signatures) > 256:
        raise invalid_params("Too many inputs provided; max 256")
    signatures = [parse_key(s, 64) for s in signatures]
    config_object(config)
    with ledger.lock:
        statuses = []
        for signature in signatures:
            record = ledger.by_signature.get(signature)
            if record is None or record["stage"] == "dropped":
                statuses.append(None)
                continue
            finalized = record["stage"] == "finalized"
            statuses.append({"slot": record["slot"],
                             "confirmations": None if finalized else min(31, max(1, ledger.slot - record["slot"] + 1)),
                             "err": record["err"],
                             "status": {"Ok": None} if record["err"] is None else {"Err": record["err"]},
                             "confirmationStatus": record["stage"]})
        return {"context": context(ledger, "processed"), "value": statuses}


def slot_method(ledger, params, answer):
    (config,) = positional(params, 0, 1)
    config = config_object(config)
    commitment = commitment_of(config)
    with ledger.lock:
        ledger.min_context(config, commitment)
        return answer(commitment)


def get_slot(ledger, params):
    return slot_method(ledger, params, ledger.slot_at)


def get_block_height(ledger, params):
    return slot_method(ledger, params, lambda c: ledger.slot_at(c) - SKIPPED_SLOTS)


def get_latest_blockhash(ledger, params):
    def answer(commitment):
        return {"context": context(ledger, commitment),
                "value": {"blockhash": str(ledger.latest_blockhash()),
                          "lastValidBlockHeight": ledger.slot_at(commitment) - SKIPPED_SLOTS + 150}}
    return slot_method(ledger, params, answer)


def no_params(answer):
    def method(ledger, params):
        if params not in (None, []):
            raise invalid_params("Invalid params: No parameters were expected")
        return answer(ledger)
    return method


METHODS = {
    "getSignaturesForAddress": get_signatures_for_address,
    "getTransaction": get_transaction,
    "getSignatureStatuses": get_signature_statuses,
    "getSlot": get_slot,
    "getBlockHeight": get_block_height,
    "getLatestBlockhash": get_latest_blockhash,
    "getHealth": no_params(lambda ledger: "ok"),
    "getVersion": no_params(lambda ledger: {"feature-set": FEATURE_SET, "solana-core": API_VERSION}),
}


def call(ledger, request):
    """One JSON-RPC request object -> its response object, or None for a notification."""
    if not isinstance(request, dict):
        return {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid request"}, "id": None}
    ident = request.get("id")
    if request.get("jsonrpc") != "2.0" or not isinstance(request.get("method"), str) \
            or not (ident is None or isinstance(ident, (str, int))):
        return {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid request"}, "id": None}
    method = METHODS.get(request["method"])
    try:
        if method is None:
            raise RpcError(-32601, "Method not found")
        response = {"jsonrpc": "2.0", "result": method(ledger, request.get("params")), "id": ident}
    except RpcError as error:
        response = {"jsonrpc": "2.0", "error": error.body(), "id": ident}
    return response if "id" in request else None


# ---------------------------------------------------------------------------------------------------------------------
# HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "solana-rpc-stand-in"

    def log_message(self, format, *args):
        pass

    def send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        ledger = self.server.ledger
        path = self.path.split("?")[0]
        if path == "/health":
            self.send(200, b"ok", "text/plain")
        elif path == "/control/calls":
            with ledger.lock:
                self.send(200, dict(ledger.calls))
        elif path == "/control/transactions":
            with ledger.lock:
                self.send(200, [{"signature": r["signature"], "slot": r["slot"], "stage": r["stage"], "err": r["err"]}
                                for r in ledger.transactions])
        else:
            self.send(404, {"error": "not found"})

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self):
        ledger = self.server.ledger
        raw = self.read_body()
        path = self.path.split("?")[0]
        if path.startswith("/control/"):
            return self.control(ledger, path, raw)
        if path != "/":
            return self.send(404, {"error": "not found"})
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return self.send(200, {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None})
        requests = payload if isinstance(payload, list) else [payload]
        methods = {r["method"] for r in requests if isinstance(r, dict) and isinstance(r.get("method"), str)}
        for request in requests:
            if isinstance(request, dict) and isinstance(request.get("method"), str):
                ledger.count(request["method"])
        print(f"rpc {' '.join(sorted(methods)) or '-'}", file=sys.stderr, flush=True)
        failure = ledger.take_failure(methods)
        if failure is not None:
            return self.fail(ledger, failure, requests, isinstance(payload, list))
        if isinstance(payload, list):
            if not payload:
                return self.send(200, {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid request"},
                                       "id": None})
            responses = [r for r in (call(ledger, request) for request in payload) if r is not None]
            return self.send(200, responses) if responses else self.send(200, b"", "application/json")
        response = call(ledger, payload)
        return self.send(200, response) if response is not None else self.send(200, b"", "application/json")

    def fail(self, ledger, failure, requests, batch):
        mode = failure["mode"]
        print(f"failing as {mode}", file=sys.stderr, flush=True)
        if mode == "http_500":
            self.send(500, b"Internal Server Error: upstream node unavailable\n", "text/plain")
        elif mode == "garbage":
            self.send(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>\n", "application/json")
        elif mode == "rpc_error":
            error = {"code": -32005, "message": "Node is behind by 42 slots", "data": {"numSlotsBehind": 42}}
            responses = [{"jsonrpc": "2.0", "error": error, "id": r.get("id") if isinstance(r, dict) else None}
                         for r in requests]
            self.send(200, responses if batch else responses[0])
        else:  # timeout: hold the request unanswered, then hang up
            ledger.release.wait(failure["seconds"])
            self.close_connection = True

    def control(self, ledger, path, raw):
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return self.send(400, {"error": "the body is not JSON"})
        try:
            if path == "/control/pay":
                answer = ledger.pay(body)
            elif path == "/control/finalize":
                answer = ledger.move(body, "finalized")
            elif path == "/control/drop":
                answer = ledger.move(body, "dropped")
            elif path == "/control/fail":
                answer = ledger.add_failure(body)
            elif path == "/control/mint":
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                mint = body.get("mint")
                mint = str(Keypair().pubkey()) if mint is None else control_key(mint, "mint")
                decimals = body.get("decimals", 6)
                if not isinstance(decimals, int) or not 0 <= decimals <= 255:
                    raise ValueError("decimals must be an integer from 0 to 255")
                answer = ledger.register_mint(mint, decimals)
            elif path == "/control/reset":
                ledger.reset()
                answer = {"reset": True}
            else:
                return self.send(404, {"error": "not found"})
        except LookupError as error:
            return self.send(404, {"error": str(error)})
        except ValueError as error:
            return self.send(409 if "not confirmed" in str(error) else 400, {"error": str(error)})
        print(f"control {path} -> {json.dumps(answer)}", file=sys.stderr, flush=True)
        return self.send(200, answer)


def make_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.ledger = Ledger()
    return server


# ---------------------------------------------------------------------------------------------------------------------
# Self-test: the server in-process, driven over real HTTP


def self_test():
    from solders.signature import Signature

    server = make_server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    checks = []

    def check(condition, what):
        if not condition:
            raise AssertionError(what)
        checks.append(what)

    def http(method, path, body=None, timeout=10):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def control(path, body=None):
        status, data = http("POST" if body is not None else "GET", "/control/" + path, body)
        if status != 200:
            raise AssertionError(f"/control/{path}: {status} {data!r}")
        return json.loads(data)

    ids = iter(range(1, 1_000_000))

    def rpc(method, *params):
        status, data = http("POST", "/", {"jsonrpc": "2.0", "id": next(ids), "method": method, "params": list(params)})
        check(status == 200, f"{method} answers 200")
        return json.loads(data)

    def result(method, *params):
        response = rpc(method, *params)
        if "error" in response:
            raise AssertionError(f"{method}: {response['error']}")
        return response["result"]

    def parsed_tx(signature, commitment="finalized"):
        return result("getTransaction", signature, {"encoding": "jsonParsed", "commitment": commitment,
                                                     "maxSupportedTransactionVersion": 0})

    def key_index(tx, key):
        keys = [k["pubkey"] for k in tx["transaction"]["message"]["accountKeys"]]
        return keys.index(key) if key in keys else None

    def token_delta(tx, owner, mint):
        def amount(balances):
            found = [int(b["uiTokenAmount"]["amount"]) for b in balances if b["owner"] == owner and b["mint"] == mint]
            return found[0] if found else None
        pre, post = amount(tx["meta"]["preTokenBalances"]), amount(tx["meta"]["postTokenBalances"])
        return None if pre is None else post - pre

    def verify_signature(signature):
        raw = result("getTransaction", signature, {"encoding": "base64", "commitment": "confirmed"})
        check(raw["transaction"][1] == "base64", "base64 encoding answers [data, \"base64\"]")
        transaction = Transaction.from_bytes(base64.b64decode(raw["transaction"][0]))
        transaction.verify()
        message = transaction.message
        check(str(transaction.signatures[0]) == signature, "signature is base58 of signatures[0]")
        check(transaction.signatures[0].verify(message.account_keys[0], bytes(message)),
              "signature verifies against the message with the fee payer's key")
        check(Signature.from_string(signature) == transaction.signatures[0], "signature parses back")
        return transaction

    # -- the plain methods
    check(result("getHealth") == "ok", "getHealth is ok")
    slot = result("getSlot")
    check(isinstance(slot, int), "getSlot is an integer")
    blockhash = result("getLatestBlockhash", {"commitment": "confirmed"})
    check(set(blockhash) == {"context", "value"} and set(blockhash["value"]) == {"blockhash", "lastValidBlockHeight"}
          and set(blockhash["context"]) == {"apiVersion", "slot"}, "getLatestBlockhash has the RpcResponse shape")
    check(len(b58decode(blockhash["value"]["blockhash"])) == 32, "the blockhash is 32 bytes of base58")
    check(rpc("getFoo")["error"] == {"code": -32601, "message": "Method not found"}, "unknown method is -32601")
    check(rpc("getSignaturesForAddress", "not-a-key")["error"]["code"] == -32602, "a bad address is -32602")
    check(rpc("getSignaturesForAddress")["error"]["code"] == -32602, "a missing address is -32602")
    check(rpc("getTransaction", "1" * 64, {"encoding": "yaml"})["error"]["code"] == -32602, "an unknown encoding is -32602")
    processed = rpc("getSignaturesForAddress", str(Keypair().pubkey()), {"commitment": "processed"})
    check(processed["error"] == {"code": -32602, "message": "Method does not support commitment below `confirmed`"},
          "processed is refused as agave refuses it")
    check(rpc("getSignaturesForAddress", str(Keypair().pubkey()), {"limit": 1001})["error"]["message"]
          == "Invalid limit; max 1000", "limit above 1000 is refused")
    status, data = http("POST", "/", b"{not json")
    check(json.loads(data)["error"]["code"] == -32700, "a body that is not JSON is -32700")
    status, data = http("POST", "/", [{"jsonrpc": "2.0", "id": 1, "method": "getHealth"},
                                      {"jsonrpc": "2.0", "id": 2, "method": "nope"}])
    batch = json.loads(data)
    check([r["id"] for r in batch] == [1, 2] and batch[0]["result"] == "ok" and batch[1]["error"]["code"] == -32601,
          "a batch answers each call in order")

    # -- SOL, exact, with a memo and a reference
    merchant = str(Keypair().pubkey())
    reference = str(Keypair().pubkey())
    paid = control("pay", {"recipient": merchant, "amount": "1500000000", "splToken": None, "reference": reference,
                           "memo": "order 42 \u2713"})
    listed = result("getSignaturesForAddress", reference)
    check(len(listed) == 1 and set(listed[0]) == {"signature", "slot", "err", "memo", "blockTime", "confirmationStatus"},
          "getSignaturesForAddress lists the payment with the real fields")
    entry = listed[0]
    check(entry["signature"] == paid["signature"] and entry["slot"] == paid["slot"] and entry["err"] is None
          and entry["confirmationStatus"] == "finalized", "the entry is the payment, finalized, without error")
    memo = "order 42 \u2713"
    check(entry["memo"] == f"[{len(memo.encode())}] {memo}", "memo is \"[byte length] text\"")
    tx = parsed_tx(paid["signature"])
    check(set(tx) == {"slot", "blockTime", "version", "meta", "transaction"} and tx["version"] == "legacy",
          "getTransaction has slot, blockTime, version, meta, transaction")
    meta = tx["meta"]
    check(set(meta) == {"err", "status", "fee", "preBalances", "postBalances", "innerInstructions", "logMessages",
                        "preTokenBalances", "postTokenBalances", "rewards", "computeUnitsConsumed", "costUnits"},
          "jsonParsed meta has agave's fields (no loadedAddresses for jsonParsed)")
    check(meta["status"] == {"Ok": None} and meta["fee"] == 5000, "status Ok, fee 5000")
    account_keys = tx["transaction"]["message"]["accountKeys"]
    check(all(set(k) == {"pubkey", "writable", "signer", "source"} and k["source"] == "transaction"
              for k in account_keys), "accountKeys are {pubkey, writable, signer, source}")
    check(account_keys[0] == {"pubkey": paid["payer"], "writable": True, "signer": True, "source": "transaction"},
          "the fee payer comes first, signer and writable")
    ref_key = account_keys[key_index(tx, reference)]
    check(not ref_key["signer"] and not ref_key["writable"], "the reference is a read-only non-signer")
    instructions = tx["transaction"]["message"]["instructions"]
    check(instructions[0] == {"parsed": "order 42 \u2713", "program": "spl-memo",
                              "programId": "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "stackHeight": None},
          "the memo instruction comes first, parsed")
    check(instructions[1] == {"parsed": {"info": {"source": paid["payer"], "destination": merchant,
                                                  "lamports": 1500000000}, "type": "transfer"},
                              "program": "system", "programId": "11111111111111111111111111111111",
                              "stackHeight": None}, "the system transfer is parsed")
    m, p = key_index(tx, merchant), 0
    check(meta["postBalances"][m] - meta["preBalances"][m] == 1500000000, "the recipient gains the amount")
    check(meta["preBalances"][p] - meta["postBalances"][p] == 1500000000 + 5000, "the payer pays amount and fee")
    verify_signature(paid["signature"])
    plain = result("getTransaction", paid["signature"])
    check("version" not in plain and plain["meta"]["loadedAddresses"] == {"writable": [], "readonly": []}
          and plain["transaction"]["message"]["header"]["numRequiredSignatures"] == 1,
          "the default json encoding has the raw message, loadedAddresses and no version")
    check(result("getSignaturesForAddress", merchant)[0]["signature"] == paid["signature"],
          "the SOL recipient's own address lists it too")

    # -- SPL, exact (mint registered on first use with 6 decimals)
    mint = str(Keypair().pubkey())
    reference = str(Keypair().pubkey())
    paid = control("pay", {"recipient": merchant, "amount": "2500000", "splToken": mint, "reference": reference})
    tx = parsed_tx(result("getSignaturesForAddress", reference)[0]["signature"])
    transfer_ix = tx["transaction"]["message"]["instructions"][0]
    payer = Pubkey.from_string(paid["payer"])
    source = Pubkey.find_program_address([bytes(payer), bytes(TOKEN_PROGRAM_ID), bytes(Pubkey.from_string(mint))],
                                         ASSOCIATED_TOKEN_PROGRAM_ID)[0]
    destination = Pubkey.find_program_address([bytes(Pubkey.from_string(merchant)), bytes(TOKEN_PROGRAM_ID),
                                               bytes(Pubkey.from_string(mint))], ASSOCIATED_TOKEN_PROGRAM_ID)[0]
    check(transfer_ix == {"parsed": {"info": {
        "source": str(source), "mint": mint, "destination": str(destination),
        "tokenAmount": {"uiAmount": 2.5, "decimals": 6, "amount": "2500000", "uiAmountString": "2.5"},
        "multisigAuthority": paid["payer"], "signers": [reference]}, "type": "transferChecked"},
        "program": "spl-token", "programId": str(TOKEN_PROGRAM_ID), "stackHeight": None},
        "transferChecked between the derived ATAs, parsed as agave parses it with a reference")
    check(token_delta(tx, merchant, mint) == 2500000 and token_delta(tx, paid["payer"], mint) == -2500000,
          "token balances move by the amount")
    balance = tx["meta"]["preTokenBalances"][0]
    check(set(balance) == {"accountIndex", "mint", "uiTokenAmount", "owner", "programId"}
          and balance["programId"] == str(TOKEN_PROGRAM_ID), "token balances have agave's fields")
    zero = [b for b in tx["meta"]["preTokenBalances"] if b["owner"] == merchant][0]["uiTokenAmount"]
    check(zero == {"uiAmount": None, "decimals": 6, "amount": "0", "uiAmountString": "0"},
          "a zero stored token balance has uiAmount null")
    check(all(e["signature"] != paid["signature"] for e in result("getSignaturesForAddress", merchant)),
          "an SPL payment is not listed under the recipient wallet (not one of its account keys)")
    verify_signature(paid["signature"])

    # -- the variants
    def pay_variant(variant, **extra):
        reference = str(Keypair().pubkey())
        body = {"recipient": merchant, "amount": "1000", "splToken": mint, "reference": reference, "variant": variant}
        body.update(extra)
        paid = control("pay", body)
        listed = result("getSignaturesForAddress", reference)
        check([e["signature"] for e in listed] == [paid["signature"]], f"{variant} is listed under its reference")
        verify_signature(paid["signature"])
        return paid, parsed_tx(paid["signature"]), reference

    for variant, expected in (("short", 999), ("over", 1001), ("exact", 1000)):
        paid, tx, _ = pay_variant(variant)
        check(token_delta(tx, merchant, mint) == expected, f"{variant} pays {expected}")
    paid, tx, _ = pay_variant("wrong_mint")
    info = tx["transaction"]["message"]["instructions"][0]["parsed"]["info"]
    check(info["mint"] != mint and info["tokenAmount"]["decimals"] == 6 and token_delta(tx, merchant, info["mint"]) == 1000
          and token_delta(tx, merchant, mint) is None, "wrong_mint pays the amount of another mint, same decimals")
    paid, tx, _ = pay_variant("wrong_recipient")
    check(token_delta(tx, merchant, mint) is None and all(b["owner"] != merchant for b in tx["meta"]["postTokenBalances"]),
          "wrong_recipient pays someone else")
    paid, tx, reference = pay_variant("no_reference")
    info = tx["transaction"]["message"]["instructions"][0]["parsed"]["info"]
    check(key_index(tx, reference) is None and "authority" in info and "signers" not in info,
          "no_reference leaves the reference out of the transaction yet the index lists it")
    paid, tx, reference = pay_variant("exact", failed=True, memo="x")
    err = {"InstructionError": [1, {"Custom": 1}]}
    check(result("getSignaturesForAddress", reference)[0]["err"] == err, "a failed payment has err in the list")
    check(tx["meta"]["err"] == err and tx["meta"]["status"] == {"Err": err}, "a failed payment has meta.err")
    check(token_delta(tx, merchant, mint) == 0 and token_delta(tx, paid["payer"], mint) == 0,
          "a failed payment moves no tokens")
    check(tx["meta"]["preBalances"][0] - tx["meta"]["postBalances"][0] == 5000, "a failed payment still costs the fee")
    check(tx["meta"]["logMessages"][-1].endswith("failed: custom program error: 0x1"), "its logs end in the failure")
    paid = control("pay", {"recipient": merchant, "amount": "7", "splToken": None, "reference": None, "failed": True})
    tx = parsed_tx(paid["signature"])
    check(tx["meta"]["err"] == {"InstructionError": [0, {"Custom": 1}]}
          and tx["meta"]["postBalances"][key_index(tx, merchant)] == tx["meta"]["preBalances"][key_index(tx, merchant)],
          "a failed SOL payment leaves the recipient's lamports alone")

    # -- a registered mint with other decimals
    small = control("mint", {"decimals": 2})
    check(small["decimals"] == 2 and len(b58decode(small["mint"])) == 32, "/control/mint registers a fresh mint")
    paid = control("pay", {"recipient": merchant, "amount": "1234", "splToken": small["mint"], "reference": None})
    info = parsed_tx(paid["signature"])["transaction"]["message"]["instructions"][0]["parsed"]["info"]
    check("authority" in info and info["tokenAmount"] == {"uiAmount": 12.34, "decimals": 2, "amount": "1234",
                                                          "uiAmountString": "12.34"}, "decimals come from the mint")

    # -- stages: confirmed, finalize, drop
    reference = str(Keypair().pubkey())
    first = control("pay", {"recipient": merchant, "amount": "5", "splToken": None, "reference": reference,
                            "stage": "confirmed"})
    check(result("getSignaturesForAddress", reference) == [], "a confirmed payment is not listed at finalized")
    check(result("getTransaction", first["signature"], {"encoding": "jsonParsed"}) is None,
          "a confirmed payment is null at finalized")
    listed = result("getSignaturesForAddress", reference, {"commitment": "confirmed"})
    check([(e["signature"], e["confirmationStatus"]) for e in listed] == [(first["signature"], "confirmed")],
          "a confirmed payment is listed at confirmed, as confirmed")
    check(parsed_tx(first["signature"], "confirmed")["slot"] == first["slot"], "and fetched at confirmed")
    check(result("getSlot", {"commitment": "finalized"}) < first["slot"] <= result("getSlot", {"commitment": "confirmed"}),
          "the finalized slot stays below a pending confirmed transaction")
    statuses = result("getSignatureStatuses", [first["signature"], "1" * 64])
    check(statuses["value"][0]["confirmationStatus"] == "confirmed" and statuses["value"][0]["confirmations"] >= 1
          and statuses["value"][1] is None, "getSignatureStatuses reports confirmed, and null for an unknown one")
    control("finalize", {"signature": first["signature"]})
    check(result("getSignaturesForAddress", reference)[0]["confirmationStatus"] == "finalized",
          "once finalized it is listed at finalized")
    check(result("getSignatureStatuses", [first["signature"]])["value"][0]["confirmations"] is None,
          "a finalized status has confirmations null")
    second = control("pay", {"recipient": merchant, "amount": "6", "splToken": None, "reference": reference,
                             "stage": "confirmed"})
    listed = result("getSignaturesForAddress", reference, {"commitment": "confirmed"})
    check([e["signature"] for e in listed] == [second["signature"], first["signature"]], "newest first")
    control("drop", {"signature": second["signature"]})
    check([e["signature"] for e in result("getSignaturesForAddress", reference, {"commitment": "confirmed"})]
          == [first["signature"]], "a dropped payment is listed nowhere")
    check(result("getTransaction", second["signature"], {"commitment": "confirmed"}) is None,
          "a dropped payment is null")
    status, _ = http("POST", "/control/finalize", {"signature": second["signature"]})
    check(status == 409, "a dropped payment cannot be finalized")

    # -- pagination
    reference = str(Keypair().pubkey())
    signatures = [control("pay", {"recipient": merchant, "amount": str(n), "splToken": None,
                                  "reference": reference})["signature"] for n in range(1, 6)][::-1]
    check([e["signature"] for e in result("getSignaturesForAddress", reference, {"limit": 2})] == signatures[:2],
          "limit keeps the newest")
    check([e["signature"] for e in result("getSignaturesForAddress", reference, {"before": signatures[1]})]
          == signatures[2:], "before starts after that signature")
    check([e["signature"] for e in result("getSignaturesForAddress", reference, {"until": signatures[3]})]
          == signatures[:3], "until stops before that signature")

    # -- failures
    control("fail", {"mode": "http_500", "count": 2})
    check(http("POST", "/", {"jsonrpc": "2.0", "id": 1, "method": "getSlot"})[0] == 500, "http_500 answers 500")
    check(http("POST", "/", {"jsonrpc": "2.0", "id": 1, "method": "getHealth"})[0] == 500, "twice")
    check(result("getHealth") == "ok", "then the node answers again")
    control("fail", {"mode": "rpc_error", "count": 1, "method": "getTransaction"})
    check(result("getHealth") == "ok", "a rule for one method leaves others alone")
    check(rpc("getTransaction", signatures[0])["error"] == {"code": -32005, "message": "Node is behind by 42 slots",
                                                            "data": {"numSlotsBehind": 42}}, "rpc_error is -32005")
    check(rpc("getTransaction", signatures[0])["result"] is not None, "only once")
    control("fail", {"mode": "garbage", "count": 1})
    status, data = http("POST", "/", {"jsonrpc": "2.0", "id": 1, "method": "getSlot"})
    try:
        json.loads(data)
        check(False, "garbage is not JSON")
    except ValueError:
        check(status == 200, "garbage answers 200 with a body that is not JSON")
    control("fail", {"mode": "timeout", "count": 1, "method": "getSignaturesForAddress"})
    started = time.monotonic()
    try:
        http("POST", "/", {"jsonrpc": "2.0", "id": 1, "method": "getSignaturesForAddress", "params": [reference]},
             timeout=1)
        check(False, "timeout holds the request")
    except (TimeoutError, OSError):
        check(time.monotonic() - started >= 0.9, "timeout holds the request unanswered")
    check(result("getHealth") == "ok", "other requests proceed while one is held")
    calls = control("calls")
    check(calls.get("getSignaturesForAddress", 0) > 5 and calls.get("getHealth", 0) >= 5 and calls.get("getFoo") == 1,
          "/control/calls counts calls by method")

    # -- reset
    control("reset", {})
    check(control("calls") == {} and control("transactions") == [], "reset forgets calls and transactions")
    check(result("getSignaturesForAddress", merchant) == [], "and the index")
    check(result("getSlot") >= slot, "the slot never goes back")
    server.shutdown()
    print(f"self-test: {len(checks)} checks passed")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ready", help="write the port to this file once listening")
    parser.add_argument("--self-test", action="store_true", help="run the self-test and exit")
    arguments = parser.parse_args()
    if arguments.self_test:
        self_test()
        return
    if not arguments.ready:
        parser.error("--ready FILE is required")
    server = make_server()
    port = server.server_port
    with open(arguments.ready + ".tmp", "w") as ready:
        ready.write(str(port))
    os.replace(arguments.ready + ".tmp", arguments.ready)
    print(f"solana rpc stand-in on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
