# Every template x every CA key algorithm through boto3 (issue 3): CAs made, issued and
# imported with boto3 and its waiters; each certificate issued with
# issue_certificate (ApiPassthrough for API varieties), fetched with get_certificate,
# and checked extension by extension with python3-cryptography, a parser independent
# of both the module and the lint; then, on the Perl side, every certificate passes the
# lint and verifies with openssl verify -x509_strict against its chain.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Issue;

my @ALGS = key_algorithms();
my @TEMPLATES = all_templates();
plan tests => 2 + @ALGS + 3 * @ALGS * @TEMPLATES, need_module('acmpca');

my $csrs = { ec => make_csr(key => 'ec:P-256', subj => '/O=boto3/CN=boto3 subject', ext => ['subjectAltName=DNS:boto3.example'])->{csr},
             rsa => make_csr(key => 'rsa:3072', subj => '/O=boto3/CN=boto3 subject', ext => ['subjectAltName=DNS:boto3.example'])->{csr} };
my $input = write_file('boto3-templates.json', json_encode({ algs => \@ALGS, templates => \@TEMPLATES, csrs => $csrs,
                                                             tag => uniq('b3t') }));

my $r = boto3_script(<<PY, timeout => 900);
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

IN = json.load(open("$input"))
T = "arn:aws:acm-pca:::template/"
SIGS = {"RSA": ["SHA256WITHRSA", "SHA384WITHRSA", "SHA512WITHRSA"],
        "EC": ["SHA256WITHECDSA", "SHA384WITHECDSA", "SHA512WITHECDSA"]}
HASH = {"SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512"}
KU_EE = {"digital_signature", "key_encipherment"}
KU_CA = {"digital_signature", "key_cert_sign", "crl_sign"}
SERVER, CLIENT = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
# base: (ca, pathlen, bc critical, KU, EKU list or None, EKU critical, root); None KU/EKU: blank
BASES = {
    "EndEntityCertificate": (False, None, False, KU_EE, [SERVER, CLIENT], False, False),
    "EndEntityClientAuthCertificate": (False, None, False, KU_EE, [CLIENT], False, False),
    "EndEntityServerAuthCertificate": (False, None, False, KU_EE, [SERVER], False, False),
    "CodeSigningCertificate": (False, None, False, {"digital_signature"}, [ExtendedKeyUsageOID.CODE_SIGNING], True, False),
    "OCSPSigningCertificate": (False, None, False, {"digital_signature"}, [ExtendedKeyUsageOID.OCSP_SIGNING], True, False),
    "RootCACertificate": (True, None, True, KU_CA, [], False, True),
    "BlankEndEntityCertificate": (False, None, False, None, None, False, False),
    "BlankEndEntityCertificate_CriticalBasicConstraints": (False, None, True, None, None, False, False),
    "BlankRootCACertificate": (True, None, True, None, None, False, True),
}
for n in range(4):
    BASES["SubordinateCACertificate_PathLen%d" % n] = (True, n, True, KU_CA, [], False, False)
    BASES["BlankRootCACertificate_PathLen%d" % n] = (True, n, True, None, None, False, True)
    BASES["BlankSubordinateCACertificate_PathLen%d" % n] = (True, n, True, None, None, False, False)
KU_FIELDS = ["digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign"]

def split(name):
    base = name[:-3]
    for v in ("_APICSRPassthrough", "_CSRPassthrough", "_APIPassthrough"):
        if base.endswith(v):
            return base[: -len(v)], v
    return base, ""

def api_for(base, variant):
    if "API" not in variant:
        return None
    ca = BASES[base][0]
    ext = {"CertificatePolicies": [{"CertPolicyId": "1.3.6.1.4.1.99999.100"}]}
    if base.startswith("Blank"):
        ext["KeyUsage"] = ({"KeyCertSign": True, "CRLSign": True, "DigitalSignature": True} if ca
                           else {"DigitalSignature": True, "KeyAgreement": True})
        if not ca:
            ext["ExtendedKeyUsage"] = [{"ExtendedKeyUsageType": "EMAIL_PROTECTION"}]
    return {"Subject": {"CommonName": "boto3 api", "Country": "NZ"}, "Extensions": ext}

def ext(cert, cls):
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None

