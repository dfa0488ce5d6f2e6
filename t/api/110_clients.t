# Real clients sign as AWS expects and the module verifies them (issue 5, Tests):
# awscli (/usr/bin/aws) and boto3 (/usr/bin/python3), with the right and the
# wrong secret and region.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Auth;

plan tests => 8, need_module('acmpca');

my $A = key_of('A');
my %on = (module => AUTH_VHOST, credentials => $A);

# ---- awscli
{
    my $r = aws_cli({%on}, 'acm-pca', 'list-certificate-authorities');
    ok($r->{rc} == 0 && ref $r->{json} eq 'HASH' && ref $r->{json}{CertificateAuthorities} eq 'ARRAY',
       'awscli list-certificate-authorities passes SigV4') or diag("rc=$r->{rc} $r->{err}");

    $r = aws_cli({ module => AUTH_VHOST, credentials => { %$A, SecretAccessKey => 'wrong' . $A->{SecretAccessKey} } },
                 'acm-pca', 'list-certificate-authorities');
    ok($r->{rc} != 0 && $r->{err} =~ /InvalidSignatureException/, 'awscli with a wrong secret: InvalidSignatureException')
        or diag("rc=$r->{rc} $r->{err}");

    $r = aws_cli({%on}, 'acm-pca', 'list-certificate-authorities', '--region', 'eu-west-1');
    ok($r->{rc} != 0 && $r->{err} =~ /InvalidSignatureException.*valid region/s, 'awscli in another region: InvalidSignatureException')
        or diag("rc=$r->{rc} $r->{err}");
}

# ---- boto3, a CA created and described through SigV4
{
    my $r = boto3_script(<<'PY', %on);
arn = pca.create_certificate_authority(
    CertificateAuthorityType="ROOT",
    CertificateAuthorityConfiguration={"KeyAlgorithm": "EC_prime256v1",
        "SigningAlgorithm": "SHA256WITHECDSA", "Subject": {"CommonName": "boto3 sigv4"}},
)["CertificateAuthorityArn"]
ca = pca.describe_certificate_authority(CertificateAuthorityArn=arn)["CertificateAuthority"]
out({"arn": arn, "owner": ca["OwnerAccount"], "status": ca["Status"]})
PY
    ok($r->{rc} == 0 && $r->{json}, 'boto3 create + describe pass SigV4') or diag("rc=$r->{rc} $r->{err}");
    like($r->{json}{arn} // '', qr/^arn:aws:acm-pca:us-east-1:111111111111:certificate-authority\//,
         '... the CA belongs to the signing key\'s account');
    is($r->{json}{owner}, '111111111111', '... OwnerAccount is that account');

    $r = boto3_script(<<'PY', module => AUTH_VHOST, credentials => { AccessKeyId => 'AKIDNOSUCHKEY0000000', SecretAccessKey => 'x' });
try:
    pca.list_certificate_authorities()
    out({"code": None})
except ClientError as e:
    out({"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]})
PY
    is($r->{json}{code}, 'UnrecognizedClientException', 'boto3 with an unknown key: UnrecognizedClientException');

    $r = boto3_script(<<'PY', %on);
import boto3
other = boto3.client("acm-pca", endpoint_url=ENDPOINT, region_name="us-east-1",
                     aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                     aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                     aws_session_token="not-a-token-of-this-key",
                     config=Config(retries={"max_attempts": 1}))
out({"n": len(other.list_certificate_authorities()["CertificateAuthorities"]) >= 0})
PY
    ok($r->{rc} == 0 && $r->{json} && $r->{json}{n}, 'boto3 with a session token on a key without one: accepted')
        or diag("rc=$r->{rc} $r->{err}");
}
