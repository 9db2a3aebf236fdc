"""IPv6 and Ethernet framing shared by the Mobility Header and ND codecs."""
from __future__ import annotations

import struct
from ipaddress import IPv6Address
from typing import Union

Address = Union[IPv6Address, str, bytes]

ETH_TYPE_IPV6 = 0x86DD
ETH_HEADER = struct.Struct("!6s6sH")
IPV6_HEADER = struct.Struct("!IHBB16s16s")


def packed(address: Address) -> bytes:
    """16 octets of an IPv6 address given as text, object or bytes."""
    if isinstance(address, bytes):
        return address
    return address.packed if isinstance(address, IPv6Address) else IPv6Address(address).packed


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def checksum_residue(src: bytes, dst: bytes, next_header: int, data: bytes) -> int:
    """One's complement sum (mod 0xFFFF) of the IPv6 pseudo-header and ``data``.

    Since 2**16 == 1 (mod 0xFFFF), the number spelled by the bytes has the
    same residue as the one's complement sum of its 16-bit words, which turns
    the word loop into one big-integer operation.
    """
    if len(data) % 2:
        data += b"\0"
    pseudo = src + dst + len(data).to_bytes(4, "big") + bytes((0, 0, 0, next_header))
    return int.from_bytes(pseudo + data, "big") % 0xFFFF


def checksum(src: bytes, dst: bytes, next_header: int, data: bytes) -> int:
    """The upper-layer checksum of ``data`` (its checksum field zeroed)."""
    residue = checksum_residue(src, dst, next_header, data)
    return 0xFFFF - residue if residue else 0


def ipv6_header(src: bytes, dst: bytes, next_header: int, payload_len: int,
                hop_limit: int = 64) -> bytes:
    return IPV6_HEADER.pack(0x60000000, payload_len, next_header, hop_limit, src, dst)


def ethernet(dst_mac: str, src_mac: str, ipv6_packet: bytes) -> bytes:
    """An Ethernet II frame carrying an IPv6 packet."""
    return ETH_HEADER.pack(mac_bytes(dst_mac), mac_bytes(src_mac), ETH_TYPE_IPV6) + ipv6_packet
