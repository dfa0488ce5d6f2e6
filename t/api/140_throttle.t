# Throttling (issue 5, Build 5): ACMPCAThrottle ListCertificateAuthorities 1 2 on
# the acmpca_throttle vhost. Excess requests get ThrottlingException (HTTP 400);
# buckets are per account and operation, shared by every httpd process; awscli and
# boto3 with their standard retries get through a loop of calls without an error.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Auth;
use Time::HiRes ();

plan tests => 7, need_module('acmpca');

my $V = 'acmpca_throttle';
my $LIST = 'ListCertificateAuthorities';

sub list_as { my($who) = @_; my(undef, undef, $res) = call_as($who => $LIST => {}, -module => $V); $res }

# ---- a burst of 2, then ThrottlingException
{
    my(@codes, $throttled);
    for (1 .. 6) {
        my $res = list_as('C');
        push @codes, $res->code;
        $throttled ||= $res if $res->code != 200;
    }
    is_deeply([@codes[0, 1]], [200, 200], 'the first two calls of a burst pass') or diag("@codes");
    ok($throttled, 'then calls are refused') or diag("@codes");
    is_aws_error($throttled // list_as('C'), 400, 'ThrottlingException', qr/^Rate exceeded$/, '... with ThrottlingException');
    # Another account has a bucket of its own; so has another operation.
    is_api_ok(list_as('B'), 'another account is not throttled by the first');
    my(undef, undef, $res) = call_as(C => ListTags => { CertificateAuthorityArn =>
        'arn:aws:acm-pca:us-east-1:333333333333:certificate-authority/00000000-0000-4000-8000-000000000000' }, -module => $V);
    ok(($res->content // '') !~ /ThrottlingException/, 'another operation is not throttled by the first')
        or diag($res->content);
}

# ---- the SDKs retry ThrottlingException (standard retry mode) and get through
{
    my $env = client_env(module => $V, credentials => key_of('C'));
    $env->{AWS_MAX_ATTEMPTS} = '10';
    my($ok, $err) = (0, '');
    my $t0 = Time::HiRes::time();
    for (1 .. 5) {
        my $r = run_cmd(['/usr/bin/aws', 'acm-pca', 'list-certificate-authorities', '--endpoint-url', endpoint($V),
                         '--output', 'json'], env => $env, timeout => 120);
        $r->{rc} == 0 ? $ok++ : ($err .= $r->{err});
    }
    is($ok, 5, sprintf 'awscli with retries: 5 calls in a row succeed (%.1f s)', Time::HiRes::time() - $t0) or diag($err);

    my $r = boto3_script(<<'PY', module => $V, credentials => key_of('C'));
import boto3
retrying = boto3.client("acm-pca", endpoint_url=ENDPOINT, region_name="us-east-1",
                        config=Config(retries={"max_attempts": 10, "mode": "standard"}))
retries = 0
for _ in range(6):
    r = retrying.list_certificate_authorities()
    retries += r["ResponseMetadata"]["RetryAttempts"]
out({"calls": 6, "retries": retries})
PY
    ok($r->{rc} == 0 && $r->{json} && $r->{json}{retries} > 0, 'boto3 retries ThrottlingException and completes 6 calls')
        or diag("rc=$r->{rc} " . ($r->{out} // '') . $r->{err});
}
