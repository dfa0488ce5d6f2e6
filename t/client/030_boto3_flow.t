# boto3 under /usr/bin/python3: the ROOT and SUBORDINATE flows with the
# botocore waiters, modeled exceptions, and openssl verify of the result.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 14, need_module('acmpca');


my $tag = uniq('boto3');
my $r = boto3_script(<<PY);
TAG = "$tag"
res = {}
def ca(kind, cn, key, sig, token=None):
    return pca.create_certificate_authority(
        CertificateAuthorityConfiguration={"KeyAlgorithm": key, "SigningAlgorithm": sig,
                                           "Subject": {"CommonName": cn, "Organization": "mod_acmpca tests"}},
        CertificateAuthorityType=kind, IdempotencyToken=token or (TAG + kind[:4]),
        Tags=[{"Key": "flow", "Value": TAG}])["CertificateAuthorityArn"]

root = ca("ROOT", "boto3 Root " + TAG, "EC_secp384r1", "SHA384WITHECDSA")
pca.get_waiter("certificate_authority_csr_created").wait(CertificateAuthorityArn=root, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=root)["Csr"]
cert_arn = pca.issue_certificate(CertificateAuthorityArn=root, Csr=csr.encode(), SigningAlgorithm="SHA384WITHECDSA",
    TemplateArn="arn:aws:acm-pca:::template/RootCACertificate/V1", Validity={"Type": "YEARS", "Value": 10})["CertificateArn"]
pca.get_waiter("certificate_issued").wait(CertificateAuthorityArn=root, CertificateArn=cert_arn, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
root_pem = pca.get_certificate(CertificateAuthorityArn=root, CertificateArn=cert_arn)["Certificate"]
pca.import_certificate_authority_certificate(CertificateAuthorityArn=root, Certificate=root_pem.encode())
res["root_status"] = pca.describe_certificate_authority(CertificateAuthorityArn=root)["CertificateAuthority"]["Status"]

sub = ca("SUBORDINATE", "boto3 Sub " + TAG, "RSA_2048", "SHA256WITHRSA")
pca.get_waiter("certificate_authority_csr_created").wait(CertificateAuthorityArn=sub, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
sub_csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=sub)["Csr"]
sub_arn = pca.issue_certificate(CertificateAuthorityArn=root, Csr=sub_csr.encode(), SigningAlgorithm="SHA384WITHECDSA",
    TemplateArn="arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen0/V1",
    Validity={"Type": "DAYS", "Value": 365})["CertificateArn"]
pca.get_waiter("certificate_issued").wait(CertificateAuthorityArn=root, CertificateArn=sub_arn, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
got = pca.get_certificate(CertificateAuthorityArn=root, CertificateArn=sub_arn)
pca.import_certificate_authority_certificate(CertificateAuthorityArn=sub, Certificate=got["Certificate"].encode(),
                                             CertificateChain=got["CertificateChain"].encode())
d = pca.describe_certificate_authority(CertificateAuthorityArn=sub)["CertificateAuthority"]
res.update(root=root, sub=sub, root_pem=root_pem, sub_pem=got["Certificate"], chain=got["CertificateChain"],
           sub_status=d["Status"], sub_type=d["Type"], created_type=type(d["CreatedAt"]).__name__)

# Modeled exceptions map to the client's exception classes.
try:
    pca.describe_certificate_authority(CertificateAuthorityArn=root.rsplit("/", 1)[0] + "/0b7e0c7a-3c1f-4f5e-9a51-1d2c3b4a5f60")
    res["not_found"] = "no error"
except pca.exceptions.ResourceNotFoundException as e:
    res["not_found"] = e.response["Error"]["Code"]
try:
    pca.delete_certificate_authority(CertificateAuthorityArn=root)
    res["delete_active"] = "no error"
except pca.exceptions.InvalidStateException as e:
    res["delete_active"] = e.response["Error"]["Code"]
try:
    ca("ROOT", "bad", "RSA_1024", "SHA256WITHRSA", token=TAG + "bad")
    res["bad_enum"] = "no error"
except ClientError as e:
    res["bad_enum"] = e.response["Error"]["Code"]
    res["bad_enum_msg"] = e.response["Error"]["Message"]
    res["request_id"] = e.response["ResponseMetadata"].get("RequestId", "")
out(res)
PY
ok($r->{rc} == 0 && $r->{json}, 'the boto3 script runs the ROOT and SUBORDINATE flows') or diag("rc=$r->{rc}\n$r->{err}\n$r->{out}");
my $j = $r->{json} || {};
is($j->{root_status}, 'ACTIVE', 'the root is ACTIVE');
ok(($j->{sub_status} // '') eq 'ACTIVE' && ($j->{sub_type} // '') eq 'SUBORDINATE', 'the subordinate is ACTIVE');
is($j->{created_type}, 'datetime', 'botocore parses CreatedAt into a datetime');
is(nl($j->{chain}), nl($j->{root_pem}), 'the subordinate chain is the root certificate');
my $v = verify_cert($j->{root_pem} // '', $j->{sub_pem} // '');
is($v->{rc}, 0, 'openssl verify: the subordinate certificate against the root') or diag($v->{out} . $v->{err});
like(cert_text($j->{sub_pem} // '') // '', qr/Signature Algorithm: ecdsa-with-SHA384/, 'the RSA subordinate is signed by the EC root with SHA384WITHECDSA');
is($j->{not_found}, 'ResourceNotFoundException', 'pca.exceptions.ResourceNotFoundException is raised for an unknown CA');
is($j->{delete_active}, 'InvalidStateException', 'pca.exceptions.InvalidStateException when deleting an ACTIVE CA');
is($j->{bad_enum}, 'ValidationException', 'a bad enum value reaches the server and comes back as ValidationException');
like($j->{bad_enum_msg} // '', qr/keyAlgorithm/i, '... naming the member');
like($j->{request_id} // '', qr/^[0-9a-f-]{36}$/i, 'botocore sees the x-amzn-RequestId');

# The same CAs seen over the Perl-side API.
is(ca_status($j->{root} // ''), 'ACTIVE', 'the root made by boto3 is ACTIVE for the API');
my(undef, $tags) = api(ListTags => { CertificateAuthorityArn => $j->{sub} // '' });
is_deeply(($tags || {})->{Tags}, [{ Key => 'flow', Value => $tag }], 'the tags boto3 gave are there');
