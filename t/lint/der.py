# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""A strict DER reader and a small writer (X.690 §8, §10), stdlib only.

The certificate lint reads certificates with this instead of OpenSSL, so that a
mistake shared by the module and OpenSSL cannot hide, and so that it sees the
bytes exactly as encoded: indefinite lengths, non-minimal lengths or tags and
trailing bytes are errors here, where BER-tolerant parsers would let them pass.
"""

import binascii
import datetime

# Universal tags (X.680 §8.4).
BOOLEAN, INTEGER, BIT_STRING, OCTET_STRING, NULL, OID = 1, 2, 3, 4, 5, 6
UTF8_STRING, SEQUENCE, SET = 12, 16, 17
PRINTABLE_STRING, T61_STRING, IA5_STRING, UTC_TIME, GENERALIZED_TIME = 19, 20, 22, 23, 24
VISIBLE_STRING, UNIVERSAL_STRING, BMP_STRING = 26, 28, 30

UNIVERSAL, APPLICATION, CONTEXT, PRIVATE = 0, 1, 2, 3


class DERError(Exception):
    """The bytes are not DER."""


class Node:
    """One TLV: cls, constructed, tag, and the slices of its encoding."""

    __slots__ = ("buf", "cls", "constructed", "tag", "start", "body", "end", "_children")

    def __init__(self, buf, cls, constructed, tag, start, body, end):
        self.buf, self.cls, self.constructed, self.tag = buf, cls, constructed, tag
        self.start, self.body, self.end = start, body, end
        self._children = None

    @property
    def raw(self):
        """The whole encoding (tag, length, contents)."""
        return bytes(self.buf[self.start:self.end])

    @property
    def content(self):
        return bytes(self.buf[self.body:self.end])

    def is_(self, tag, cls=UNIVERSAL):
        return self.cls == cls and self.tag == tag

    @property
    def children(self):
        if self._children is None:
            if not self.constructed:
                raise DERError("primitive element has no children")
            self._children = parse_all(self.buf, self.body, self.end)
        return self._children

    def __repr__(self):
        return "<%s %d%s %d bytes>" % ("UACP"[self.cls], self.tag,
                                       "c" if self.constructed else "p", self.end - self.body)


def parse_at(buf, pos, end):
    """The Node at buf[pos:end]; DERError unless it is a well-formed DER header whose
    contents fit before end."""
    start = pos
    if pos >= end:
        raise DERError("missing element at offset %d" % pos)
    first = buf[pos]
    cls, constructed, tag = first >> 6, bool(first & 0x20), first & 0x1F
    pos += 1
    if tag == 0x1F:  # high tag number form (X.690 §8.1.2.4), minimal
        tag = 0
        if pos >= end or buf[pos] == 0x80:
            raise DERError("bad high tag number")
        while True:
            if pos >= end:
                raise DERError("truncated tag")
            b = buf[pos]
            pos += 1
            tag = (tag << 7) | (b & 0x7F)
            if not b & 0x80:
                break
        if tag < 0x1F:
            raise DERError("high tag form for a low tag number")
    if pos >= end:
        raise DERError("truncated length")
    b = buf[pos]
    pos += 1
    if b < 0x80:
        length = b
    elif b == 0x80:
        raise DERError("indefinite length (BER, not DER)")
    else:
        n = b & 0x7F
        if n > 4 or pos + n > end:
            raise DERError("length of length out of range")
        if buf[pos] == 0:
            raise DERError("non-minimal length (leading zero octet)")
        length = int.from_bytes(buf[pos:pos + n], "big")
        pos += n
        if length < 0x80:
            raise DERError("non-minimal length (long form for a short length)")
    if pos + length > end:
        raise DERError("element longer than its container")
    return Node(buf, cls, constructed, tag, start, pos, pos + length)


def parse_all(buf, pos, end):
    """Every element from pos to end, back to back."""
    out = []
    while pos < end:
        node = parse_at(buf, pos, end)
        out.append(node)
        pos = node.end
    return out


def parse(data):
    """The one element data holds, with nothing after it."""
    buf = memoryview(bytes(data))
    node = parse_at(buf, 0, len(buf))
    if node.end != len(buf):
        raise DERError("%d bytes after the element" % (len(buf) - node.end))
    return node


def walk(node):
    """Every constructed element's children are parsed (the whole tree is DER)."""
    if node.constructed:
        for child in node.children:
            walk(child)


