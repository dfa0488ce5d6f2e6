#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""certlint: the RFC 5280 rules a private CA's certificates must meet, checked from the
DER bytes (t/lint/der.py), independently of OpenSSL and of the module.

    certlint.py [--issuer ISSUER.pem] [--template NAME] [--signing ALG] [--json]
                [--allow-critical OID]... CERT.pem
    certlint.py --batch JOBS.json


CERT.pem may hold several certificates; each is checked. ISSUER.pem is the issuing CA
certificate (the first of a bundle, e.g. a GetCertificate CertificateChain); without it
a self-signed certificate is its own issuer and the linkage checks of other
certificates are skipped. NAME is an AWS Private CA template (PCA-API.md §7.3), ALG a
SigningAlgorithm; --allow-critical takes an OID or an arc (every OID below it).
Exit status: 0 clean, 1 findings, 2 unreadable input.
With --json, one JSON document per certificate: findings, warnings, and the decoded
fields and extensions (what the tests compare extension by extension). --batch reads
a JSON array of {"cert", "issuer", "template", "signing", "allow_critical", "id"}
(paths, names) and prints one such line per job, with its id: one process for many
certificates.
"""

import base64
import hashlib
import json
import re
import sys
import os

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import der  # noqa: E402
import profiles  # noqa: E402
from der import DERError  # noqa: E402

RSA = "1.2.840.113549.1.1.1"
EC = "1.2.840.10045.2.1"
CURVES = {"1.2.840.10045.3.1.7": ("P-256", 32), "1.3.132.0.34": ("P-384", 48),
          "1.3.132.0.35": ("P-521", 66)}

# signatureAlgorithm OID -> (name, key family, SigningAlgorithm)
SIG_ALGS = {
    "1.2.840.113549.1.1.11": ("sha256WithRSAEncryption", RSA, "SHA256WITHRSA"),
    "1.2.840.113549.1.1.12": ("sha384WithRSAEncryption", RSA, "SHA384WITHRSA"),
    "1.2.840.113549.1.1.13": ("sha512WithRSAEncryption", RSA, "SHA512WITHRSA"),
    "1.2.840.10045.4.3.2": ("ecdsa-with-SHA256", EC, "SHA256WITHECDSA"),
    "1.2.840.10045.4.3.3": ("ecdsa-with-SHA384", EC, "SHA384WITHECDSA"),
    "1.2.840.10045.4.3.4": ("ecdsa-with-SHA512", EC, "SHA512WITHECDSA"),
}
WEAK_SIG_ALGS = {"1.2.840.113549.1.1.4": "md5WithRSAEncryption",
                 "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
                 "1.2.840.10045.4.1": "ecdsa-with-SHA1"}

SKI, KU, SAN, IAN, BC = "2.5.29.14", "2.5.29.15", "2.5.29.17", "2.5.29.18", "2.5.29.19"
NC, CDP, CP, PM, AKI = "2.5.29.30", "2.5.29.31", "2.5.29.32", "2.5.29.33", "2.5.29.35"
PC, EKU, FRESHEST, INHIBIT = "2.5.29.36", "2.5.29.37", "2.5.29.46", "2.5.29.54"
AIA, SIA, SDA = "1.3.6.1.5.5.7.1.1", "1.3.6.1.5.5.7.1.11", "2.5.29.9"
EXT_NAMES = {SKI: "subjectKeyIdentifier", KU: "keyUsage", SAN: "subjectAltName",
             IAN: "issuerAltName", BC: "basicConstraints", NC: "nameConstraints",
             CDP: "cRLDistributionPoints", CP: "certificatePolicies", PM: "policyMappings",
             AKI: "authorityKeyIdentifier", PC: "policyConstraints", EKU: "extKeyUsage",
             FRESHEST: "freshestCRL", INHIBIT: "inhibitAnyPolicy", AIA: "authorityInfoAccess",
             SIA: "subjectInfoAccess", SDA: "subjectDirectoryAttributes"}
CA_ONLY = (NC, PC, PM, INHIBIT)  # RFC 5280 §4.2.1.5, .10, .11, .14
AD_OCSP, AD_CA_ISSUERS = "1.3.6.1.5.5.7.48.1", "1.3.6.1.5.5.7.48.2"

PRINTABLE = re.compile(r"^[A-Za-z0-9 '()+,\-./:=?]*$")
# RFC 1034 §3.5 preferred name syntax; '_' tolerated (private names use it; the module
# accepts it too), a wildcard only as the whole leftmost label.
DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
STRING_TAGS = {der.UTF8_STRING, der.PRINTABLE_STRING, der.T61_STRING, der.IA5_STRING,
               der.VISIBLE_STRING, der.UNIVERSAL_STRING, der.BMP_STRING}
PRINTABLE_ONLY = {"2.5.4.6", "2.5.4.5", "2.5.4.46"}  # country, serialNumber, dnQualifier
IA5_ONLY = {"1.2.840.113549.1.9.1", "0.9.2342.19200300.100.1.25"}  # email, DC


class Cert:
    """The parts of a certificate the rules look at."""

    def __init__(self, data):
        self.der = bytes(data)
        self.root = der.parse(self.der)
        der.walk(self.root)
        top = self.root.children
        if len(top) != 3 or not self.root.is_(der.SEQUENCE):
            raise DERError("Certificate is not SEQUENCE {tbs, algorithm, signature}")
        self.tbs, self.outer_alg, self.sig = top
        f = self.tbs.children
        self.version = 1
        if f and f[0].cls == der.CONTEXT and f[0].tag == 0:
            if len(f[0].children) != 1:
                raise DERError("bad version")
            self.version = der.integer(f[0].children[0]) + 1
            f = f[1:]
        if len(f) < 6:
            raise DERError("TBSCertificate too short")
        self.serial_node, self.inner_alg, self.issuer, validity, self.subject, self.spki = f[:6]
        if len(validity.children) != 2:
            raise DERError("Validity is not two times")
        self.nb, self.na = validity.children
        self.extensions = []  # (oid, critical, critical_encoded, value_node_content, ext_node)
        self.ext_container = None
        for extra in f[6:]:
            if extra.cls == der.CONTEXT and extra.tag == 3:
                self.ext_container = extra
                (exts,) = extra.children
                for e in exts.children:
                    parts = e.children
                    crit, crit_encoded = False, False
                    if len(parts) == 3:
                        crit, crit_encoded = der.boolean(parts[1]), True
                    elif len(parts) != 2:
                        raise DERError("Extension has %d fields" % len(parts))
                    if not parts[-1].is_(der.OCTET_STRING):
                        raise DERError("extnValue is not an OCTET STRING")
                    self.extensions.append((der.oid(parts[0]), crit, crit_encoded,
                                            parts[-1].content, e))
            elif extra.cls == der.CONTEXT and extra.tag in (1, 2):
                pass  # unique identifiers: flagged by the rules
            else:
                raise DERError("unexpected field in TBSCertificate")
        self.unique_ids = [x for x in f[6:] if x.tag in (1, 2)]

    def ext(self, oid):
        for e in self.extensions:
            if e[0] == oid:
                return e
        return None

    def spki_parts(self):
        alg, key = self.spki.children
        parts = alg.children
        return der.oid(parts[0]), (parts[1] if len(parts) > 1 else None), key

    def subject_public_key(self):
        return der.bit_string(self.spki_parts()[2])[1]

    def key_id_method1(self):
        return hashlib.sha1(self.subject_public_key()).digest()

    def ski(self):
        e = self.ext(SKI)
        return der.parse(e[3]).content if e else None

    def bc(self):
        """(ca, pathlen) or None."""
        e = self.ext(BC)
        if not e:
            return None
        ca, pathlen = False, None
        for c in der.parse(e[3]).children:
            if c.is_(der.BOOLEAN):
                ca = der.boolean(c)
            elif c.is_(der.INTEGER):
                pathlen = der.integer(c)
        return ca, pathlen


# ---- rules -------------------------------------------------------------------------

class Findings:
    def __init__(self):
        self.errors, self.warnings = [], []

    def fail(self, rule, msg):
        self.errors.append("%s: %s" % (rule, msg))

    def warn(self, rule, msg):
        self.warnings.append("%s: %s" % (rule, msg))


def check_serial(c, out):
    v = der.integer(c.serial_node)
    n = len(c.serial_node.content)
    if v <= 0:
        out.fail("serial.positive", "serial number must be positive (RFC 5280 §4.1.2.2)")
    if n > 20:
        out.fail("serial.length", "serial number is %d octets, at most 20 allowed" % n)
    if 0 < v < (1 << 63):
        out.fail("serial.entropy", "serial number has fewer than 64 bits (%d)" % v.bit_length())
    return v


def alg_params(alg):
    parts = alg.children
    return der.oid(parts[0]), (parts[1] if len(parts) > 1 else None)


def check_signature_alg(c, issuer, signing, out):
    if c.inner_alg.raw != c.outer_alg.raw:
        out.fail("sigalg.mismatch", "TBSCertificate.signature differs from signatureAlgorithm "
                 "(RFC 5280 §4.1.1.2)")
    oid, params = alg_params(c.outer_alg)
    if oid in WEAK_SIG_ALGS:
        out.fail("sigalg.weak", "signed with %s" % WEAK_SIG_ALGS[oid])
        return None
    if oid not in SIG_ALGS:
        out.fail("sigalg.unknown", "signature algorithm %s is not one a PCA CA signs with" % oid)
        return None
    name, family, sigalg = SIG_ALGS[oid]
    if family == RSA and (params is None or not params.is_(der.NULL) or params.content):
        out.fail("sigalg.params", "%s needs NULL parameters (RFC 4055 §5)" % name)
    if family == EC and params is not None:
        out.fail("sigalg.params", "%s takes no parameters (RFC 5758 §3.2)" % name)
    unused, sig = der.bit_string(c.sig)
    if unused:
        out.fail("sig.value", "signature BIT STRING has unused bits")
    if family == EC:
        try:
            s = der.parse(sig)
            rs = s.children
            if not s.is_(der.SEQUENCE) or len(rs) != 2 or any(der.integer(x) <= 0 for x in rs):
                raise DERError("not SEQUENCE {r, s}")
        except DERError as e:
            out.fail("sig.value", "ECDSA signature value: %s" % e)
    if signing and signing != sigalg:
        out.fail("sigalg.expected", "signed with %s, %s was asked for" % (sigalg, signing))
    if issuer is not None:
        ikey = issuer.spki_parts()[0]
        if ikey != family:
            out.fail("sigalg.issuer-key", "%s does not fit the issuer's key type %s" % (name, ikey))
        elif family == RSA:
            n = der.integer(der.parse(issuer.subject_public_key()).children[0])
            if len(sig) != (n.bit_length() + 7) // 8:
                out.fail("sig.value", "RSA signature length is not the issuer modulus length")
    return sigalg


def check_name_strings(name, what, out):
    """Name ::= SEQUENCE OF RDN; RDN ::= SET SIZE (1..MAX) OF AttributeTypeAndValue."""
    if not name.is_(der.SEQUENCE):
        out.fail("%s.rdn" % what, "not a SEQUENCE of RDNs")
        return
    for rdn in name.children:
        if not rdn.is_(der.SET) or not rdn.children:
            out.fail("%s.rdn" % what, "an RDN is not a non-empty SET")
            continue
        for atv in rdn.children:
            parts = atv.children
            if len(parts) != 2 or not parts[0].is_(der.OID):
                out.fail("%s.rdn" % what, "malformed AttributeTypeAndValue")
                continue
            t, v = der.oid(parts[0]), parts[1]
            if v.cls != der.UNIVERSAL or v.tag not in STRING_TAGS:
                out.fail("%s.string" % what, "attribute %s is not a string" % t)
                continue
            raw = v.content
            try:
                if v.tag == der.UTF8_STRING:
                    text = raw.decode("utf-8")
                elif v.tag == der.BMP_STRING:
                    text = raw.decode("utf-16-be")
                elif v.tag == der.UNIVERSAL_STRING:
                    text = raw.decode("utf-32-be")
                else:
                    text = raw.decode("ascii")
            except UnicodeDecodeError:
                out.fail("%s.string" % what, "attribute %s does not decode as its type" % t)
                continue
            if v.tag == der.PRINTABLE_STRING and not PRINTABLE.match(text):
                out.fail("%s.string" % what, "attribute %s: %r is not a PrintableString" % (t, text))
            if t in PRINTABLE_ONLY and v.tag != der.PRINTABLE_STRING:
                out.fail("%s.string" % what, "attribute %s must be a PrintableString" % t)
            if t == "2.5.4.6" and len(text) != 2:
                out.fail("%s.country" % what, "countryName %r is not two letters" % text)
            if t in IA5_ONLY and v.tag != der.IA5_STRING:
                out.fail("%s.string" % what, "attribute %s must be an IA5String" % t)
            if not text:
                out.fail("%s.string" % what, "attribute %s is empty" % t)


def check_validity(c, issuer, self_signed, out):
    nb, nb_kind = der.time(c.nb)
    na, na_kind = der.time(c.na)
    for when, kind, which in ((nb, nb_kind, "notBefore"), (na, na_kind, "notAfter")):
        want = "utc" if 1950 <= when.year <= 2049 else "generalized"
        if kind != want:
            out.fail("validity.encoding", "%s in %d must be %sTime (RFC 5280 §4.1.2.5)"
                     % (which, when.year, "UTC" if want == "utc" else "Generalized"))
    if na <= nb:
        out.fail("validity.order", "notAfter %s is not after notBefore %s" % (na, nb))
    if issuer is not None and not self_signed:
        ina = der.time(issuer.na)[0]
        if na > ina:
            out.fail("validity.issuer", "notAfter %s is beyond the issuer's notAfter %s"
                     % (na, ina))
    return nb, na


def check_spki(c, out):
    alg, params, key = c.spki_parts()
    unused, bits = der.bit_string(key)
    if unused:
        out.fail("spki.key", "subjectPublicKey has unused bits")
    if alg == RSA:
        if params is None or not params.is_(der.NULL):
            out.fail("spki.params", "rsaEncryption needs NULL parameters (RFC 3279 §2.3.1)")
        n, e = (der.integer(x) for x in der.parse(bits).children)
        if n.bit_length() < 2048:
            out.fail("spki.rsa-size", "RSA modulus of %d bits; at least 2048" % n.bit_length())
        if e < 3 or not e & 1:
            out.fail("spki.rsa-exponent", "RSA public exponent %d" % e)
        return {"type": "RSA", "bits": n.bit_length()}
    if alg == EC:
        if params is None or not params.is_(der.OID):
            out.fail("spki.ec-curve", "EC parameters not a named curve (RFC 5480 §2.1.1)")
            return {"type": "EC"}
        curve = der.oid(params)
        if curve not in CURVES:
            out.fail("spki.ec-curve", "curve %s is not P-256, P-384 or P-521" % curve)
            return {"type": "EC", "curve": curve}
        name, size = CURVES[curve]
        if not ((bits[:1] == b"\x04" and len(bits) == 1 + 2 * size)
                or (bits[:1] in (b"\x02", b"\x03") and len(bits) == 1 + size)):
            out.fail("spki.ec-point", "EC point of %d octets does not fit %s" % (len(bits), name))
        return {"type": "EC", "curve": name}
    out.fail("spki.alg", "key algorithm %s is not RSA or EC" % alg)
    return {"type": alg}


# ---- extensions ---------------------------------------------------------------------

def general_names(data, what, out):
    """Decode GeneralNames into [{type: value}] and check RFC 5280 §4.2.1.6 syntax."""
    names = []
    node = der.parse(data)
    if not node.is_(der.SEQUENCE) or not node.children:
        out.fail("%s.empty" % what, "GeneralNames must hold at least one name")
        return names
    for gn in node.children:
        if gn.cls != der.CONTEXT:
            out.fail("%s.name" % what, "a GeneralName is not context-tagged")
            continue
        t, raw = gn.tag, gn.content
        if t in (1, 2, 6):  # rfc822Name, dNSName, URI: IA5String
            kind = {1: "Rfc822Name", 2: "DnsName", 6: "UniformResourceIdentifier"}[t]
            try:
                text = raw.decode("ascii")
            except UnicodeDecodeError:
                out.fail("%s.name" % what, "%s is not ASCII" % kind)
                continue
            if t == 2:
                labels = text.split(".")
                if labels and labels[0] == "*":
                    labels = labels[1:]
                if not text or len(text) > 255 or not labels \
                        or not all(DNS_LABEL.match(lb) for lb in labels):
                    out.fail("%s.name" % what, "dNSName %r is not a host name" % text)
            elif t == 1 and ("@" not in text or text.startswith("@") or text.endswith("@")
                             or not re.match(r"^[\x21-\x7e]+$", text)):
                out.fail("%s.name" % what, "rfc822Name %r is not a mailbox" % text)
            elif t == 6 and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", text):
                out.fail("%s.name" % what, "URI %r has no scheme" % text)
            names.append({kind: text})
        elif t == 7:
            if len(raw) not in (4, 16):
                out.fail("%s.name" % what, "iPAddress of %d octets" % len(raw))
            names.append({"IpAddress": der.hexstr(raw)})
        elif t == 8:
            names.append({"RegisteredId": der.oid(der.parse(b"\x06" + der.length_octets(len(raw))
                                                            + raw))})
        elif t == 4:
            if len(gn.children) != 1:
                out.fail("%s.name" % what, "directoryName is not one Name")
            else:
                check_name_strings(gn.children[0], what, out)
            names.append({"DirectoryName": der.hexstr(raw)})
        elif t == 0:
            parts = gn.children
            if len(parts) != 2 or not parts[0].is_(der.OID) or parts[1].cls != der.CONTEXT \
                    or parts[1].tag != 0 or len(parts[1].children) != 1:
                out.fail("%s.name" % what, "otherName is not {type-id, [0] value}")
                names.append({"OtherName": None})
            else:
                names.append({"OtherName": der.oid(parts[0])})
        elif t == 5:
            names.append({"EdiPartyName": der.hexstr(raw)})
        else:
            out.fail("%s.name" % what, "GeneralName tag [%d] is not defined" % t)
    return names


def decode_extension(oid, value, out):
    """A JSON-friendly view of an extension value (and its syntax checks)."""
    node = der.parse(value)
    if oid == BC:
        ca, pathlen = False, None
        for c in node.children:
            if c.is_(der.BOOLEAN):
                ca = der.boolean(c)
                if not ca:
                    out.fail("ext.default", "basicConstraints cA FALSE must be omitted in DER")
            elif c.is_(der.INTEGER):
                pathlen = der.integer(c)
        return {"ca": ca, "pathlen": pathlen}
    if oid == KU:
        bits = der.named_bits(node)
        if not bits:
            out.fail("ku.empty", "keyUsage has no bit set")
        return sorted(profiles.KU_NAMES[b] if b < 9 else str(b) for b in bits)
    if oid == EKU:
        oids = [der.oid(x) for x in node.children]
        if not oids:
            out.fail("eku.empty", "extKeyUsage holds no purpose")
        if len(set(oids)) != len(oids):
            out.fail("eku.duplicate", "extKeyUsage repeats a purpose")
        return oids
    if oid in (SAN, IAN):
        return general_names(value, "san" if oid == SAN else "ian", out)
    if oid == SKI:
        if not node.is_(der.OCTET_STRING):
            raise DERError("not an OCTET STRING")
        return der.hexstr(node.content)
    if oid == AKI:
        out_v = {}
        for c in node.children:
            if c.cls == der.CONTEXT and c.tag == 0:
                out_v["keyid"] = der.hexstr(c.content)
            elif c.cls == der.CONTEXT and c.tag == 1:
                out_v["issuer"] = True
            elif c.cls == der.CONTEXT and c.tag == 2:
                out_v["serial"] = der.hexstr(c.content)
        return out_v
    if oid in (AIA, SIA):
        ads = []
        for ad in node.children:
            method, loc = ad.children
            uris = general_names(der.tlv(0x30, loc.raw), "aia", out)
            ads.append({"method": der.oid(method), "location": uris[0] if uris else None})
        return ads
    if oid in (CDP, FRESHEST):
        uris = []
        for dp in node.children:
            for part in dp.children:
                if part.cls == der.CONTEXT and part.tag == 0:  # distributionPoint
                    for name in part.children:
                        if name.tag == 0:  # fullName
                            uris += general_names(der.tlv(0x30, name.content), "cdp", out)
        return uris
    if oid == CP:
        pols = []
        for pi in node.children:
            parts = pi.children
            entry = {"policy": der.oid(parts[0]), "qualifiers": []}
            if len(parts) > 1:
                for q in parts[1].children:
                    qid, qv = q.children
                    entry["qualifiers"].append({"id": der.oid(qid),
                                                "value": qv.content.decode("utf-8", "replace")
                                                if not qv.constructed else der.hexstr(qv.content)})
            pols.append(entry)
        if len({p["policy"] for p in pols}) != len(pols):
            out.fail("cp.duplicate", "certificatePolicies repeats a policy (RFC 5280 §4.2.1.4)")
        return pols
    return der.hexstr(value)


def check_extensions(c, out, allow_critical):
    decoded = []
    if c.extensions and c.version != 3:
        out.fail("version", "extensions need a v3 certificate")
    seen = set()
    for oid, crit, crit_encoded, value, _ in c.extensions:
        if oid in seen:
            out.fail("ext.duplicate", "%s appears twice (RFC 5280 §4.2)" % EXT_NAMES.get(oid, oid))
        seen.add(oid)
        if crit_encoded and not crit:
            out.fail("ext.default", "%s encodes critical FALSE, which DER omits"
                     % EXT_NAMES.get(oid, oid))
        if crit and oid not in EXT_NAMES and not any(oid == a or oid.startswith(a + ".")
                                                     for a in allow_critical):
            out.fail("ext.unknown-critical", "critical extension %s is not understood" % oid)
        try:
            view = decode_extension(oid, value, out)
        except (DERError, ValueError, IndexError) as e:
            out.fail("ext.value", "%s: extnValue is not one well-formed value (%s)"
                     % (EXT_NAMES.get(oid, oid), e))
            view = None
        decoded.append({"oid": oid, "name": EXT_NAMES.get(oid, oid), "critical": crit,
                        "value": view})
    return decoded


def ext_view(decoded, oid):
    for e in decoded:
        if e["oid"] == oid:
            return e
    return None


def check_linkage(c, issuer, self_signed, decoded, out):
    ski, aki = ext_view(decoded, SKI), ext_view(decoded, AKI)
    if not ski:
        out.fail("ski.missing", "no subjectKeyIdentifier (PCA-API.md §7.2)")
    else:
        if ski["critical"]:
            out.fail("ski.critical", "subjectKeyIdentifier must not be critical")
        if ski["value"] != der.hexstr(c.key_id_method1()):
            out.fail("ski.method1", "SKI is not SHA-1 of the subjectPublicKey (RFC 5280 "
                     "§4.2.1.2 method 1, PCA-API.md §11.13)")
    if not aki:
        if not self_signed:
            out.fail("aki.missing", "no authorityKeyIdentifier (RFC 5280 §4.2.1.1)")
        return
    if aki["critical"]:
        out.fail("aki.critical", "authorityKeyIdentifier must not be critical")
    keyid = (aki["value"] or {}).get("keyid")
    if not keyid:
        out.fail("aki.keyid", "authorityKeyIdentifier has no keyIdentifier")
        return
    if issuer is not None:
        want = issuer.ski()
        want = der.hexstr(want) if want is not None else der.hexstr(issuer.key_id_method1())
        if keyid != want:
            out.fail("aki.mismatch", "AKI keyIdentifier %s is not the issuer's SKI %s"
                     % (keyid, want))


def check_usage(c, decoded, subject_empty, out):
    bc, ku = ext_view(decoded, BC), ext_view(decoded, KU)
    ca = bool(bc and bc["value"] and bc["value"]["ca"])
    ku_bits = set((ku["value"] or [])) if ku else set()
    if ca:
        if not bc["critical"]:
            out.fail("bc.not-critical", "a CA certificate needs critical basicConstraints "
                     "(RFC 5280 §4.2.1.9)")
        if not ku:
            out.fail("ku.missing-ca", "a CA certificate needs keyUsage (RFC 5280 §4.2.1.3)")
        elif "keyCertSign" not in ku_bits:
            out.fail("ku.ca-kcs", "a CA certificate without keyCertSign")
    else:
        if "keyCertSign" in ku_bits:
            out.fail("ku.kcs-ee", "keyCertSign without basicConstraints cA TRUE "
                     "(RFC 5280 §4.2.1.3)")
        if bc and bc["value"] and bc["value"]["pathlen"] is not None:
            out.fail("bc.pathlen-ee", "pathLenConstraint without cA TRUE (RFC 5280 §4.2.1.9)")
        for oid in CA_ONLY:
            if ext_view(decoded, oid):
                out.fail("ca-only.ee", "%s in an end-entity certificate" % EXT_NAMES[oid])
    if bc and bc["value"] and bc["value"]["pathlen"] is not None and "keyCertSign" not in ku_bits:
        out.fail("bc.pathlen-kcs", "pathLenConstraint without keyCertSign (RFC 5280 §4.2.1.9)")
    if ku and not ku["critical"]:
        out.warn("ku.not-critical", "keyUsage SHOULD be critical (RFC 5280 §4.2.1.3)")
    san = ext_view(decoded, SAN)
    if subject_empty:
        if not san:
            out.fail("subject.empty-san", "empty subject and no subjectAltName")
        elif not san["critical"]:
            out.fail("san.critical", "empty subject needs a critical subjectAltName "
                     "(RFC 5280 §4.2.1.6)")
    elif san and san["critical"]:
        out.warn("san.critical", "subjectAltName SHOULD be non-critical with a subject")
    for oid, what in ((AIA, "aia"), (CDP, "cdp")):
        e = ext_view(decoded, oid)
        if e and e["critical"]:
            out.fail("%s.critical" % what, "%s must not be critical (RFC 5280 §4.2.2.1, "
                     "§4.2.1.13)" % EXT_NAMES[oid])
        if e and e["value"]:
            for item in e["value"]:
                loc = item.get("location") if "location" in item else item
                if loc and "UniformResourceIdentifier" in loc \
                        and not re.match(r"^https?://[^/\s]+", loc["UniformResourceIdentifier"]):
                    out.fail("%s.uri" % what, "%r is not an http URL"
                             % loc["UniformResourceIdentifier"])
    return ca


def check_profile(prof, decoded, self_signed, out):
    """The certificate carries exactly what its template defines (PCA-API.md §7.3)."""
    bc, ku, eku = (ext_view(decoded, o) for o in (BC, KU, EKU))
    if not bc:
        out.fail("template.bc", "%s defines basicConstraints" % prof.name)
    else:
        v = bc["value"] or {}
        if bool(v.get("ca")) != prof.ca or v.get("pathlen") != prof.pathlen \
                or bc["critical"] != prof.bc_critical:
            out.fail("template.bc", "%s: basicConstraints %s (critical %s), want cA %s pathlen "
                     "%s critical %s" % (prof.name, v, bc["critical"], prof.ca, prof.pathlen,
                                         prof.bc_critical))
    if prof.ku is not None:
        want = sorted(profiles.KU_NAMES[b] for b in prof.ku)
        if not ku or sorted(ku["value"] or []) != want or not ku["critical"]:
            out.fail("template.ku", "%s: keyUsage %s, want critical %s"
                     % (prof.name, ku and ku["value"], want))
    if prof.eku is not None:
        if not prof.eku and eku:
            out.fail("template.eku", "%s defines no extKeyUsage, found %s" % (prof.name,
                                                                              eku["value"]))
        elif prof.eku and (not eku or eku["value"] != prof.eku
                           or eku["critical"] != prof.eku_critical):
            out.fail("template.eku", "%s: extKeyUsage %s, want %s%s"
                     % (prof.name, eku and eku["value"], "critical " if prof.eku_critical
                        else "", prof.eku))
    if prof.root != self_signed:
        out.fail("template.root", "%s %s self-signed" % (prof.name, "must be" if prof.root
                                                         else "must not be"))
    if prof.root and (ext_view(decoded, CDP) or ext_view(decoded, AIA)):
        out.fail("template.root", "a root's own certificate has no CDP or AIA [AWS]")


def is_self_issued_by_own_key(c):
    """Issuer = subject and, when both key identifiers are there, AKI = own SKI: the
    certificate names itself as its issuer (signatures are openssl verify's job)."""
    if c.issuer.raw != c.subject.raw:
        return False
    aki, ski = c.ext(AKI), c.ski()
    if aki is None or ski is None:
        return True
    try:
        return decode_extension(AKI, aki[3], Findings()).get("keyid") == der.hexstr(ski)
    except (DERError, ValueError, IndexError):
        return False


def lint(c, issuer=None, template=None, signing=None, allow_critical=()):
    """(Findings, view) for one certificate."""
    out = Findings()
    view = {"version": c.version}
    if c.version != 3:
        out.fail("version", "certificate is v%d, not v3" % c.version)
    if c.unique_ids:
        out.fail("unique-id", "issuer/subject unique identifiers (RFC 5280 §4.1.2.8)")
    view["serial"] = "%x" % check_serial(c, out)
    self_signed = is_self_issued_by_own_key(c)
    if issuer is None and self_signed:
        issuer = c
    view["self_signed"] = self_signed
    view["signing_algorithm"] = check_signature_alg(c, issuer, signing, out)
    if not c.issuer.children:
        out.fail("issuer.empty", "issuer name is empty (RFC 5280 §4.1.2.4)")
    check_name_strings(c.issuer, "issuer", out)
    if issuer is not None and c.issuer.raw != issuer.subject.raw:
        out.fail("issuer.mismatch", "issuer is not the issuing CA's subject byte for byte")
    check_name_strings(c.subject, "subject", out)
    nb, na = check_validity(c, issuer, self_signed, out)
    view["not_before"], view["not_after"] = int(nb.timestamp()), int(na.timestamp())
    view["key"] = check_spki(c, out)
    if not c.extensions:
        out.fail("ext.none", "a PCA certificate always has extensions (AKI, SKI, BC)")
    decoded = check_extensions(c, out, set(allow_critical))
    view["extensions"] = decoded
    check_linkage(c, issuer, self_signed, decoded, out)
    view["is_ca"] = check_usage(c, decoded, not c.subject.children, out)
    if template:
        prof = profiles.find(template)
        if prof is None:
            out.fail("template.unknown", "no such template %r" % template)
        else:
            check_profile(prof, decoded, self_signed, out)
    return out, view


# ---- input and the command line ----------------------------------------------------

PEM_RE = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)"
                    rb"-----END CERTIFICATE-----")


