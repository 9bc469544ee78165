#!/usr/bin/python3
"""Drives a Trezor over UDP with Debian's trezorlib (python3-trezor) and prints the results as
JSON for tests/node/trezor_trezorlib.mjs, which verifies them with ethers.

    trezorlib_check.py SIMULATOR_BINARY      (starts keybridge_trezor_sim on free ports)
    KEYBRIDGE_TREZOR_EMULATOR=host:port trezorlib_check.py -   (a real emulator: its DebugLink
        on port + 1 presses the buttons; the device is wiped and loaded with the test phrase)

Debian's trezorlib (0.12) predates EIP-1559 and EIP-712 on the device: those messages are
declared below with trezorlib's own protobuf machinery (wire ids and fields as the vendor
publishes them) and registered with its mapping, so that the same client, transport and
ButtonRequest/PIN/passphrase handling carry them.
"""
import json
import os
import socket
import subprocess
import sys
import time

from trezorlib import ethereum, mapping, messages
from trezorlib import protobuf as p
from trezorlib.client import TrezorClient
from trezorlib.tools import parse_path
from trezorlib.transport.udp import UdpTransport

MNEMONIC = "all all all all all all all all all all all all"
PATH = "m/44'/60'/0'/0/0"


class EthereumAccessList(p.MessageType):
    @classmethod
    def get_fields(cls):
        return {1: ("address", p.UnicodeType, 0), 2: ("storage_keys", p.BytesType, p.FLAG_REPEATED)}


class EthereumSignTxEIP1559(p.MessageType):
    MESSAGE_WIRE_TYPE = 452

    @classmethod
    def get_fields(cls):
        return {
            1: ("address_n", p.UVarintType, p.FLAG_REPEATED),
            2: ("nonce", p.BytesType, 0),
            3: ("max_gas_fee", p.BytesType, 0),
            4: ("max_priority_fee", p.BytesType, 0),
            5: ("gas_limit", p.BytesType, 0),
            6: ("to", p.UnicodeType, 0),
            7: ("value", p.BytesType, 0),
            8: ("data_initial_chunk", p.BytesType, 0),
            9: ("data_length", p.UVarintType, 0),
            10: ("chain_id", p.UVarintType, 0),
            11: ("access_list", EthereumAccessList, p.FLAG_REPEATED),
        }


class EthereumSignTypedData(p.MessageType):
    MESSAGE_WIRE_TYPE = 464

    @classmethod
    def get_fields(cls):
        return {
            1: ("address_n", p.UVarintType, p.FLAG_REPEATED),
            2: ("primary_type", p.UnicodeType, 0),
            3: ("metamask_v4_compat", p.BoolType, 0),
        }


class EthereumTypedDataStructRequest(p.MessageType):
    MESSAGE_WIRE_TYPE = 465

    @classmethod
    def get_fields(cls):
        return {1: ("name", p.UnicodeType, 0)}


class EthereumFieldType(p.MessageType):
    @classmethod
    def get_fields(cls):
        return {
            1: ("data_type", p.UVarintType, 0),
            2: ("size", p.UVarintType, 0),
            3: ("entry_type", EthereumFieldType, 0),
            4: ("struct_name", p.UnicodeType, 0),
        }


class EthereumStructMember(p.MessageType):
    @classmethod
    def get_fields(cls):
        return {1: ("type", EthereumFieldType, 0), 2: ("name", p.UnicodeType, 0)}


class EthereumTypedDataStructAck(p.MessageType):
    MESSAGE_WIRE_TYPE = 466

    @classmethod
    def get_fields(cls):
        return {1: ("members", EthereumStructMember, p.FLAG_REPEATED)}


class EthereumTypedDataValueRequest(p.MessageType):
    MESSAGE_WIRE_TYPE = 467

    @classmethod
    def get_fields(cls):
        return {1: ("member_path", p.UVarintType, p.FLAG_REPEATED)}


