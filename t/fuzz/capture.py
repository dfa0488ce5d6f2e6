#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Capture the real requests of /usr/bin/aws and boto3 against the module, for the seed
corpora of fuzz_sigv4, fuzz_request, fuzz_ops, fuzz_arn, fuzz_passthrough and fuzz_object
(`make fuzz-capture`; t/fuzz/README.md).

A private httpd with build/mod_acmpca.so (scripts/run.sh, on 127.0.0.1:CAPTURE_PORT) sits
behind a recording proxy on CAPTURE_PORT+1. awscli and boto3 then drive every operation of
the API through the proxy, as a user would: CAs made, signed and imported, certificates
issued from their CSRs, listings paged with the server's own NextTokens, CRLs and audit
reports fetched through the emulated S3 namespace, presigned URLs followed. The proxy
writes down each request as it arrived (method, path, query, headers in order, body).

Server and clients run under faketime from 2015-08-30T12:36:00Z with the access key of
AWS's SigV4 test suite (AKIDEXAMPLE, a published example key, never a real one): the
instant and key fuzz_sigv4 verifies with, so the captured signatures take its success path.
The server's key-encryption key and store live in a temporary directory that is removed.

Seeds are named <client>-<Operation> (<client>-s3-<method> for object reads, presigned-*
and public-* for URLs followed without a client); a run replaces the awscli-*, boto3-*,
presigned-* and public-* files of those corpora and nothing else
(make-corpus.py writes the OpenSSL material and the hostile cases).

    /usr/bin/python3 t/fuzz/capture.py    # CAPTURE_PORT (default 9620) and +1;
                                          # CAPTURE_KEEP=1 keeps the server's directory