def read_certs(data):
    """DER certificates from PEM text (every CERTIFICATE block) or from one DER blob."""
    data = bytes(data)
    if b"-----BEGIN" in data:
        blocks = [base64.b64decode(b"".join(m.group(1).split()), validate=True)
                  for m in PEM_RE.finditer(data)]
        if not blocks:
            raise DERError("no CERTIFICATE block")
        return blocks
    return [data]


def lint_file(path, issuer_path=None, template=None, signing=None, allow_critical=()):
    """[(errors, warnings, view)] for the certificates of a file; DERError/OSError when
    the input cannot be read."""
    with open(path, "rb") as f:
        certs = read_certs(f.read())
    issuer = None
    if issuer_path:
        with open(issuer_path, "rb") as f:
            issuer = Cert(read_certs(f.read())[0])
    results = []
    for blob in certs:
        try:
            out, view = lint(Cert(blob), issuer, template, signing, allow_critical)
        except (DERError, ValueError, IndexError) as e:
            out, view = Findings(), {}
            out.fail("der", "not a DER certificate: %s" % e)
        results.append((out.errors, out.warnings, view))
    return results


def batch(path):
    with open(path) as f:
        jobs = json.load(f)
    rc = 0
    for job in jobs:
        try:
            results = lint_file(job["cert"], job.get("issuer"), job.get("template"),
                                job.get("signing"), job.get("allow_critical") or ())
        except (OSError, DERError, ValueError) as e:
            results = [(["input: %s" % e], [], {})]
        for i, (errors, warnings, view) in enumerate(results):
            rc = rc or (1 if errors else 0)
            print(json.dumps({"id": job.get("id"), "index": i, "errors": errors,
                              "warnings": warnings, "cert": view}, sort_keys=True))
    return rc


def main(argv):
    import argparse
    if argv[:1] == ["--batch"] and len(argv) == 2:
        return batch(argv[1])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--issuer")
    ap.add_argument("--template")
    ap.add_argument("--signing")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--allow-critical", action="append", default=[])
    ap.add_argument("cert")
    a = ap.parse_args(argv)
    try:
        results = lint_file(a.cert, a.issuer, a.template, a.signing, a.allow_critical)
    except (OSError, DERError, ValueError) as e:
        print("certlint: unreadable input: %s" % e, file=sys.stderr)
        return 2
    rc = 0
    for i, (errors, warnings, view) in enumerate(results):
        if errors:
            rc = 1
        if a.json:
            print(json.dumps({"index": i, "errors": errors, "warnings": warnings,
                              "cert": view}, sort_keys=True))
            continue
        for line in errors:
            print("cert %d: FAIL %s" % (i, line))
        for line in warnings:
            print("cert %d: warn %s" % (i, line))
        if not errors:
            print("cert %d: ok" % i)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