class EthereumTypedDataValueAck(p.MessageType):
    MESSAGE_WIRE_TYPE = 468

    @classmethod
    def get_fields(cls):
        return {1: ("value", p.BytesType, 0)}


class EthereumTypedDataSignature(p.MessageType):
    MESSAGE_WIRE_TYPE = 469

    @classmethod
    def get_fields(cls):
        return {1: ("signature", p.BytesType, 0), 2: ("address", p.UnicodeType, 0)}


class EthereumSignTypedHash(p.MessageType):
    MESSAGE_WIRE_TYPE = 470

    @classmethod
    def get_fields(cls):
        return {
            1: ("address_n", p.UVarintType, p.FLAG_REPEATED),
            2: ("domain_separator_hash", p.BytesType, 0),
            3: ("message_hash", p.BytesType, 0),
        }


for cls in (EthereumSignTxEIP1559, EthereumSignTypedData, EthereumTypedDataStructRequest,
            EthereumTypedDataStructAck, EthereumTypedDataValueRequest, EthereumTypedDataValueAck,
            EthereumTypedDataSignature, EthereumSignTypedHash):
    if cls.MESSAGE_WIRE_TYPE not in mapping.map_type_to_class:
        mapping.register_message(cls)

UINT, INT, BYTES, STRING, BOOL, ADDRESS, ARRAY, STRUCT = range(1, 9)

TYPED = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
            {"name": "verifyingContract", "type": "address"},
        ],
        "Person": [{"name": "name", "type": "string"}, {"name": "wallets", "type": "address[]"}],
        "Mail": [
            {"name": "from", "type": "Person"},
            {"name": "to", "type": "Person[]"},
            {"name": "contents", "type": "string"},
            {"name": "amount", "type": "int64"},
            {"name": "flag", "type": "bool"},
            {"name": "tag", "type": "bytes4"},
            {"name": "blob", "type": "bytes"},
        ],
    },
    "primaryType": "Mail",
    "domain": {
        "name": "Ether Mail",
        "version": "1",
        "chainId": 1,
        "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
    },
    "message": {
        "from": {"name": "Cow", "wallets": ["0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"]},
        "to": [
            {"name": "Bob", "wallets": ["0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB",
                                         "0xB0BdaBea57B0BDABeA57b0bdABEA57b0BDabEa57"]},
        ],
        "contents": "Hello, Bob!",
        "amount": -42,
        "flag": True,
        "tag": "0xdeadbeef",
        "blob": "0x" + "ab" * 40,
    },
}