Needs: build/mod_acmpca.so (make), apache2, awscli, python3-boto3, openssl, faketime.
"""
import base64
import glob
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, 'corpus')
FAKE_START = '@2015-08-30 12:36:00'
AKID = 'AKIDEXAMPLE'                                 # AWS's SigV4 test-suite key
SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'  # published with it; not a secret
ACCOUNT = '123456789012'
BUCKET = 'fuzz-crl-bucket'                           # fuzz_store.h's FUZZ_BUCKET
TEMPLATE = 'arn:aws:acm-pca:::template/'
CA_ARN_RE = re.compile(r'arn:aws:acm-pca:us-east-1:%s:certificate-authority/'
                       r'([0-9a-f-]{36})(/certificate/[0-9a-f]+)?' % ACCOUNT)
OWNED = ('awscli-', 'boto3-', 'presigned-', 'public-')
TARGETS = ('fuzz_sigv4', 'fuzz_request', 'fuzz_ops', 'fuzz_arn', 'fuzz_passthrough',
           'fuzz_object')


# ************************************************************************************
# The recording proxy

class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    upstream = None
    origin = 'none'
    seen = []
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def relay(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n) if n else b''
        with Proxy.lock:
            Proxy.seen.append((Proxy.origin, self.command, self.path,
                               list(self.headers.items()), body))
        up = http.client.HTTPConnection('127.0.0.1', Proxy.upstream, timeout=120)
        up.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            up.putheader(k, v)
        up.endheaders(body if n else None)
        r = up.getresponse()
        out = r.read()
        self.send_response(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in ('transfer-encoding', 'connection', 'content-length'):
                self.send_header(k, v)
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(out)
        up.close()

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = relay


# ************************************************************************************
# The server

def start_server(rundir, port):
    with open(os.path.join(rundir, 'credentials.json'), 'w') as f:
        json.dump({'Credentials': [{'AccessKeyId': AKID, 'SecretAccessKey': SECRET,
                                    'AccountId': ACCOUNT,
                                    'Principal': 'arn:aws:iam::%s:user/capture' % ACCOUNT}]}, f)
    os.chmod(os.path.join(rundir, 'credentials.json'), 0o600)
    if answers(port) or answers(port + 1):
        sys.exit('capture: 127.0.0.1:%d or %d is taken (CAPTURE_PORT=)' % (port, port + 1))
    env = dict(os.environ, RUNDIR=rundir, PORT=str(port), STORE='',
               MODULE=os.path.join(ROOT, 'build', 'mod_acmpca.so'))
    log = open(os.path.join(rundir, 'run.log'), 'w')
    srv = subprocess.Popen(['faketime', '-m', '-f', FAKE_START, 'sh',
                            os.path.join(ROOT, 'scripts', 'run.sh')],
                           env=env, stdout=log, stderr=log, start_new_session=True)
    for _ in range(100):
        if answers(port):
            return srv
        if srv.poll() is not None:
            break
        time.sleep(0.2)
    stop_server(srv, rundir)
    sys.exit('capture: httpd did not start; see %s/run.log' % rundir)


def answers(port):
    try:
        c = http.client.HTTPConnection('127.0.0.1', port, timeout=2)
        c.request('GET', '/')
        c.getresponse().read()
        return True
    except OSError:
        return False


def stop_server(srv, rundir):
    """faketime, run.sh and httpd share a process group of their own: TERM to all of it
    (httpd's parent stops its children), then wait for httpd's pid file to go."""
    try:
        os.killpg(srv.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    pidfile = os.path.join(rundir, 'httpd.pid')
    for _ in range(150):
        if srv.poll() is not None and not os.path.exists(pidfile):
            return
        time.sleep(0.2)
    try:
        os.killpg(srv.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    srv.wait()


# ************************************************************************************
# The clients

def client_env(endpoint, home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(('AWS_', 'BOTO'))}
    env.update(HOME=home, AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_DEFAULT_REGION='us-east-1', AWS_REGION='us-east-1', AWS_PAGER='',
               AWS_CONFIG_FILE=os.path.join(home, 'aws-config'),
               AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, 'none'),
               AWS_EC2_METADATA_DISABLED='true', AWS_MAX_ATTEMPTS='1',
               ENDPOINT=endpoint, PYTHONNOUSERSITE='1')
    return env


class Aws:
    """/usr/bin/aws under faketime, through the proxy; JSON out, failures reported."""

    def __init__(self, endpoint, work):
        self.endpoint, self.work = endpoint, work
        self.env = client_env(endpoint, work)

    def __call__(self, *args, service='acm-pca', ok=True):
        argv = ['faketime', '-f', FAKE_START, '/usr/bin/aws', service] + list(args) + [
            '--endpoint-url', self.endpoint, '--output', 'json']
        r = subprocess.run(argv, env=self.env, capture_output=True, timeout=120)
        if r.returncode and ok:
            sys.stderr.write('capture: aws %s %s: %s\n' % (service, args[0],
                                                          r.stderr.decode().strip()))
        try:
            return json.loads(r.stdout or b'{}')
        except ValueError:
            return r.stdout.decode()

    def file(self, name, data):
        path = os.path.join(self.work, name)
        with open(path, 'wb' if isinstance(data, bytes) else 'w') as f:
            f.write(data)
        return path


def openssl_csr(work, name, key_spec, subj):
    key, csr = os.path.join(work, name + '.key'), os.path.join(work, name + '.csr')
    subprocess.run(['openssl', 'req', '-new', '-newkey', key_spec, '-nodes', '-keyout', key,
                    '-subj', subj, '-out', csr], check=True, capture_output=True)
    return csr


def colon_serial(pem):
    out = subprocess.run(['openssl', 'x509', '-noout', '-serial'], input=pem.encode(),
                         capture_output=True, check=True).stdout.decode()
    h = out.strip().split('=', 1)[1].lower()
    h = ('0' + h) if len(h) % 2 else h
    return ':'.join(h[i:i + 2] for i in range(0, len(h), 2))


def awscli_flow(aws, work):
    """Every operation, with awscli's own argument forms, as a user would chain them."""
    rev = aws.file('rev.json', json.dumps({
        'CrlConfiguration': {'Enabled': True, 'ExpirationInDays': 7, 'S3BucketName': BUCKET,
                             'S3ObjectAcl': 'PUBLIC_READ'},
        'OcspConfiguration': {'Enabled': True}}))
    cfg = aws.file('root.json', json.dumps({
        'KeyAlgorithm': 'EC_prime256v1', 'SigningAlgorithm': 'SHA256WITHECDSA',
        'Subject': {'Country': 'US', 'Organization': 'Example', 'OrganizationalUnit': 'PKI',
                    'State': 'WA', 'Locality': 'Seattle', 'CommonName': 'Capture Root'}}))
    root = aws('create-certificate-authority', '--certificate-authority-type', 'ROOT',
               '--certificate-authority-configuration', 'file://' + cfg,
               '--revocation-configuration', 'file://' + rev, '--idempotency-token', 'root-1',
               '--tags', 'Key=team,Value=pki', 'Key=env',
               '--usage-mode', 'GENERAL_PURPOSE')['CertificateAuthorityArn']
    ca = ['--certificate-authority-arn', root]
    aws('describe-certificate-authority', *ca)
    root_pem = self_sign(aws, root, 'SHA256WITHECDSA')
    aws('get-certificate-authority-certificate', *ca)

    sub = aws('create-certificate-authority', '--certificate-authority-type', 'SUBORDINATE',
              '--certificate-authority-configuration',
              'KeyAlgorithm=RSA_2048,SigningAlgorithm=SHA256WITHRSA,'
              'Subject={CommonName=Capture Issuing CA,Organization=Example}'
              )['CertificateAuthorityArn']
    csr = aws.file('sub.csr', aws('get-certificate-authority-csr',
                                  '--certificate-authority-arn', sub)['Csr'])
    arn = aws('issue-certificate', *ca, '--csr', 'fileb://' + csr,
              '--signing-algorithm', 'SHA256WITHECDSA',
              '--template-arn', TEMPLATE + 'SubordinateCACertificate_PathLen0/V1',
              '--validity', 'Value=5,Type=YEARS')['CertificateArn']
    got = get_certificate(aws, root, arn)
    aws('import-certificate-authority-certificate', '--certificate-authority-arn', sub,
        '--certificate', 'fileb://' + aws.file('sub.pem', got['Certificate']),
        '--certificate-chain', 'fileb://' + aws.file('chain.pem', root_pem))

    leaf = aws('issue-certificate', '--certificate-authority-arn', sub,
               '--csr', 'fileb://' + openssl_csr(work, 'leaf', 'rsa:2048',
                                                 '/CN=www.example.com/O=Example'),
               '--signing-algorithm', 'SHA256WITHRSA', '--validity', 'Value=365,Type=DAYS',
               '--idempotency-token', 'leaf-1')['CertificateArn']
    leaf_pem = get_certificate(aws, sub, leaf)['Certificate']
    api = aws.file('api.json', json.dumps({
        'Subject': {'CommonName': 'passthrough.example.com', 'Organization': 'Example'},
        'Extensions': {
            'KeyUsage': {'DigitalSignature': True, 'KeyEncipherment': True},
            'ExtendedKeyUsage': [{'ExtendedKeyUsageType': 'SERVER_AUTH'},
                                 {'ExtendedKeyUsageObjectIdentifier': '1.3.6.1.5.5.7.3.2'}],
            'SubjectAlternativeNames': [{'DnsName': 'a.example.com'},
                                        {'IpAddress': '192.0.2.7'},
                                        {'Rfc822Name': 'a@example.com'},
                                        {'UniformResourceIdentifier': 'spiffe://x/y'}],
            'CertificatePolicies': [{'CertPolicyId': '2.5.29.32.0', 'PolicyQualifiers': [
                {'PolicyQualifierId': 'CPS',
                 'Qualifier': {'CpsUri': 'https://example.com/cps'}}]}],
            'CustomExtensions': [{'ObjectIdentifier': '1.3.6.1.4.1.99999.1',
                                  'Value': base64.b64encode(b'\x0c\x03abc').decode()}]}}))
    aws('issue-certificate', *ca,
        '--csr', 'fileb://' + openssl_csr(work, 'api', 'ec:' + ec_params(work),
                                          '/CN=api.example.com'),
        '--signing-algorithm', 'SHA384WITHECDSA',
        '--template-arn', TEMPLATE + 'EndEntityCertificate_APIPassthrough/V1',
        '--api-passthrough', 'file://' + api,
        '--validity', 'Value=20201231235959,Type=END_DATE',
        '--validity-not-before', 'Value=1440979200,Type=ABSOLUTE')
    aws('revoke-certificate', '--certificate-authority-arn', sub,
        '--certificate-serial', colon_serial(leaf_pem), '--revocation-reason', 'KEY_COMPROMISE')

    aws('list-certificate-authorities', '--page-size', '1', '--resource-owner', 'SELF')
    token = aws('list-certificate-authorities', '--max-items', '1').get('NextToken')
    if token:
        aws('list-certificate-authorities', '--max-items', '1', '--starting-token', token)
    aws('tag-certificate-authority', *ca, '--tags', 'Key=a,Value=b', 'Key=c,Value=')
    aws('list-tags', *ca, '--page-size', '1')
    aws('untag-certificate-authority', *ca, '--tags', 'Key=a')
    aws('create-permission', *ca, '--principal', 'acm.amazonaws.com', '--actions',
        'IssueCertificate', 'GetCertificate', 'ListPermissions', '--source-account', ACCOUNT)
    aws('list-permissions', *ca)
    aws('delete-permission', *ca, '--principal', 'acm.amazonaws.com',
        '--source-account', ACCOUNT)
    policy = aws.file('policy.json', json.dumps({
        'Version': '2012-10-17', 'Statement': [{
            'Sid': 'cross', 'Effect': 'Allow', 'Principal': {'AWS': '555555555555'},
            'Action': ['acm-pca:IssueCertificate', 'acm-pca:GetCertificate'],
            'Resource': root,
            'Condition': {'StringEquals': {'acm-pca:TemplateArn':
                                           TEMPLATE + 'EndEntityCertificate/V1'}}}]}))
    aws('put-policy', '--resource-arn', root, '--policy', 'file://' + policy)
    aws('get-policy', '--resource-arn', root)
    aws('delete-policy', '--resource-arn', root)

    report = aws('create-certificate-authority-audit-report', *ca, '--s3-bucket-name', BUCKET,
                 '--audit-report-response-format', 'JSON')
    if report.get('AuditReportId'):
        wait_report(aws, root, report['AuditReportId'])
        aws('cp', 's3://%s/%s' % (BUCKET, report['S3Key']), os.path.join(work, 'report.json'),
            service='s3')
        follow(aws('presign', 's3://%s/%s' % (BUCKET, report['S3Key']), '--expires-in', '600',
                   service='s3'))
    aws('update-certificate-authority', '--certificate-authority-arn', sub,
        '--revocation-configuration', 'file://' + rev)
    aws('update-certificate-authority', '--certificate-authority-arn', sub,
        '--status', 'DISABLED')
    aws('update-certificate-authority', '--certificate-authority-arn', sub, '--status', 'ACTIVE')
    spare = aws('create-certificate-authority', '--certificate-authority-type', 'ROOT',
                '--certificate-authority-configuration',
                'KeyAlgorithm=EC_secp384r1,SigningAlgorithm=SHA384WITHECDSA,'
                'Subject={CommonName=Spare}')['CertificateAuthorityArn']
    aws('delete-certificate-authority', '--certificate-authority-arn', spare,
        '--permanent-deletion-time-in-days', '7')
    aws('restore-certificate-authority', '--certificate-authority-arn', spare)
    root_id = CA_ARN_RE.match(root).group(1)
    aws('cp', 's3://%s/crl/%s.crl' % (BUCKET, root_id), os.path.join(work, 'root.crl'),
        service='s3', ok=False)  # there once the CRL job ran
    follow('%s/crl/%s.crl' % (aws.endpoint, root_id))


def self_sign(aws, ca_arn, alg):
    """CSR -> root certificate -> import: the CA becomes ACTIVE; its PEM."""
    ca = ['--certificate-authority-arn', ca_arn]
    csr = aws.file('ca.csr', aws('get-certificate-authority-csr', *ca)['Csr'])
    arn = aws('issue-certificate', *ca, '--csr', 'fileb://' + csr, '--signing-algorithm', alg,
              '--template-arn', TEMPLATE + 'RootCACertificate/V1',
              '--validity', 'Value=10,Type=YEARS', '--idempotency-token', 'root-cert')
    pem = get_certificate(aws, ca_arn, arn['CertificateArn'])['Certificate']
    aws('import-certificate-authority-certificate', *ca,
        '--certificate', 'fileb://' + aws.file('root.pem', pem))
    return pem


def get_certificate(aws, ca_arn, cert_arn):
    for _ in range(20):
        got = aws('get-certificate', '--certificate-authority-arn', ca_arn,
                  '--certificate-arn', cert_arn, ok=False)
        if got.get('Certificate'):
            return got
        time.sleep(0.5)
    sys.exit('capture: %s never issued' % cert_arn)


def wait_report(aws, ca_arn, report_id):
    for _ in range(20):
        r = aws('describe-certificate-authority-audit-report', '--certificate-authority-arn',
                ca_arn, '--audit-report-id', report_id)
        if r.get('AuditReportStatus') != 'CREATING':
            return
        time.sleep(0.5)


def ec_params(work):
    path = os.path.join(work, 'p384.param')
    subprocess.run(['openssl', 'ecparam', '-name', 'secp384r1', '-out', path], check=True)
    return path


def follow(url):
    """A presigned (or public) URL, fetched through the proxy as a browser would."""
    if not isinstance(url, str) or not url.startswith('http'):
        return
    try:
        urllib.request.urlopen(url.strip(), timeout=60).read()
    except OSError as e:
        sys.stderr.write('capture: GET %s: %s\n' % (url.split('?')[0], e))


BOTO3 = r'''
import json, os, subprocess, sys, time, urllib.request
import boto3
from botocore.config import Config
cfg = Config(retries={"max_attempts": 1})
pca = boto3.client("acm-pca", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                   config=cfg)
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                  config=Config(retries={"max_attempts": 1}, signature_version="s3v4",
                                s3={"addressing_style": "path"}))
T = "arn:aws:acm-pca:::template/"
BUCKET, WORK = sys.argv[1], sys.argv[2]

def cert(ca, arn):
    for _ in range(20):
        try:
            return pca.get_certificate(CertificateAuthorityArn=ca, CertificateArn=arn)
        except pca.exceptions.RequestInProgressException:
            time.sleep(0.5)

def csr(name, spec, subj):
    out = os.path.join(WORK, name + ".csr")
    subprocess.run(["openssl", "req", "-new", "-newkey", spec, "-nodes", "-keyout",
                    os.path.join(WORK, name + ".key"), "-subj", subj, "-out", out],
                   check=True, capture_output=True)
    return open(out, "rb").read()

def call(name, **kw):
    try:
        return getattr(pca, name)(**kw)
    except Exception as e:
        print("capture: boto3", name, e, file=sys.stderr)
        return {}

root = pca.create_certificate_authority(CertificateAuthorityType="ROOT",
    CertificateAuthorityConfiguration=dict(KeyAlgorithm="EC_secp384r1",
        SigningAlgorithm="SHA384WITHECDSA", Subject=dict(CustomAttributes=[
            dict(ObjectIdentifier="2.5.4.3", Value="Boto3 Root"),
            dict(ObjectIdentifier="0.9.2342.19200300.100.1.25", Value="example")])),
    RevocationConfiguration=dict(CrlConfiguration=dict(Enabled=True, S3BucketName=BUCKET,
        ExpirationInDays=30), OcspConfiguration=dict(Enabled=True)),
    Tags=[dict(Key="owner", Value="boto3")],
    IdempotencyToken="boto3-root")["CertificateAuthorityArn"]
pca.describe_certificate_authority(CertificateAuthorityArn=root)
c = pca.get_certificate_authority_csr(CertificateAuthorityArn=root)["Csr"]
arn = pca.issue_certificate(CertificateAuthorityArn=root, Csr=c.encode(),
    SigningAlgorithm="SHA384WITHECDSA", TemplateArn=T + "RootCACertificate_APIPassthrough/V1",
    ApiPassthrough=dict(Extensions=dict(CertificatePolicies=[dict(CertPolicyId="2.5.29.32.0")])),
    Validity=dict(Value=3650, Type="DAYS"))["CertificateArn"]
pem = cert(root, arn)["Certificate"]
pca.import_certificate_authority_certificate(CertificateAuthorityArn=root, Certificate=pem.encode())
pca.get_certificate_authority_certificate(CertificateAuthorityArn=root)
leaf = pca.issue_certificate(CertificateAuthorityArn=root,
    Csr=csr("b1", "rsa:2048", "/CN=blank"), SigningAlgorithm="SHA384WITHECDSA",
    Validity=dict(Value=7, Type="DAYS"),
    TemplateArn=T + "BlankEndEntityCertificate_APICSRPassthrough/V1",
    ApiPassthrough=dict(Subject=dict(CommonName="blank", Country="DE", SerialNumber="42",
        Pseudonym="p", GenerationQualifier="III", Initials="X", Title="t",
        DistinguishedNameQualifier="dnq"),
      Extensions=dict(KeyUsage=dict(DigitalSignature=True),
        SubjectAlternativeNames=[dict(DirectoryName=dict(CommonName="dir")),
          dict(OtherName=dict(TypeId="1.3.6.1.4.1.311.20.2.3", Value="upn@example.com")),
          dict(RegisteredId="1.2.3.4"),
          dict(EdiPartyName=dict(PartyName="party", NameAssigner="assigner"))])),
    IdempotencyToken="x" * 36)["CertificateArn"]
got = cert(root, leaf)
call("issue_certificate", CertificateAuthorityArn=root,
     Csr=csr("b2", "ec:" + os.path.join(WORK, "p384.param"), "/CN=short"),
     SigningAlgorithm="SHA384WITHECDSA", Validity=dict(Value=1767225600, Type="ABSOLUTE"),
     ValidityNotBefore=dict(Value=1, Type="DAYS"))
serial = leaf.rsplit("/", 1)[1]
pca.revoke_certificate(CertificateAuthorityArn=root, CertificateSerial=serial,
                       RevocationReason="SUPERSEDED")
for page in pca.get_paginator("list_certificate_authorities").paginate(
        PaginationConfig=dict(PageSize=1)):
    pass
pca.tag_certificate_authority(CertificateAuthorityArn=root,
    Tags=[dict(Key="k%d" % i, Value="v") for i in range(5)])
for page in pca.get_paginator("list_tags").paginate(CertificateAuthorityArn=root,
        PaginationConfig=dict(PageSize=2)):
    pass
pca.untag_certificate_authority(CertificateAuthorityArn=root, Tags=[dict(Key="k0")])
pca.create_permission(CertificateAuthorityArn=root, Principal="acm.amazonaws.com",
    Actions=["IssueCertificate", "GetCertificate", "ListPermissions"])
for page in pca.get_paginator("list_permissions").paginate(CertificateAuthorityArn=root):
    pass
pca.delete_permission(CertificateAuthorityArn=root, Principal="acm.amazonaws.com")
pca.put_policy(ResourceArn=root, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::555555555555:root"},
    "Action": ["acm-pca:DescribeCertificateAuthority", "acm-pca:GetCertificate",
               "acm-pca:ListPermissions"], "Resource": root}]}))
pca.get_policy(ResourceArn=root)
pca.delete_policy(ResourceArn=root)
rep = pca.create_certificate_authority_audit_report(CertificateAuthorityArn=root,
    S3BucketName=BUCKET, AuditReportResponseFormat="CSV")
for _ in range(20):
    r = pca.describe_certificate_authority_audit_report(CertificateAuthorityArn=root,
        AuditReportId=rep["AuditReportId"])
    if r["AuditReportStatus"] != "CREATING":
        break
    time.sleep(0.5)
try:
    s3.get_object(Bucket=BUCKET, Key=rep["S3Key"])["Body"].read()
except Exception as e:
    print("capture: boto3 get_object", e, file=sys.stderr)
url = s3.generate_presigned_url("get_object", Params=dict(Bucket=BUCKET, Key=rep["S3Key"]),
                                ExpiresIn=60)
try:
    urllib.request.urlopen(url, timeout=60).read()
except OSError as e:
    print("capture: presigned", e, file=sys.stderr)
crl = "crl/" + root.rsplit("/", 1)[1] + ".crl"
try:
    s3.head_object(Bucket=BUCKET, Key=crl)
    s3.get_object(Bucket=BUCKET, Key=crl)["Body"].read()
except Exception as e:
    print("capture: boto3 crl", e, file=sys.stderr)
pca.update_certificate_authority(CertificateAuthorityArn=root, Status="DISABLED",
    RevocationConfiguration=dict(CrlConfiguration=dict(Enabled=True, S3BucketName=BUCKET,
        ExpirationInDays=5000), OcspConfiguration=dict(Enabled=False)))
pca.update_certificate_authority(CertificateAuthorityArn=root, Status="ACTIVE")
spare = pca.create_certificate_authority(CertificateAuthorityType="SUBORDINATE",
    CertificateAuthorityConfiguration=dict(KeyAlgorithm="RSA_3072",
        SigningAlgorithm="SHA512WITHRSA", Subject=dict(CommonName="Spare", Country="US")),
    KeyStorageSecurityStandard="FIPS_140_2_LEVEL_3_OR_HIGHER")["CertificateAuthorityArn"]
pca.delete_certificate_authority(CertificateAuthorityArn=spare, PermanentDeletionTimeInDays=30)
pca.restore_certificate_authority(CertificateAuthorityArn=spare)
call("get_certificate", CertificateAuthorityArn=root, CertificateArn=root + "/certificate/00")
call("describe_certificate_authority", CertificateAuthorityArn=root[:-1] + "0")
'''


# ************************************************************************************
# Writing the seeds

def wire(method, path, headers, body):
    """fuzz_sigv4's input form: method, path, query, headers, blank line, body."""
    p, _, q = path.partition('?')
    head = ''.join('%s: %s\n' % (k, v) for k, v in headers)
    return ('%s\n%s\n%s\n%s\n' % (method, p, q, head)).encode() + body


def placeholders(s, ca_ids):
    """The fuzz_store.h fixture's names for whatever CA, certificate and bucket s names."""
    s = CA_ARN_RE.sub(lambda m: '@CERT_ARN@' if m.group(2) else '@CA_ARN@', s)
    for ca_id in ca_ids:
        s = s.replace(ca_id, '@CA_ID@')
    return s.replace(BUCKET, '@BUCKET@')


class Seeds:
    def __init__(self):
        self.names = set()
        for t in TARGETS:
            for f in glob.glob(os.path.join(CORPUS, t, '*')):
                if os.path.basename(f).startswith(OWNED):
                    os.remove(f)

    def put(self, target, name, data):
        if isinstance(data, str):
            data = data.encode()
        name = re.sub(r'[^A-Za-z0-9._-]+', '-', name)
        n, i = name, 1
        while (target, n) in self.names:
            i += 1
            n = '%s-%d' % (name, i)
        self.names.add((target, n))
        with open(os.path.join(CORPUS, target, n), 'wb') as f:
            f.write(data)


def write_seeds(seen):
    seeds = Seeds()
    ca_ids = set()
    for _, _, path, _, body in seen:
        ca_ids.update(m.group(1) for m in CA_ARN_RE.finditer(path + body.decode()))
    for origin, method, path, headers, body in seen:
        target = dict((k.lower(), v) for k, v in headers).get('x-amz-target', '')
        op = target.split('.', 1)[1] if '.' in target else None
        if 'Signature=' in path:
            origin = 'presigned'
        elif not any(k.lower() == 'authorization' for k, _ in headers):
            origin = 'public'  # a CRL read as a relying party makes it
        name = '%s-%s' % (origin, op or 's3-' + method.lower())
        seeds.put('fuzz_sigv4', name, wire(method, path, headers, body))
        if op:
            seeds.put('fuzz_request', name, op.encode() + b'\n' + body)
            seeds.put('fuzz_ops', name, op + '\n' + placeholders(body.decode(), ca_ids))
            j = json.loads(body or b'{}')
            if 'ApiPassthrough' in j:
                seeds.put('fuzz_passthrough', name, json.dumps(
                    {k: j[k] for k in ('TemplateArn', 'ApiPassthrough') if k in j}))
            for k in ('CertificateAuthorityArn', 'CertificateArn', 'ResourceArn', 'NextToken'):
                if k in j:
                    seeds.put('fuzz_arn', name + '-' + k, j[k])
        else:
            bucket, _, key = path.split('?')[0].lstrip('/').partition('/')
            seeds.put('fuzz_object', name, '%s\n%s' % (placeholders(bucket, ca_ids),
                                                      placeholders(key, ca_ids)))
    counts = {}
    for t, _ in seeds.names:
        counts[t] = counts.get(t, 0) + 1
    for t in sorted(counts):
        print('%-18s %3d captured seeds' % (t, counts[t]))


# ************************************************************************************

def main():
    port = int(os.environ.get('CAPTURE_PORT', '9620'))
    if not os.path.exists(os.path.join(ROOT, 'build', 'mod_acmpca.so')):
        sys.exit('capture: build/mod_acmpca.so is missing: run make first')
    rundir = tempfile.mkdtemp(prefix='acmpca-capture-', dir='/tmp')
    os.chmod(rundir, 0o711)  # httpd's workers (www-data) reach the store below
    work = os.path.join(rundir, 'client')
    os.makedirs(work)
    srv = None
    proxy = None
    try:
        srv = start_server(rundir, port)
        Proxy.upstream = port
        socketserver.TCPServer.allow_reuse_address = True
        proxy = http.server.ThreadingHTTPServer(('127.0.0.1', port + 1), Proxy)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        endpoint = 'http://127.0.0.1:%d' % (port + 1)
        aws = Aws(endpoint, work)
        open(os.path.join(work, 'aws-config'), 'w').close()
        Proxy.origin = 'awscli'
        awscli_flow(aws, work)
        Proxy.origin = 'boto3'
        r = subprocess.run(['faketime', '-f', FAKE_START, '/usr/bin/python3', '-c', BOTO3, BUCKET,
                            work], env=aws.env, capture_output=True, timeout=600)
        sys.stderr.write(r.stderr.decode()[-3000:])
        if r.returncode:
            sys.exit('capture: the boto3 flow failed')
    finally:
        if proxy:
            proxy.shutdown()
        if srv:
            stop_server(srv, rundir)
        if os.environ.get('CAPTURE_KEEP'):
            print('capture: kept %s (logs/error_log)' % rundir)
        else:
            shutil.rmtree(rundir, ignore_errors=True)
    write_seeds(Proxy.seen)


if __name__ == '__main__':
    main()