def check(cert, issuer, base, variant, signing):
    ca, pathlen, bcc, ku_want, eku_want, ekuc, root = BASES[base]
    bad = []
    if base.startswith("Blank"):
        ku_want = KU_CA if ca else {"digital_signature", "key_agreement"}
        eku_want = None if ca else [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    bc = ext(cert, x509.BasicConstraints)
    if not bc or bc.value.ca != ca or bc.value.path_length != pathlen or bc.critical != bcc:
        bad.append("BasicConstraints %r" % (bc,))
    ku = ext(cert, x509.KeyUsage)
    got = {f for f in KU_FIELDS if ku and getattr(ku.value, f)} if ku else None
    if got != ku_want or not ku.critical:
        bad.append("KeyUsage %s" % (sorted(got) if got else got))
    eku = ext(cert, x509.ExtendedKeyUsage)
    if eku_want:
        if not eku or list(eku.value) != eku_want or eku.critical != ekuc:
            bad.append("EKU %r" % (eku,))
    elif eku:
        bad.append("unexpected EKU")
    ski = ext(cert, x509.SubjectKeyIdentifier)
    if not ski or ski.critical or ski.value.digest != x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest:
        bad.append("SKI")
    aki = ext(cert, x509.AuthorityKeyIdentifier)
    iski = ext(issuer, x509.SubjectKeyIdentifier)
    if not aki or aki.critical or aki.value.key_identifier != iski.value.digest:
        bad.append("AKI")
    if cert.issuer.public_bytes() != issuer.subject.public_bytes():
        bad.append("issuer name")
    want_subject = "C=NZ,CN=boto3 api" if "API" in variant else None
    if want_subject and cert.subject.rfc4514_string() != "CN=boto3 api,C=NZ":
        bad.append("subject " + cert.subject.rfc4514_string())
    if not want_subject and not root and cert.subject.rfc4514_string() != "CN=boto3 subject,O=boto3":
        bad.append("subject " + cert.subject.rfc4514_string())
    san = ext(cert, x509.SubjectAlternativeName)
    if root:
        if san:
            bad.append("SAN on a root")
    elif not san or san.value.get_values_for_type(x509.DNSName) != ["boto3.example"]:
        bad.append("SAN")
    cp = ext(cert, x509.CertificatePolicies)
    if bool(cp) != ("API" in variant):
        bad.append("CertificatePolicies")
    if cert.signature_hash_algorithm.name != HASH[signing[:6]]:
        bad.append("hash " + cert.signature_hash_algorithm.name)
    try:
        pub = issuer.public_key()
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        else:
            pub.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    except Exception as e:
        bad.append("signature: %r" % e)
    return bad

res = {"ok": True, "cas": {}, "certs": []}
for alg in IN["algs"]:
    fam = "RSA" if alg.startswith("RSA") else "EC"
    sigs = SIGS[fam]
    arn = pca.create_certificate_authority(
        CertificateAuthorityConfiguration={"KeyAlgorithm": alg, "SigningAlgorithm": sigs[1],
                                           "Subject": {"CommonName": "boto3 " + alg + " " + IN["tag"], "Organization": "boto3"}},
        CertificateAuthorityType="ROOT", IdempotencyToken=(IN["tag"] + alg)[:36])["CertificateAuthorityArn"]
    pca.get_waiter("certificate_authority_csr_created").wait(CertificateAuthorityArn=arn, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    own_csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=arn)["Csr"]
    carn = pca.issue_certificate(CertificateAuthorityArn=arn, Csr=own_csr.encode(), SigningAlgorithm=sigs[1],
                                 TemplateArn=T + "RootCACertificate/V1", Validity={"Type": "YEARS", "Value": 5})["CertificateArn"]
    pca.get_waiter("certificate_issued").wait(CertificateAuthorityArn=arn, CertificateArn=carn, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    root_pem = pca.get_certificate(CertificateAuthorityArn=arn, CertificateArn=carn)["Certificate"]
    pca.import_certificate_authority_certificate(CertificateAuthorityArn=arn, Certificate=root_pem.encode())
    root = x509.load_pem_x509_certificate(root_pem.encode())
    res["cas"][alg] = pca.describe_certificate_authority(CertificateAuthorityArn=arn)["CertificateAuthority"]["Status"]
    for i, name in enumerate(IN["templates"]):
        base, variant = split(name)
        signing = sigs[i % 3]
        is_root = BASES[base][6]
        csr = own_csr if is_root else IN["csrs"]["ec" if i % 2 else "rsa"]
        kw = dict(CertificateAuthorityArn=arn, Csr=csr.encode(), SigningAlgorithm=signing, TemplateArn=T + name,
                  Validity={"Type": "DAYS", "Value": 365 if is_root else 30})
        api = api_for(base, variant)
        if api:
            kw["ApiPassthrough"] = api
        entry = {"alg": alg, "template": name, "signing": signing, "problems": []}
        try:
            a = pca.issue_certificate(**kw)["CertificateArn"]
            got = pca.get_certificate(CertificateAuthorityArn=arn, CertificateArn=a)
            cert = x509.load_pem_x509_certificate(got["Certificate"].encode())
            issuer = cert if is_root else root
            entry.update(cert=got["Certificate"], chain=got.get("CertificateChain"))
            entry["problems"] = check(cert, issuer, base, variant, signing)
            if is_root == ("CertificateChain" in got):
                entry["problems"].append("CertificateChain %s" % ("present" if is_root else "missing"))
        except Exception as e:
            entry["problems"].append("%s: %s" % (type(e).__name__, e))
        res["certs"].append(entry)
out(res)
PY

ok($r->{rc} == 0 && $r->{json}, 'the boto3 script ran') or diag("rc=$r->{rc}\n" . substr($r->{err}, -3000));
my $j = $r->{json} || { certs => [], cas => {} };
is(scalar @{ $j->{certs} }, @ALGS * @TEMPLATES, 'one certificate per template and key algorithm');
is($j->{cas}{$_}, 'ACTIVE', "boto3 made an ACTIVE $_ root") for @ALGS;
my %by = map { ("$_->{alg} $_->{template}" => $_) } @{ $j->{certs} };
my @lint = map {
    my $e = $by{$_} || {};
    { cert => $e->{cert} // '', template => $e->{template}, signing => $e->{signing},
      (defined $e->{chain} ? (issuer => (split_pem($e->{chain}))[0]) : ()) }
} map { my $a = $_; map { "$a $_" } @TEMPLATES } @ALGS;
my $l = lint_batch(\@lint);
my $k = 0;
for my $alg (@ALGS) {
    for my $t (@TEMPLATES) {
        my $e = $by{"$alg $t"} || { problems => ['missing'] };
        ok(!@{ $e->{problems} }, "boto3, $alg, $t: python3-cryptography finds every extension as defined")
            or diag(join "\n", @{ $e->{problems} });
        ok($e->{cert} && !@{ $l->[$k]{errors} }, "boto3, $alg, $t: lint clean") or diag(join "\n", @{ $l->[$k]{errors} });
        verify_strict_ok($e->{cert} ? { cert => $e->{cert}, chain => $e->{chain} } : undef,
                         "boto3, $alg, $t: openssl verify -x509_strict");
        $k++;
    }
}
