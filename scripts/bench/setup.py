#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
# Prepare a PCA endpoint (the module or moto) for the benchmark, through boto3:
# an active root CA (CRL and OCSP enabled, tags) of each key type measured: P-256 and
# RSA-2048 (required), P-384, P-521 and RSA-4096 (an endpoint that refuses one is told in
# the state's "ca_na", its issuance then n/a); a few end-entity certificates of the P-256
# CA, a few of them revoked (when RevokeCertificate exists) so that the CRL is small but
# not empty. Writes OUT/state.json (the ARNs, the key each CA's certificate really has,
# the CRL and OCSP URLs of the certificates) and OUT/cert.pem, OUT/ca.pem (for an OCSP
# request).
# With "scale" (the module only): a third P-256 CA with two certificates, whose store rows
# scale.sh multiplies into a 1,000,000-entry CRL (state: ca_scale, scale_certs, scale_crl_url).
# usage: setup.py ENDPOINT CSR_DIR OUT [scale]   (credentials: AWS_ACCESS_KEY_ID/SECRET)
import glob
import json
import re
import subprocess
import sys
import time

from botocore.exceptions import ClientError

import boto3
from botocore.config import Config

N_CERTS = 20
N_REVOKED = 5
TAGS = [{"Key": "team", "Value": "platform"}, {"Key": "env", "Value": "bench"},
        {"Key": "cost-center", "Value": "4711"}]
# (state key, KeyAlgorithm, SigningAlgorithm, name): the CAs an endpoint may refuse.
OPTIONAL_CAS = [("ca_p384", "EC_secp384r1", "SHA384WITHECDSA", "P-384"),
                ("ca_p521", "EC_secp521r1", "SHA512WITHECDSA", "P-521"),
                ("ca_rsa4096", "RSA_4096", "SHA256WITHRSA", "RSA-4096")]
REVOCATION = {"CrlConfiguration": {"Enabled": True, "ExpirationInDays": 7,
                                   "S3BucketName": "bench-crl"},
              "OcspConfiguration": {"Enabled": True}}


def client(endpoint):
    return boto3.client("acm-pca", endpoint_url=endpoint, region_name="us-east-1",
                        config=Config(retries={"max_attempts": 1}))


def wait_cert(pca, ca, arn):
    for _ in range(100):  # bounded: 10 s
        try:
            return pca.get_certificate(CertificateAuthorityArn=ca, CertificateArn=arn)
        except pca.exceptions.RequestInProgressException:
            time.sleep(0.1)
    raise SystemExit(f"setup: certificate {arn} never became available")


def make_root(pca, key_alg, sig_alg, name):
    ca = pca.create_certificate_authority(
        CertificateAuthorityType="ROOT",
        CertificateAuthorityConfiguration={"KeyAlgorithm": key_alg, "SigningAlgorithm": sig_alg,
                                           "Subject": {"CommonName": name,
                                                       "Organization": "Bench"}},
        RevocationConfiguration=REVOCATION, Tags=TAGS)["CertificateAuthorityArn"]
    csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=ca)["Csr"]
    arn = pca.issue_certificate(
        CertificateAuthorityArn=ca, Csr=csr.encode(), SigningAlgorithm=sig_alg,
        TemplateArn="arn:aws:acm-pca:::template/RootCACertificate/V1",
        Validity={"Value": 10, "Type": "YEARS"})["CertificateArn"]
    pem = wait_cert(pca, ca, arn)["Certificate"]
    pca.import_certificate_authority_certificate(CertificateAuthorityArn=ca,
                                                 Certificate=pem.encode())
    return ca


def key_of(pem):
    """The key of a certificate as the report names it (P-384, RSA-4096), or "?". An
    emulator may accept any KeyAlgorithm and make every CA key alike (moto: RSA-2048)."""
    out = subprocess.run(["openssl", "x509", "-noout", "-text"], input=pem.encode(),
                         capture_output=True, check=False).stdout.decode()
    curve = re.search(r"NIST CURVE: (P-\d+)", out)
    bits = re.search(r"Public-Key: \((\d+) bit\)", out)
    if curve:
        return curve.group(1)
    if "rsaEncryption" in out and bits:
        return "RSA-" + bits.group(1)
    return "?"


