#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Regenerate the seed corpora of t/fuzz/corpus/<target>/ but the captured requests (by
hand: `make fuzz-replay` and `make test` only replay the committed bytes, and need none
of this).

What it writes:
  * CSRs, certificates and OCSP requests made with the openssl command: public material
    only, the private keys stay in a temporary directory that is removed; CSRs also go
    into IssueCertificate bodies for fuzz_request and fuzz_ops.
  * hostile cases written out here, each named for what it tries.
The real requests of awscli and boto3 (awscli-*, boto3-*, presigned-*, public-*) are
capture.py's, captured against the module; this script leaves them alone.
Needs: openssl, faketime (scripts/deps.sh installs them).

    /usr/bin/python3 t/fuzz/make-corpus.py          # rewrites t/fuzz/corpus
"""
import base64
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, 'corpus')
CAPTURED = ('awscli-', 'boto3-', 'presigned-', 'public-')  # capture.py's seeds
ACCOUNT = '123456789012'
CA_ID = '11111111-2222-4333-8444-555555555555'
CA_ARN = 'arn:aws:acm-pca:us-east-1:%s:certificate-authority/%s' % (ACCOUNT, CA_ID)
SERIAL = '4f757a7a0102030405060708090a0b0c'
BUCKET = 'fuzz-crl-bucket'
TMP = tempfile.mkdtemp(prefix='acmpca-corpus-')

written = {}


def put(target, name, data):
    """One seed file; names say what the seed is."""
    if isinstance(data, str):
        data = data.encode('utf-8', 'surrogateescape')  # '\udcff' writes the byte 0xff
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = re.sub(r'[^A-Za-z0-9._-]+', '-', name)
    n, i = name, 1
    while (target, n) in written:
        i += 1
        n = '%s-%d' % (name, i)
    written[(target, n)] = True
    with open(os.path.join(d, n), 'wb') as f:
        f.write(data)


def run(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, **kw).stdout


def tmp(name):
    return os.path.join(TMP, name)


def read(name):
    with open(tmp(name), 'rb') as f:
        return f.read()


# ************************************************************************************
# OpenSSL material (public parts only)

def faked(argv, when='2025-06-01 00:00:00'):
    return ['faketime', when] + argv


def openssl(*args, when=None):
    argv = ['openssl'] + list(args)
    return run(faked(argv, when) if when else argv)


def make_key(name, spec):
    if spec.startswith('rsa'):
        openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:' + spec[3:],
                '-out', tmp(name + '.key'))
    else:
        openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:' + spec,
                '-out', tmp(name + '.key'))


def write(name, text):
    with open(tmp(name), 'w') as f:
        f.write(text)


def csr(name, key, subj, exts=None, md='-sha256'):
    cfg = '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\n'
    write(name + '.cnf', cfg + '\n' + ('[ext]\n' + exts if exts else ''))
    argv = ['req', '-new', '-key', tmp(key + '.key'), md, '-subj', subj, '-config',
            tmp(name + '.cnf'), '-out', tmp(name + '.csr')]
    if exts:
        argv += ['-reqexts', 'ext']
    openssl(*argv)
    return read(name + '.csr')


def der_of(kind, pem_name):
    return run(['openssl', kind, '-in', tmp(pem_name), '-outform', 'DER'])


def self_signed(name, key, subj, exts, days=7300):
    write(name + '.ext', '[v3]\n' + exts)
    openssl('req', '-new', '-x509', '-key', tmp(key + '.key'), '-sha256', '-subj', subj,
            '-days', str(days), '-config', tmp(name + '.ext'), '-extensions', 'v3',
            '-out', tmp(name + '.pem'), when='2025-06-01 00:00:00')
    return read(name + '.pem')


def signed(name, key, subj, issuer, exts, days=3650, serial='0x1001'):
    csr(name + '-req', key, subj)
    write(name + '.ext', '[v3]\n' + exts)
    openssl('x509', '-req', '-in', tmp(name + '-req.csr'), '-CA', tmp(issuer + '.pem'),
            '-CAkey', tmp(issuer + '.key'), '-set_serial', serial, '-days', str(days),
            '-sha256', '-extfile', tmp(name + '.ext'), '-extensions', 'v3',
            '-out', tmp(name + '.pem'), when='2025-06-01 00:00:00')
    return read(name + '.pem')


CA_EXTS = ('basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,'
           'digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n')
SUB_EXTS = ('basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,'
            'cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\n'
            'authorityKeyIdentifier=keyid:always\n')


def material():
    m = {}
    for name, spec in [('rsa2048', 'rsa2048'), ('rsa1024', 'rsa1024'), ('p256', 'prime256v1'),
                       ('p384', 'secp384r1'), ('p521', 'secp521r1'), ('k256', 'secp256k1'),
                       ('root', 'prime256v1'), ('sub', 'prime256v1'), ('rsaroot', 'rsa2048')]:
        make_key(name, spec)
    # CSRs the intake accepts
    m['csr-ec-p256.pem'] = csr('c1', 'p256', '/CN=www.example.com/O=Example')
    m['csr-ec-p384-san.pem'] = csr(
        'c2', 'p384', '/CN=api.example.com',
        'subjectAltName=DNS:api.example.com,DNS:*.api.example.com,IP:192.0.2.1,'
        'IP:2001:db8::1,email:ops@example.com,URI:https://example.com/x\n')
    m['csr-ec-p521.pem'] = csr('c3', 'p521', '/C=US/ST=WA/L=Seattle/O=Example/OU=PKI/CN=p521')
    m['csr-rsa2048-exts.pem'] = csr(
        'c4', 'rsa2048', '/CN=client',
        'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth,'
        'serverAuth\nbasicConstraints=CA:FALSE\ncertificatePolicies=1.2.3.4,2.5.29.32.0\n'
        'subjectKeyIdentifier=hash\n1.3.6.1.4.1.99999.1=ASN1:UTF8String:custom\n')
    m['csr-empty-subject-critical-san.pem'] = csr(
        'c5', 'p256', '/', 'subjectAltName=critical,DNS:only-san.example.com\n')
    m['csr-utf8-subject.pem'] = csr('c6', 'p256', '/CN=\u00e9t\u00e9 \u00fcber/O=\u65e5\u672c')
    m['csr-sha512.pem'] = csr('c7', 'p256', '/CN=sha512', None, '-sha512')
    m['csr-ec-p256.der'] = der_of('req', 'c1.csr')
    m['csr-rsa2048-exts.der'] = der_of('req', 'c4.csr')
    # CSRs it refuses
    m['bad-csr-sha1.pem'] = csr('b1', 'p256', '/CN=sha1', None, '-sha1')
    m['bad-csr-rsa1024.pem'] = csr('b2', 'rsa1024', '/CN=small')
    m['bad-csr-secp256k1.pem'] = csr('b3', 'k256', '/CN=koblitz')
    m['bad-csr-empty-subject-noncritical-san.pem'] = csr(
        'b4', 'p256', '/', 'subjectAltName=DNS:x.example.com\n')
    m['bad-csr-empty-subject-no-san.pem'] = csr('b5', 'p256', '/')
    m['bad-csr-two-blocks.pem'] = m['csr-ec-p256.pem'] + m['csr-ec-p384-san.pem']
    m['bad-csr-trailing-text.pem'] = m['csr-ec-p256.pem'] + b'trailing garbage\n'
    m['bad-csr-leading-text.pem'] = b'Certificate Request:\n' + m['csr-ec-p256.pem']
    m['bad-csr-der-trailing.der'] = m['csr-ec-p256.der'] + b'\x00'
    m['bad-csr-truncated.der'] = m['csr-ec-p256.der'][:-7]
    m['bad-csr-label.pem'] = m['csr-ec-p256.pem'].replace(b'CERTIFICATE REQUEST', b'CERTIFICATE')
    sig = bytearray(m['csr-ec-p256.der'])
    sig[-3] ^= 0x55
    m['bad-csr-signature.der'] = bytes(sig)
    # Certificates: a root, a subordinate and its chain, a leaf
    m['root.pem'] = self_signed('root', 'root', '/C=US/O=Example/CN=Example Root', CA_EXTS)
    m['rsaroot.pem'] = self_signed('rsaroot', 'rsaroot', '/CN=Example RSA Root', CA_EXTS)
    m['sub.pem'] = signed('sub', 'sub', '/O=Example/CN=Example Issuing CA', 'root', SUB_EXTS)
    m['leaf.pem'] = signed('leaf', 'p256', '/CN=leaf.example.com', 'sub',
                           'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n'
                           'subjectAltName=DNS:leaf.example.com\n', serial='0x' + SERIAL)
    m['root.der'] = der_of('x509', 'root.pem')
    m['bad-ca-not-critical.pem'] = self_signed(
        'nc', 'p384', '/CN=Not critical', 'basicConstraints=CA:TRUE\nkeyUsage=keyCertSign\n')
    m['bad-ca-critical-unknown.pem'] = self_signed(
        'cu', 'p521', '/CN=Critical unknown',
        CA_EXTS + '1.3.6.1.4.1.99999.7=critical,ASN1:NULL\n')
    m['bad-ca-expired.pem'] = self_signed('ex', 'rsa2048', '/CN=Expired', CA_EXTS, days=1)
    # OCSP requests for the leaf and for serials of the fixtures' CAs
    for name, args in [('ocsp-sha1-nonce.der', ['-serial', '0x' + SERIAL]),
                       ('ocsp-sha256-no-nonce.der', ['-no_nonce', '-sha256', '-serial', '0x1001',
                                                     ]),
                       ('ocsp-three-certids.der', ['-serial', '0x01', '-serial', '0x1001',
                                                   '-serial', '0x' + SERIAL]),
                       ('ocsp-cert.der', ['-cert', tmp('leaf.pem')])]:
        issuer = tmp('sub.pem') if name == 'ocsp-cert.der' else tmp('root.pem')
        openssl('ocsp', '-issuer', issuer, *args, '-reqout', tmp(name))
        m[name] = read(name)
    return m


# ************************************************************************************

def main():
    # capture.py owns the seeds of real client requests; everything else is rewritten.
    for d in glob.glob(os.path.join(CORPUS, '*')):
        for f in glob.glob(os.path.join(d, '*')):
            if not os.path.basename(f).startswith(CAPTURED):
                os.remove(f)
    try:
        m = material()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    for k, v in m.items():
        if k.startswith(('csr-', 'bad-csr-')):
            put('fuzz_csr', k, v)
            if k.startswith('csr-') and k.endswith('.pem'):
                b64 = base64.b64encode(v).decode()
                put('fuzz_request', 'issue-' + k,
                    'IssueCertificate\n' + json.dumps({
                        'CertificateAuthorityArn': CA_ARN, 'Csr': b64,
                        'SigningAlgorithm': 'SHA256WITHECDSA',
                        'Validity': {'Type': 'DAYS', 'Value': 30}}))
                put('fuzz_ops', 'issue-' + k, 'IssueCertificate\n' + json.dumps({
                    'CertificateAuthorityArn': '@CA_ARN@', 'Csr': b64,
                    'SigningAlgorithm': 'SHA256WITHECDSA',
                    'TemplateArn': 'arn:aws:acm-pca:::template/'
                                   'EndEntityCertificate_CSRPassthrough/V1',
                    'Validity': {'Type': 'DAYS', 'Value': 30}}))
        elif k.startswith('ocsp-'):
            put('fuzz_ocsp', k, v)
        else:
            put('fuzz_cert', k, v)
    put('fuzz_cert', 'sub-with-chain.pem', m['sub.pem'] + m['root.pem'])
    put('fuzz_cert', 'leaf-with-chain.pem', m['leaf.pem'] + m['sub.pem'] + m['root.pem'])
    put('fuzz_cert', 'sub-chain-out-of-order.pem', m['leaf.pem'] + m['root.pem'] + m['sub.pem'])
    put('fuzz_cert', 'sub-with-wrong-root.pem', m['sub.pem'] + m['rsaroot.pem'])
    put('fuzz_cert', 'sub-chain-with-itself.pem', m['sub.pem'] + m['sub.pem'] + m['root.pem'])
    hostile()
    for t in sorted({t for t, _ in written}):
        print('%-18s %3d seeds' % (t, sum(1 for tt, _ in written if tt == t)))


# ************************************************************************************
# Hostile cases

def hostile():
    deep = '[' * 5000 + ']' * 5000
    for name, op, body in [
        ('empty-body', 'ListCertificateAuthorities', ''),
        ('not-json', 'CreateCertificateAuthority', 'CertificateAuthorityType=ROOT'),
        ('json-array', 'DescribeCertificateAuthority', '[]'),
        ('json-null', 'DescribeCertificateAuthority', 'null'),
        ('trailing-garbage', 'ListTags', '{"CertificateAuthorityArn":"x"} {}'),
        ('trailing-nul', 'ListTags', '{"CertificateAuthorityArn":"%s"}\u0000' % CA_ARN),
        ('deep-nesting', 'CreateCertificateAuthority', '{"Tags":' + deep + '}'),
        ('deep-object', 'IssueCertificate', '{"ApiPassthrough":' + '{"a":' * 3000 + '1' + '}' * 3001),
        ('wrong-types', 'IssueCertificate',
         '{"CertificateAuthorityArn":1,"Csr":true,"SigningAlgorithm":[],"Validity":"x"}'),
        ('bad-base64', 'IssueCertificate',
         '{"CertificateAuthorityArn":"%s","Csr":"!!!!","SigningAlgorithm":"SHA256WITHRSA",'
         '"Validity":{"Type":"DAYS","Value":1}}' % CA_ARN),
        ('huge-number', 'ListCertificateAuthorities', '{"MaxResults":1e400}'),
        ('negative-zero', 'ListCertificateAuthorities', '{"MaxResults":-0.0}'),
        ('fraction', 'ListCertificateAuthorities', '{"MaxResults":1.5}'),
        ('int-overflow', 'IssueCertificate',
         '{"CertificateAuthorityArn":"%s","Csr":"QQ==","SigningAlgorithm":"SHA256WITHRSA",'
         '"Validity":{"Type":"END_DATE","Value":99999999999999999999}}' % CA_ARN),
        ('validity-extremes', 'IssueCertificate',
         '{"CertificateAuthorityArn":"%s","Csr":"QQ==","SigningAlgorithm":"SHA256WITHRSA",'
         '"Validity":{"Type":"MONTHS","Value":9223372036854775807},'
         '"ValidityNotBefore":{"Type":"ABSOLUTE","Value":-9223372036854775808}}' % CA_ARN),
        ('invalid-utf8', 'TagCertificateAuthority',
         '{"CertificateAuthorityArn":"%s","Tags":[{"Key":"\udcff\udcfe","Value":"\udcc0\udc80"}]}'
         % CA_ARN),
        ('escaped-nul', 'TagCertificateAuthority',
         '{"CertificateAuthorityArn":"%s","Tags":[{"Key":"a\\u0000b"}]}' % CA_ARN),
        ('duplicate-members', 'DescribeCertificateAuthority',
         '{"CertificateAuthorityArn":"a","CertificateAuthorityArn":"%s"}' % CA_ARN),
        ('unknown-members', 'GetPolicy', '{"ResourceArn":"%s","Extra":{"x":[1,2]}}' % CA_ARN),
        ('surrogates', 'CreateCertificateAuthority',
         '{"CertificateAuthorityConfiguration":{"KeyAlgorithm":"EC_prime256v1",'
         '"SigningAlgorithm":"SHA256WITHECDSA","Subject":{"CommonName":"\\ud83d\\ude00 \\ud800"}},'
         '"CertificateAuthorityType":"ROOT"}'),
        ('long-string', 'DescribeCertificateAuthority',
         '{"CertificateAuthorityArn":"' + 'a' * 70000 + '"}'),
        ('policy-not-json', 'PutPolicy', '{"ResourceArn":"%s","Policy":"{\\"Version\\":"}' % CA_ARN),
        ('unknown-op', 'DescribeEverything', '{}'),
        ('custom-attributes-and-standard', 'CreateCertificateAuthority',
         '{"CertificateAuthorityConfiguration":{"KeyAlgorithm":"EC_prime256v1",'
         '"SigningAlgorithm":"SHA256WITHECDSA","Subject":{"CommonName":"x","CustomAttributes":'
         '[{"ObjectIdentifier":"2.5.4.3","Value":"y"}]}},"CertificateAuthorityType":"ROOT"}'),
        # members newer than the clients' botocore (model-overlay.json)
        ('newer-crl-members', 'UpdateCertificateAuthority',
         '{"CertificateAuthorityArn":"%s","RevocationConfiguration":{"CrlConfiguration":'
         '{"Enabled":true,"S3BucketName":"%s","CustomPath":"crls/a","CrlType":"PARTITIONED",'
         '"CrlDistributionPointExtensionConfiguration":{"OmitExtension":true}}}}'
         % (CA_ARN, BUCKET)),
        ('crl-bad-bucket', 'UpdateCertificateAuthority',
         '{"CertificateAuthorityArn":"%s","RevocationConfiguration":{"CrlConfiguration":'
         '{"Enabled":true,"S3BucketName":"../..","CustomPath":"../../etc","CustomCname":'
         '"http://evil/"}}}' % CA_ARN),
    ]:
        put('fuzz_request', 'hostile-' + name, op + '\n' + body)
        put('fuzz_ops', 'hostile-' + name, op + '\n' + body.replace(CA_ARN, '@CA_ARN@'))
    for name, body in [
        ('revoke-twice', '{"CertificateAuthorityArn":"@CA_ARN@","CertificateSerial":'
                         '"@CERT_SERIAL@","RevocationReason":"SUPERSEDED"}'),
        ('revoke-colons', '{"CertificateAuthorityArn":"@CA_ARN@","CertificateSerial":'
                          '"::::","RevocationReason":"SUPERSEDED"}'),
        ('revoke-long-serial', '{"CertificateAuthorityArn":"@CA_ARN@","CertificateSerial":"'
                               + 'ff:' * 60 + 'ff","RevocationReason":"SUPERSEDED"}'),
    ]:
        put('fuzz_ops', 'hostile-' + name, 'RevokeCertificate\n' + body)
    put('fuzz_ops', 'get-cert-of-store', 'GetCertificate\n{"CertificateAuthorityArn":"@CA_ARN@",'
        '"CertificateArn":"@CERT_ARN@"}')
    put('fuzz_ops', 'audit-report', 'CreateCertificateAuthorityAuditReport\n'
        '{"CertificateAuthorityArn":"@CA_ARN@","S3BucketName":"@BUCKET@",'
        '"AuditReportResponseFormat":"CSV"}')

    for name, v in [
        ('uppercase-uuid', CA_ARN.upper()), ('no-uuid', CA_ARN.rsplit('/', 1)[0] + '/'),
        ('extra-segment', CA_ARN + '/x'), ('cert-41-hex', CA_ARN + '/certificate/' + 'a' * 41),
        ('cert-upper', CA_ARN + '/certificate/ABCDEF0123'), ('colons', ':' * 5),
        ('short', 'arn:aws'), ('partition-gov', CA_ARN.replace(':aws:', ':aws-us-gov:')),
        ('account-13', CA_ARN.replace(ACCOUNT, ACCOUNT + '0')), ('empty', ''),
        ('token-forged', base64.b64encode(b'5.00000000000000000000000000000000').decode()),
        ('token-negative', base64.b64encode(b'-1.abc').decode()),
        ('token-nul', base64.b64encode(b'1\x00.abc').decode()),
        ('token-not-b64', '%%%'), ('number', '18446744073709551616'),
    ]:
        put('fuzz_arn', 'hostile-' + name, v)

    traversal = [('dotdot', BUCKET, '../../etc/passwd'), ('dot', BUCKET, 'crl/./x.crl'),
                 ('encoded', BUCKET, 'crl/%2e%2e/x'), ('backslash', BUCKET, 'crl\\..\\x'),
                 ('trailing-slash', BUCKET, 'crl/'), ('double-slash', BUCKET, 'crl//x.crl'),
                 ('ip-bucket', '192.168.0.1', 'crl/x.crl'), ('upper-bucket', 'Bucket', 'x'),
                 ('nul', BUCKET, 'crl/\u0000.crl'), ('space', BUCKET, 'crl/a b.crl'),
                 ('long-key', BUCKET, 'k/' * 600), ('crl-of-ca', BUCKET, 'crl/@CA_ID@.crl'),
                 ('report-of-ca', BUCKET, 'audit-report/@CA_ID@/x.json'),
                 ('crl-route', 'crl', '@CA_ID@.crl'), ('short-bucket', 'ab', 'x'),
                 ('custom-path', 'crls', 'a/@CA_ID@.crl')]
    for name, b, k in traversal:
        put('fuzz_object', 'hostile-' + name, '%s\n%s' % (b, k))

    policies = {
        'allow-cross-account': {'Version': '2012-10-17', 'Statement': [{
            'Effect': 'Allow', 'Principal': {'AWS': ['555555555555', 'arn:aws:iam::666666666666:root']},
            'Action': ['acm-pca:IssueCertificate', 'acm-pca:Get*'], 'Resource': '*',
            'Condition': {'StringLike': {'acm-pca:TemplateArn': 'arn:aws:acm-pca:::template/*'}}}]},
        'deny-all': {'Version': '2012-10-17', 'Statement': {
            'Effect': 'Deny', 'Principal': '*', 'NotAction': 'acm-pca:List*', 'Resource': '*'}},
        'service': {'Version': '2012-10-17', 'Statement': [{
            'Effect': 'Allow', 'Principal': {'Service': 'acm.amazonaws.com'},
            'Action': 'acm-pca:*', 'Resource': CA_ARN,
            'Condition': {'ArnLikeIfExists': {'aws:SourceArn': 'arn:aws:acm:*'},
                          'StringNotEquals': {'aws:PrincipalAccount': ['1', '2']}}}]},
        'identity': {'Version': '2012-10-17', 'Statement': [{
            'Effect': 'Allow', 'Action': '*', 'Resource': 'arn:aws:acm-pca:*:*:*'}]},
    }
    for name, pol in policies.items():
        put('fuzz_policy', name, json.dumps(pol))
    for name, text in [('empty-statement', '{"Version":"2012-10-17","Statement":[]}'),
                       ('glob-storm', json.dumps({'Version': '2012-10-17', 'Statement': [{
                           'Effect': 'Allow', 'Principal': '*', 'Resource': '*',
                           'Action': '*?' * 40 + 'x'}]})),
                       ('bad-effect', '{"Version":"2012-10-17","Statement":{"Effect":"Maybe"}}'),
                       ('not-json', '{"Version":'), ('deep', '[' * 4000)]:
        put('fuzz_policy', 'hostile-' + name, text)

    api = {
        'san-kinds': {'Extensions': {'SubjectAlternativeNames': [
            {'IpAddress': '::ffff:1.2.3.4'}, {'IpAddress': '300.1.1.1'},
            {'DnsName': 'caf\u00e9.example'}, {'RegisteredId': 'not-an-oid'}]}},
        'custom-ext-dup': {'Extensions': {'CustomExtensions': [
            {'ObjectIdentifier': '1.2.3', 'Value': 'BQA='},
            {'ObjectIdentifier': '1.2.3', 'Value': 'BQA='}]}},
        'custom-ext-known-bad': {'Extensions': {'CustomExtensions': [
            {'ObjectIdentifier': '2.5.29.17', 'Value': 'MAA=', 'Critical': True}]}},
        'custom-ext-trailing': {'Extensions': {'CustomExtensions': [
            {'ObjectIdentifier': '1.2.3.4', 'Value': 'BQAF'}]}},
        'name-constraints-ee': {'Extensions': {'CustomExtensions': [
            {'ObjectIdentifier': '2.5.29.30', 'Value': 'MAagBDACggA='}]}},
        'keycertsign-ee': {'Extensions': {'KeyUsage': {'KeyCertSign': True}}},
        'eku-both': {'Extensions': {'ExtendedKeyUsage': [
            {'ExtendedKeyUsageType': 'CODE_SIGNING', 'ExtendedKeyUsageObjectIdentifier': '1.2'}]}},
        'policy-qualifier-bad': {'Extensions': {'CertificatePolicies': [
            {'CertPolicyId': '1.2.3', 'PolicyQualifiers': [
                {'PolicyQualifierId': 'CPS', 'Qualifier': {'CpsUri': '\u00fc'}}]}]}},
        'subject-custom': {'Subject': {'CustomAttributes': [
            {'ObjectIdentifier': '2.5.4.3', 'Value': 'a'},
            {'ObjectIdentifier': '1.2.840.113549.1.9.1', 'Value': 'e@example.com'}]}},
        'subject-empty': {'Subject': {}},
    }
    for name, a in api.items():
        put('fuzz_passthrough', 'hostile-' + name, json.dumps({'ApiPassthrough': a}))
    put('fuzz_passthrough', 'blank-ca', json.dumps({
        'TemplateArn': 'arn:aws:acm-pca:::template/BlankSubordinateCACertificate_PathLen0_APIPassthrough/V1',
        'ApiPassthrough': {'Extensions': {'KeyUsage': {'KeyCertSign': True, 'CRLSign': True},
                                          'CustomExtensions': [{'ObjectIdentifier': '2.5.29.30',
                                                                'Value': 'MAagBDACggA=',
                                                                'Critical': True}]}}}))
    put('fuzz_passthrough', 'root-api', json.dumps({
        'TemplateArn': 'arn:aws:acm-pca:::template/RootCACertificate_APIPassthrough/V1',
        'ApiPassthrough': {'Subject': {'CommonName': 'Renamed Root'}}}))

    for name, req in [('empty', b''), ('not-der', b'GET / HTTP/1.1\r\n'),
                      ('sequence-only', b'\x30\x00'), ('long-length', b'\x30\x84\xff\xff\xff\xff'),
                      ('indefinite', b'\x30\x80\x00\x00')]:
        put('fuzz_ocsp', 'hostile-' + name, req)
    for name, text in [
            ('hostile-no-auth', 'POST\n/\n\nHost: 127.0.0.1\n\n{}'),
            ('hostile-both-mechanisms', 'GET\n/b/k\nX-Amz-Algorithm=AWS4-HMAC-SHA256\n'
             'Authorization: AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, '
             'Signature=00\nHost: h\n\n'),
            ('hostile-credential-slashes', 'POST\n/\n\nAuthorization: AWS4-HMAC-SHA256 '
             'Credential=AKIDEXAMPLE//us-east-1/acm-pca/aws4_request, SignedHeaders=host;'
             'x-amz-date, Signature=' + '0' * 64 + '\nX-Amz-Date: 20150830T123600Z\nHost: h\n\n'),
            ('hostile-dot-segments', 'GET\n/a/./b/../../../c//d/%2E%2E/%\n%zz=%&a=b&a=a&=\n'
             'Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/'
             'aws4_request, SignedHeaders=host;x-amz-date, Signature=' + 'a' * 64 +
             '\nX-Amz-Date: 20150830T123600Z\nHost: h\nX-Fuzz-Signed-Headers: Host;;X-AMZ-DATE;\n\n'),
            ('hostile-date-header', 'POST\n/\n\nAuthorization: AWS4-HMAC-SHA256 Credential='
             'AKIDEXAMPLE/20150830/us-east-1/acm-pca/aws4_request,SignedHeaders=date;host,'
             'Signature=' + 'b' * 64 + '\nDate: Sun, 30 Aug 2015 12:36:00 GMT\nHost: h\n\n'),
            ('hostile-presigned-expires', 'GET\n/b/k\nX-Amz-Algorithm=AWS4-HMAC-SHA256&'
             'X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&'
             'X-Amz-Date=20150830T123600Z&X-Amz-Expires=99999999999999999999&'
             'X-Amz-SignedHeaders=host&X-Amz-Signature=' + 'c' * 64 + '\nHost: h\n\n'),
            ('hostile-leap-second', 'POST\n/\n\nAuthorization: AWS4-HMAC-SHA256 Credential='
             'AKIDEXAMPLE/20150830/us-east-1/acm-pca/aws4_request,SignedHeaders=host,Signature='
             + 'd' * 64 + '\nX-Amz-Date: 20150830T235960Z\nHost: h\n\n'),
            ('hostile-long-algorithm', 'POST\n/\n\nAuthorization: ' + 'A' * 5000 + '\n\n'),
            ('hostile-repeated-headers', 'POST\n/\n\nAuthorization: AWS4-HMAC-SHA256 Credential='
             'AKIDEXAMPLE/20150830/us-east-1/acm-pca/aws4_request,SignedHeaders=host;x-a,'
             'Signature=' + 'e' * 64 + '\nX-Amz-Date: 20150830T123600Z\nHost: h\nX-A:  1  2 \n'
             'X-A:\t3\n\n{}')]:
        put('fuzz_sigv4', name, text)


if __name__ == '__main__':
    main()
