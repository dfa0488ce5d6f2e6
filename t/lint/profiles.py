# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""What each AWS Private CA template puts in a certificate (PCA-API.md §7.3), written
out again here, independently of src/x509/template.c, for the lint to hold the module
to it. A template name may be given bare ("EndEntityCertificate"), with its version
("EndEntityCertificate/V1") or as an ARN."""

import re

DS, NR, KE, DE, KA, KCS, CRLS, EO, DO = range(9)  # KeyUsage bits (RFC 5280 §4.2.1.3)
KU_NAMES = ["digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
            "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"]

SERVER, CLIENT = "1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"
CODE, OCSP = "1.3.6.1.5.5.7.3.3", "1.3.6.1.5.5.7.3.9"

# base name -> (ca, pathlen or None, bc_critical, ku bits or None, eku oids or None,
#               eku_critical, root)
# None for ku/eku means "the template leaves it to the API or the CSR" (blank ones).
_EE_KU = {DS, KE}
_CA_KU = {DS, KCS, CRLS}
BASES = {
    "EndEntityCertificate": (False, None, False, _EE_KU, [SERVER, CLIENT], False, False),
    "EndEntityClientAuthCertificate": (False, None, False, _EE_KU, [CLIENT], False, False),
    "EndEntityServerAuthCertificate": (False, None, False, _EE_KU, [SERVER], False, False),
    "CodeSigningCertificate": (False, None, False, {DS}, [CODE], True, False),
    "OCSPSigningCertificate": (False, None, False, {DS}, [OCSP], True, False),
    "RootCACertificate": (True, None, True, _CA_KU, [], False, True),
    "BlankEndEntityCertificate": (False, None, False, None, None, False, False),
    "BlankEndEntityCertificate_CriticalBasicConstraints":
        (False, None, True, None, None, False, False),
    "BlankRootCACertificate": (True, None, True, None, None, False, True),
}
for _n in range(4):
    BASES["SubordinateCACertificate_PathLen%d" % _n] = (True, _n, True, _CA_KU, [], False, False)
    BASES["BlankRootCACertificate_PathLen%d" % _n] = (True, _n, True, None, None, False, True)
    BASES["BlankSubordinateCACertificate_PathLen%d" % _n] = (True, _n, True, None, None, False,
                                                             False)

VARIANTS = ("", "_CSRPassthrough", "_APIPassthrough", "_APICSRPassthrough")


class Profile:
    def __init__(self, name, base, ca, pathlen, bc_critical, ku, eku, eku_critical, root):
        self.name, self.base = name, base
        self.ca, self.pathlen, self.bc_critical = ca, pathlen, bc_critical
        self.ku, self.eku, self.eku_critical, self.root = ku, eku, eku_critical, root


def find(name):
    """The Profile of a template name, or None when the name is unknown."""
    m = re.match(r"^(?:arn:aws:acm-pca:::template/)?([A-Za-z0-9_]+?)"
                 r"(_CSRPassthrough|_APIPassthrough|_APICSRPassthrough)?(?:/V1)?$", name or "")
    if not m:
        return None
    base, variant = m.group(1), m.group(2) or ""
    if base not in BASES:
        return None
    return Profile(base + variant, base, *BASES[base])


def all_names():
    """Every template the module offers (the blank ones only as passthrough)."""
    out = []
    for base in BASES:
        blank = base.startswith("Blank")
        for v in VARIANTS:
            if blank and v not in ("_APIPassthrough", "_APICSRPassthrough"):
                continue
            if base == "RootCACertificate" and v not in ("", "_APIPassthrough"):
                continue
            out.append(base + v + "/V1")
    return out