def urls(pem):
    """The CRL distribution point and OCSP URLs written into a certificate, if any."""
    out = subprocess.run(["openssl", "x509", "-noout", "-ext",
                          "crlDistributionPoints,authorityInfoAccess"],
                         input=pem.encode(), capture_output=True, check=False).stdout.decode()
    crl = ocsp = None
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("URI:") and crl is None and "ocsp" not in line.lower():
            crl = line[4:]
        if line.startswith("OCSP - URI:"):
            ocsp = line[len("OCSP - URI:"):]
    return crl, ocsp


def scale_ca(pca, csr_dir):
    ca = make_root(pca, "EC_prime256v1", "SHA256WITHECDSA", "Bench P-256 Scale Root")
    certs = []
    for path in sorted(glob.glob(f"{csr_dir}/*.pem"))[:2]:
        with open(path, "rb") as f:
            certs.append(pca.issue_certificate(
                CertificateAuthorityArn=ca, Csr=f.read(), SigningAlgorithm="SHA256WITHECDSA",
                Validity={"Value": 365, "Type": "DAYS"})["CertificateArn"])
    crl, _ = urls(wait_cert(pca, ca, certs[0])["Certificate"])
    return {"ca_scale": ca, "scale_certs": certs, "scale_crl_url": crl}


def main():
    endpoint, csr_dir, out = sys.argv[1], sys.argv[2], sys.argv[3]
    pca = client(endpoint)
    ca_p256 = make_root(pca, "EC_prime256v1", "SHA256WITHECDSA", "Bench P-256 Root")
    ca_rsa = make_root(pca, "RSA_2048", "SHA256WITHRSA", "Bench RSA-2048 Root")
    cas = {"ca_p256": ca_p256, "ca_rsa": ca_rsa}
    ca_na = {}
    for key, key_alg, sig_alg, name in OPTIONAL_CAS:
        try:
            cas[key] = make_root(pca, key_alg, sig_alg, f"Bench {name} Root")
        except ClientError as e:
            cas[key] = None
            ca_na[key] = f"no {name} CA: {e.response['Error']['Code']}"
    ca_keys = {k: key_of(pca.get_certificate_authority_certificate(
        CertificateAuthorityArn=ca)["Certificate"]) for k, ca in cas.items() if ca}
    certs = []
    for path in sorted(glob.glob(f"{csr_dir}/*.pem"))[:N_CERTS]:
        with open(path, "rb") as f:
            certs.append(pca.issue_certificate(
                CertificateAuthorityArn=ca_p256, Csr=f.read(),
                SigningAlgorithm="SHA256WITHECDSA",
                Validity={"Value": 365, "Type": "DAYS"})["CertificateArn"])
    got = wait_cert(pca, ca_p256, certs[0])
    crl, ocsp = urls(got["Certificate"])
    with open(f"{out}/cert.pem", "w") as f:
        f.write(got["Certificate"] + "\n")
    with open(f"{out}/ca.pem", "w") as f:
        f.write(pca.get_certificate_authority_certificate(
            CertificateAuthorityArn=ca_p256)["Certificate"] + "\n")
    revoked = 0
    for arn in certs[-N_REVOKED:]:
        serial = arn.rsplit("/", 1)[1]
        try:
            pca.revoke_certificate(CertificateAuthorityArn=ca_p256, RevocationReason="SUPERSEDED",
                                   CertificateSerial=":".join(serial[i:i + 2]
                                                              for i in range(0, len(serial), 2)))
            revoked += 1
        except ClientError as e:
            if e.response["Error"]["Code"] != "UnknownOperationException":
                raise
            break
    state = {"endpoint": endpoint, **cas, "ca_keys": ca_keys, "ca_na": ca_na,
             "certs": certs[:-N_REVOKED] if revoked else certs, "revoked": revoked,
             "crl_url": crl, "ocsp_url": ocsp}
    if len(sys.argv) > 4 and sys.argv[4] == "scale":
        state.update(scale_ca(pca, csr_dir))
    with open(f"{out}/state.json", "w") as f:
        json.dump(state, f, indent=1)


if __name__ == "__main__":
    main()