# ---- values ---------------------------------------------------------------------------

def integer(node):
    """INTEGER value; DERError for an empty or non-minimal encoding (X.690 §8.3.2)."""
    c = node.content
    if not c:
        raise DERError("empty INTEGER")
    if len(c) > 1 and ((c[0] == 0 and not c[1] & 0x80) or (c[0] == 0xFF and c[1] & 0x80)):
        raise DERError("non-minimal INTEGER")
    return int.from_bytes(c, "big", signed=True)


def boolean(node):
    c = node.content
    if len(c) != 1 or c[0] not in (0x00, 0xFF):
        raise DERError("BOOLEAN not 0x00 or 0xFF (X.690 §11.1)")
    return c[0] == 0xFF


def oid(node):
    """Dotted text of an OBJECT IDENTIFIER, minimal sub-identifiers required."""
    c = node.content
    if not c or c[-1] & 0x80:
        raise DERError("bad OBJECT IDENTIFIER")
    arcs, v, fresh = [], 0, True
    for b in c:
        if fresh and b == 0x80:
            raise DERError("non-minimal OID sub-identifier")
        v = (v << 7) | (b & 0x7F)
        fresh = not b & 0x80
        if fresh:
            arcs.append(v)
            v = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first] + arcs[1:])


def bit_string(node):
    """(unused bits, bytes). DER: unused bits 0..7, zero when empty, padding bits zero."""
    c = node.content
    if not c or c[0] > 7 or (len(c) == 1 and c[0]):
        raise DERError("bad BIT STRING")
    if c[0] and c[-1] & ((1 << c[0]) - 1):
        raise DERError("BIT STRING padding bits not zero")
    return c[0], c[1:]


def named_bits(node):
    """Set bit positions of a named-bit BIT STRING, which DER ends on a one bit
    (X.690 §11.2.2)."""
    unused, data = bit_string(node)
    bits = {i * 8 + j for i, b in enumerate(data) for j in range(8) if b & (0x80 >> j)}
    if data and (data[-1] == 0 or not data[-1] & (1 << unused)):
        raise DERError("named-bit BIT STRING with trailing zero bits")
    return bits


def time(node):
    """(datetime UTC, 'utc'|'generalized'). RFC 5280 §4.1.2.5.1-2: YYMMDDHHMMSSZ and
    YYYYMMDDHHMMSSZ exactly, seconds present, no fraction."""
    text = node.content.decode("ascii", "replace")
    if node.is_(UTC_TIME):
        if len(text) != 13 or not text[:12].isdigit() or text[12] != "Z":
            raise DERError("UTCTime not YYMMDDHHMMSSZ: %r" % text)
        yy = int(text[:2])
        year, rest, kind = (1900 + yy if yy >= 50 else 2000 + yy), text[2:12], "utc"
    elif node.is_(GENERALIZED_TIME):
        if len(text) != 15 or not text[:14].isdigit() or text[14] != "Z":
            raise DERError("GeneralizedTime not YYYYMMDDHHMMSSZ: %r" % text)
        year, rest, kind = int(text[:4]), text[4:14], "generalized"
    else:
        raise DERError("not a Time")
    try:
        when = datetime.datetime(year, int(rest[0:2]), int(rest[2:4]), int(rest[4:6]),
                                 int(rest[6:8]), int(rest[8:10]), tzinfo=datetime.timezone.utc)
    except ValueError as e:
        raise DERError("not a calendar instant: %r (%s)" % (text, e))
    return when, kind


def hexstr(b):
    return binascii.hexlify(bytes(b)).decode()


# ---- writing (the self-test builds broken certificates with it) ----------------------

def length_octets(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(first_octet, content):
    """An element with a one-octet tag (tags below 31)."""
    return bytes([first_octet]) + length_octets(len(content)) + bytes(content)


def seq(*parts):
    return tlv(0x30, b"".join(parts))


def enc_integer(v):
    n = max(1, (v.bit_length() + 8) // 8)
    return tlv(0x02, v.to_bytes(n, "big", signed=True))


def enc_oid(text):
    arcs = [int(a) for a in text.split(".")]
    out = bytearray()
    for a in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.append(0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, out)