def field_type(type_name, types):
    if type_name.endswith("]"):
        inner, size = type_name[: type_name.rindex("[")], type_name[type_name.rindex("[") + 1 : -1]
        return EthereumFieldType(data_type=ARRAY, size=int(size) if size else None,
                                 entry_type=field_type(inner, types))
    if type_name.startswith("uint"):
        return EthereumFieldType(data_type=UINT, size=int(type_name[4:]) // 8)
    if type_name.startswith("int"):
        return EthereumFieldType(data_type=INT, size=int(type_name[3:]) // 8)
    if type_name == "bytes":
        return EthereumFieldType(data_type=BYTES)
    if type_name.startswith("bytes"):
        return EthereumFieldType(data_type=BYTES, size=int(type_name[5:]))
    if type_name == "string":
        return EthereumFieldType(data_type=STRING)
    if type_name == "bool":
        return EthereumFieldType(data_type=BOOL)
    if type_name == "address":
        return EthereumFieldType(data_type=ADDRESS)
    return EthereumFieldType(data_type=STRUCT, size=len(types[type_name]), struct_name=type_name)


def encode_value(type_name, value):
    if type_name.startswith("uint"):
        return int(value).to_bytes(int(type_name[4:]) // 8, "big")
    if type_name.startswith("int"):
        return int(value).to_bytes(int(type_name[3:]) // 8, "big", signed=True)
    if type_name.startswith("bytes") or type_name == "address":
        return bytes.fromhex(value[2:])
    if type_name == "string":
        return value.encode()
    if type_name == "bool":
        return b"\x01" if value else b"\x00"
    raise ValueError(type_name)


def sign_typed_data(client, n, data):
    types = data["types"]
    resp = client.call(EthereumSignTypedData(address_n=n, primary_type=data["primaryType"],
                                             metamask_v4_compat=True))
    while isinstance(resp, (EthereumTypedDataStructRequest, EthereumTypedDataValueRequest)):
        if isinstance(resp, EthereumTypedDataStructRequest):
            members = [EthereumStructMember(name=m["name"], type=field_type(m["type"], types))
                       for m in types[resp.name]]
            resp = client.call(EthereumTypedDataStructAck(members=members))
            continue
        path = resp.member_path
        type_name = "EIP712Domain" if path[0] == 0 else data["primaryType"]
        value = data["domain"] if path[0] == 0 else data["message"]
        for index in path[1:]:
            if type_name.endswith("]"):
                type_name = type_name[: type_name.rindex("[")]
                value = value[index]
            else:
                member = types[type_name][index]
                type_name, value = member["type"], value[member["name"]]
        if type_name.endswith("]"):
            encoded = len(value).to_bytes(2, "big")
        else:
            encoded = encode_value(type_name, value)
        resp = client.call(EthereumTypedDataValueAck(value=encoded))
    assert isinstance(resp, EthereumTypedDataSignature), resp
    return resp


class ScriptedUI:
    """The person at the host: types the PIN's positions as the simulator shows them."""

    def __init__(self, control, pin=None, passphrase=""):
        self.control, self.pin, self.passphrase = control, pin, passphrase
        self.buttons = 0

    def button_request(self, code):
        self.buttons += 1

    def get_pin(self, code=None):
        return ask(self.control, "positions " + self.pin)

    def get_passphrase(self, available_on_device=False):
        return self.passphrase


def ask(port, command):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(command.encode(), ("127.0.0.1", port))
    answer = s.recv(256).decode()
    s.close()
    return answer


def start_sim(binary, *args):
    proc = subprocess.Popen([binary, "--port", "0", *args], stdout=subprocess.PIPE, text=True)
    words = proc.stdout.readline().split()  # "port P control C"
    return proc, int(words[1]), int(words[3])


def run_flows(client, model):
    n = parse_path(PATH)
    out = {"model": model}
    out["address"] = ethereum.get_address(client, n)
    out["address_shown"] = ethereum.get_address(client, n, show_display=True)
    big_data = bytes(range(256)) * 9  # 2304 bytes: the device asks for two more chunks
    v, r, s = ethereum.sign_tx(client, n, nonce=3, gas_price=20_000_000_000, gas_limit=90_000,
                               to="0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                               value=10**15, data=big_data, chain_id=1)
    out["legacy"] = {"v": v, "r": r.hex(), "s": s.hex(), "data": big_data.hex()}
    big_chain = 2**40 + 7
    v, r, s = ethereum.sign_tx(client, n, nonce=0, gas_price=1, gas_limit=21_000,
                               to="0x70997970C51812dc3A010C7d01b50e0d17dc79C8", value=1,
                               chain_id=big_chain)
    out["legacy_big_chain"] = {"v": v, "r": r.hex(), "s": s.hex(), "chainId": big_chain}
    resp = client.call(EthereumSignTxEIP1559(
        address_n=n, nonce=(7).to_bytes(1, "big"), max_gas_fee=(30 * 10**9).to_bytes(5, "big"),
        max_priority_fee=(10**9).to_bytes(4, "big"), gas_limit=(50_000).to_bytes(3, "big"),
        to="0x70997970C51812dc3A010C7d01b50e0d17dc79C8", value=(12345).to_bytes(2, "big"),
        data_initial_chunk=b"\xa9\x05\x9c\xbb", data_length=4, chain_id=137,
        access_list=[EthereumAccessList(address="0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
                                        storage_keys=[b"\x00" * 31 + b"\x01"])]))
    out["eip1559"] = {"v": resp.signature_v, "r": resp.signature_r.hex(),
                      "s": resp.signature_s.hex()}
    sig = ethereum.sign_message(client, n, "keybridge \u2713 trezorlib")
    out["message"] = {"text": "keybridge \u2713 trezorlib", "signature": sig.signature.hex(),
                      "address": sig.address}
    if model == "1":
        out["typed_data_skipped"] = "Trezor One signs typed data from hashes only"
    else:
        sig = sign_typed_data(client, n, TYPED)
        out["typed"] = {"data": TYPED, "signature": sig.signature.hex(), "address": sig.address}
    return out


def main():
    emulator = os.environ.get("KEYBRIDGE_TREZOR_EMULATOR")
    results = {}
    if emulator:
        from trezorlib import debuglink, device
        from trezorlib.debuglink import TrezorClientDebugLink
        transport = UdpTransport(emulator)
        client = TrezorClientDebugLink(transport)
        device.wipe(client)
        debuglink.load_device(client, mnemonic=MNEMONIC, pin=None, passphrase_protection=False,
                              label="keybridge")
        results["main"] = run_flows(client, client.features.model or "1")
        client.close()
        print(json.dumps(results))
        return
    binary = sys.argv[1]
    proc, port, control = start_sim(binary)
    try:
        client = TrezorClient(UdpTransport("127.0.0.1:%d" % port), ui=ScriptedUI(control))
        results["main"] = run_flows(client, client.features.model)
        results["main"]["buttons"] = int(ask(control, "buttons"))
        client.close()
    finally:
        proc.terminate()
        proc.wait()
    # PIN through the scrambled matrix and a passphrase typed on the host: the hidden wallet.
    proc, port, control = start_sim(binary, "--pin", "2589", "--passphrase-protection")
    try:
        ui = ScriptedUI(control, pin="2589", passphrase="keybridge hidden")
        client = TrezorClient(UdpTransport("127.0.0.1:%d" % port), ui=ui)
        results["hidden"] = {"passphrase": "keybridge hidden",
                             "address": ethereum.get_address(client, parse_path(PATH))}
        client.close()
    finally:
        proc.terminate()
        proc.wait()
    # A rejection on the device reaches trezorlib as Cancelled.
    proc, port, control = start_sim(binary, "--reject")
    try:
        client = TrezorClient(UdpTransport("127.0.0.1:%d" % port), ui=ScriptedUI(control))
        try:
            ethereum.sign_message(client, parse_path(PATH), "no")
            results["rejected"] = False
        except Exception as error:  # trezorlib.exceptions.Cancelled
            results["rejected"] = type(error).__name__
        client.close()
    finally:
        proc.terminate()
        proc.wait()
    # Trezor One: typed data from its two hashes.
    proc, port, control = start_sim(binary, "--model", "1")
    try:
        client = TrezorClient(UdpTransport("127.0.0.1:%d" % port), ui=ScriptedUI(control))
        domain_hash = bytes.fromhex(sys.argv[2]) if len(sys.argv) > 2 else b"\x11" * 32
        message_hash = bytes.fromhex(sys.argv[3]) if len(sys.argv) > 3 else b"\x22" * 32
        sig = client.call(EthereumSignTypedHash(address_n=parse_path(PATH),
                                                domain_separator_hash=domain_hash,
                                                message_hash=message_hash))
        results["typed_hash"] = {"domain": domain_hash.hex(), "message": message_hash.hex(),
                                 "signature": sig.signature.hex(), "address": sig.address,
                                 "model": client.features.model}
        client.close()
    finally:
        proc.terminate()
        proc.wait()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
