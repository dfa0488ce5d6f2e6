# Licensed under the Apache License, Version 2.0.
# What each benchmarked operation sends: the JSON bodies, from the setup state.
import base64
import glob
import json


def _csrs(csr_dir):
    out = []
    for path in sorted(glob.glob(f"{csr_dir}/*.pem")):
        with open(path, "rb") as f:
            out.append(base64.b64encode(f.read()).decode())
    if not out:
        raise SystemExit(f"bodies: no CSRs in {csr_dir}")
    return out


def _colons(serial):
    return ":".join(serial[i:i + 2] for i in range(0, len(serial), 2))


def _issue(ca, alg, csr_dir):
    return [{"CertificateAuthorityArn": ca, "Csr": c, "SigningAlgorithm": alg,
             "Validity": {"Value": 365, "Type": "DAYS"}} for c in _csrs(csr_dir)]


def _revoke(pool):
    """One body per certificate ARN of the pool file, each to be sent once."""
    out = []
    with open(pool) as f:
        for arn in f.read().split():
            ca, _, serial = arn.partition("/certificate/")
            out.append({"CertificateAuthorityArn": ca, "CertificateSerial": _colons(serial),
                        "RevocationReason": "KEY_COMPROMISE"})
    return out


# IssueCertificate-<key>: the setup state's CA of that key, the signing algorithm and the
# key as setup.py names a certificate's. The EC CAs sign with the hash of their curve's
# size, the RSA CAs with SHA-256.
ISSUE = {"IssueCertificate-P256": ("ca_p256", "SHA256WITHECDSA", "P-256"),
         "IssueCertificate-P384": ("ca_p384", "SHA384WITHECDSA", "P-384"),
         "IssueCertificate-P521": ("ca_p521", "SHA512WITHECDSA", "P-521"),
         "IssueCertificate-RSA2048": ("ca_rsa", "SHA256WITHRSA", "RSA-2048"),
         "IssueCertificate-RSA4096": ("ca_rsa4096", "SHA256WITHRSA", "RSA-4096")}


def missing(op, state):
    """Why the setup has no CA for OP (the endpoint refused that key type), or None."""
    if op in ISSUE and not state.get(ISSUE[op][0]):
        return state.get("ca_na", {}).get(ISSUE[op][0], "no such CA in the setup")
    return None


def bodies(op, state, extra):
    """(API target, [bodies]) of a benchmark operation name."""
    ca = state["ca_p256"]
    if op in ISSUE:
        key, alg, _ = ISSUE[op]
        return "IssueCertificate", _issue(state[key], alg, extra)
    if op == "GetCertificate":
        return op, [{"CertificateAuthorityArn": ca, "CertificateArn": c} for c in state["certs"]]
    if op in ("DescribeCertificateAuthority", "GetCertificateAuthorityCertificate", "ListTags"):
        return op, [{"CertificateAuthorityArn": ca}]
    if op == "RevokeCertificate":
        return op, _revoke(extra)
    raise SystemExit(f"bodies: unknown operation {op}")


def encode(body):
    return json.dumps(body, separators=(",", ":")).encode()
