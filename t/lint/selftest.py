#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Prove that certlint can fail: take a good end-entity certificate and its issuing CA
certificate (PEM files), check that both pass, then break them one rule at a time
(re-encoding the DER tree) and check that the lint reports exactly that rule.

    selftest.py LEAF.pem CA.pem [TEMPLATE]

LEAF must be an EndEntityCertificate/V1-like certificate (KU, EKU, SAN, AKI, SKI, BC)
issued by CA, a self-signed CA certificate with keyUsage. Prints one TAP-like line per
case; exit status 0 when every broken certificate was caught.
"""

import copy
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import certlint  # noqa: E402
import der  # noqa: E402


class T:
    """An editable DER element: identifier octets and either children or content."""

    def __init__(self, ident, children=None, content=b""):
        self.ident, self.children, self.content = ident, children, content

    @classmethod
    def of(cls, node):
        ident = node.raw[: node.body - node.start]
        ident = ident[: len(ident) - len(der.length_octets(node.end - node.body))]
        if node.constructed:
            return cls(ident, [cls.of(c) for c in node.children])
        return cls(ident, None, node.content)

    def encode(self):
        body = b"".join(c.encode() for c in self.children) if self.children is not None \
            else self.content
        return self.ident + der.length_octets(len(body)) + body


def prim(tag, content):
    return T(bytes([tag]), None, content)


def tree(pem_path):
    with open(pem_path, "rb") as f:
        return T.of(der.parse(certlint.read_certs(f.read())[0]))


# Navigation in a Certificate tree.
def tbs(c):
    return c.children[0]


def field(c, name):
    f = tbs(c).children
    off = 1 if f[0].ident == b"\xa0" else 0
    return f[off + ["serial", "sig", "issuer", "validity", "subject", "spki"].index(name)]


def exts(c):
    return [f for f in tbs(c).children if f.ident == b"\xa3"][0].children[0]


def oid_of(ext):
    return der.oid(der.parse(ext.children[0].encode()))


def find_ext(c, oid):
    for e in exts(c).children:
        if oid_of(e) == oid:
            return e
    raise KeyError(oid)


def make_ext(oid, value, critical=None):
    parts = [T.of(der.parse(der.enc_oid(oid)))]
    if critical is not None:
        parts.append(prim(0x01, b"\xff" if critical else b"\x00"))
    parts.append(prim(0x04, value))
    return T(b"\x30", parts)


def set_ext_value(c, oid, value):
    find_ext(c, oid).children[-1].content = value


def drop_ext(c, oid):
    e = exts(c)
    e.children = [x for x in e.children if oid_of(x) != oid]


def last_atv_value(name):
    return name.children[-1].children[-1].children[1]


# ---- the broken certificates: (rule expected, which cert, how to break it) -------

def m_serial(content):
    def f(c):
        field(c, "serial").content = content
    return f


def m_sig_inner(oid):
    def f(c):
        field(c, "sig").children[0] = T.of(der.parse(der.enc_oid(oid)))
    return f


def m_sig_both(oid):
    def f(c):
        for alg in (field(c, "sig"), c.children[1]):
            alg.children[0] = T.of(der.parse(der.enc_oid(oid)))
            if len(alg.children) > 1:
                alg.children = alg.children[:1]
    return f


def m_issuer(c):
    v = last_atv_value(field(c, "issuer"))
    v.content = v.content + b"x"


def m_swap_validity(c):
    v = field(c, "validity")
    v.children.reverse()


def m_generalized_not_after(c):
    na = field(c, "validity").children[1]
    if na.ident == b"\x17":
        yy = int(na.content[:2])
        na.ident, na.content = b"\x18", (b"19" if yy >= 50 else b"20") + na.content


def m_utc_no_seconds(c):
    nb = field(c, "validity").children[0]
    nb.ident, nb.content = b"\x17", b"2601010000Z"


def m_not_after(text):
    def f(c):
        na = field(c, "validity").children[1]
        na.ident, na.content = (b"\x18" if len(text) == 15 else b"\x17"), text
    return f


def m_dup(oid):
    def f(c):
        exts(c).children.append(copy.deepcopy(find_ext(c, oid)))
    return f


def m_flip(oid, index=-1):
    def f(c):
        v = bytearray(find_ext(c, oid).children[-1].content)
        v[index] ^= 0x01
        set_ext_value(c, oid, bytes(v))
    return f


def m_noncritical(oid):
    def f(c):
        e = find_ext(c, oid)
        e.children = [e.children[0], e.children[-1]]
    return f


def m_critical_false(oid):
    def f(c):
        e = find_ext(c, oid)
        e.children = [e.children[0], prim(0x01, b"\x00"), e.children[-1]]
    return f


def m_critical_true(oid):
    def f(c):
        e = find_ext(c, oid)
        e.children = [e.children[0], prim(0x01, b"\xff"), e.children[-1]]
    return f


def m_critical_bool01(oid):
    def f(c):
        e = find_ext(c, oid)
        e.children = [e.children[0], prim(0x01, b"\x01"), e.children[-1]]
    return f


def m_set(oid, value):
    return lambda c: set_ext_value(c, oid, value)


def m_drop(oid):
    return lambda c: drop_ext(c, oid)


def m_add(oid, value, critical=None):
    return lambda c: exts(c).children.append(make_ext(oid, value, critical))


def m_no_version(c):
    t = tbs(c)
    t.children = t.children[1:]


def m_empty_subject(c):
    field(c, "subject").children = []


def m_curve(oid):
    def f(c):
        alg = field(c, "spki").children[0]
        alg.children[1] = T.of(der.parse(der.enc_oid(oid)))
    return f


def m_sig_value(c):
    c.children[2].content = b"\x00\x04\x00"


def m_bytes_trailing(data):
    return data + b"\x00\x00"


def m_bytes_long_length(data):
    # The outer SEQUENCE length one octet longer than needed (BER, not DER).
    assert data[1] & 0x80
    n = data[1] & 0x7F
    return bytes([0x30, 0x80 | (n + 1), 0x00]) + data[2:]


KU_KCS_EE = b"\x03\x02\x01\x86"  # digitalSignature, keyCertSign, cRLSign
KU_DS_ONLY = b"\x03\x02\x07\x80"
SAN_BAD = b"\x30\x0b\x82\x09bad name!"
SAN_BAD_IP = b"\x30\x07\x87\x05\x01\x02\x03\x04\x05"
BC_PATHLEN_EE = b"\x30\x03\x02\x01\x00"
BC_CA_FALSE_EXPLICIT = b"\x30\x03\x01\x01\x00"
NC_VALUE = b"\x30\x0e\xa0\x0c\x30\x0a\x82\x08.example"
AIA_VALUE = (b"\x30\x1a\x30\x18\x06\x08\x2b\x06\x01\x05\x05\x07\x30\x01"
             b"\x86\x0chttp://x/ocs")

CASES = [
    ("serial.positive", "leaf", m_serial(b"\x00")),
    ("serial.positive", "leaf", m_serial(b"\x80\x01\x02\x03\x04\x05\x06\x07\x08")),
    ("serial.length", "leaf", m_serial(b"\x01" + b"\x22" * 20)),
    ("serial.entropy", "leaf", m_serial(b"\x01\x02\x03")),
    ("der", "leaf", m_serial(b"\x00\x12\x34\x56\x78\x9a\xbc\xde\xf0\x11")),
    ("sigalg.mismatch", "leaf", m_sig_inner("1.2.840.10045.4.3.3")),
    ("sigalg.weak", "leaf", m_sig_both("1.2.840.10045.4.1")),
    ("issuer.mismatch", "leaf", m_issuer),
    ("validity.order", "leaf", m_swap_validity),
    ("validity.encoding", "leaf", m_generalized_not_after),
    ("validity.encoding", "leaf", m_not_after(b"20491231235959Z")),
    ("validity.issuer", "leaf", m_not_after(b"20991231235959Z")),
    ("der", "leaf", m_utc_no_seconds),
    ("ext.duplicate", "leaf", m_dup("2.5.29.14")),
    ("aki.mismatch", "leaf", m_flip("2.5.29.35")),
    ("ski.method1", "leaf", m_flip("2.5.29.14")),
    ("aki.missing", "leaf", m_drop("2.5.29.35")),
    ("ski.missing", "leaf", m_drop("2.5.29.14")),
    ("ext.default", "leaf", m_critical_false("2.5.29.14")),
    ("ext.default", "leaf", m_set("2.5.29.19", BC_CA_FALSE_EXPLICIT)),
    ("ski.critical", "leaf", m_critical_true("2.5.29.14")),
    ("der", "leaf", m_critical_bool01("2.5.29.15")),
    ("ku.kcs-ee", "leaf", m_set("2.5.29.15", KU_KCS_EE)),
    ("bc.pathlen-ee", "leaf", m_set("2.5.29.19", BC_PATHLEN_EE)),
    ("ca-only.ee", "leaf", m_add("2.5.29.30", NC_VALUE, True)),
    ("san.name", "leaf", m_set("2.5.29.17", SAN_BAD)),
    ("san.name", "leaf", m_set("2.5.29.17", SAN_BAD_IP)),
    ("san.critical", "leaf", m_empty_subject),
    ("aia.critical", "leaf", m_add("1.3.6.1.5.5.7.1.1", AIA_VALUE, True)),
    ("ext.unknown-critical", "leaf", m_add("1.3.6.1.4.1.99999.1", b"\x05\x00", True)),
    ("ext.value", "leaf", m_set("2.5.29.17", b"\x30\x03\x82\x01a\x00")),
    ("version", "leaf", m_no_version),
    ("spki.ec-curve", "leaf", m_curve("1.3.132.0.10")),
    ("sig.value", "leaf", m_sig_value),
    ("template.eku", "leaf", m_drop("2.5.29.37")),
    ("template.ku", "leaf", m_set("2.5.29.15", KU_DS_ONLY)),
    ("bc.not-critical", "ca", m_noncritical("2.5.29.19")),
    ("ku.missing-ca", "ca", m_drop("2.5.29.15")),
    ("template.bc", "ca", m_set("2.5.29.19", b"\x30\x06\x01\x01\xff\x02\x01\x02")),
]
BYTE_CASES = [("der", "leaf", m_bytes_trailing), ("der", "leaf", m_bytes_long_length)]


def run_lint(data, issuer, template):
    try:
        c = certlint.Cert(data)
        out, _ = certlint.lint(c, issuer, template)
        return out.errors
    except (der.DERError, ValueError, IndexError) as e:
        return ["der: %s" % e]


def main(argv):
    leaf_path, ca_path = argv[0], argv[1]
    template = argv[2] if len(argv) > 2 else "EndEntityCertificate/V1"
    ca_template = "RootCACertificate/V1"
    with open(ca_path, "rb") as f:
        issuer = certlint.Cert(certlint.read_certs(f.read())[0])
    good = {"leaf": tree(leaf_path), "ca": tree(ca_path)}
    templates = {"leaf": template, "ca": ca_template}
    issuers = {"leaf": issuer, "ca": None}
    failures, n = 0, 0
    for which in ("leaf", "ca"):
        n += 1
        errors = run_lint(good[which].encode(), issuers[which], templates[which])
        ok = not errors
        failures += not ok
        print("%s %d - the good %s passes%s" % ("ok" if ok else "not ok", n, which,
                                              "" if ok else ": " + "; ".join(errors)))
    cases = [(r, w, f, False) for r, w, f in CASES] + [(r, w, f, True) for r, w, f in BYTE_CASES]
    for rule, which, mutate, on_bytes in cases:
        n += 1
        if on_bytes:
            data = mutate(good[which].encode())
        else:
            t = copy.deepcopy(good[which])
            mutate(t)
            data = t.encode()
        errors = run_lint(data, issuers[which], templates[which])
        hit = any(e.split(":")[0] == rule for e in errors)
        failures += not hit
        print("%s %d - broken %s caught as %s%s" % ("ok" if hit else "not ok", n, which, rule,
                                                   "" if hit else " (got: %s)" % errors))
    print("1..%d" % n)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
