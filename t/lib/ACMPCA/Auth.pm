# Licensed under the Apache License, Version 2.0.
# Helpers of the identity-and-access tests (t/api/1xx, 5xx): the fixed test
# accounts of t/conf/acmpca-auth-credentials.json, API calls as one of them on
# the acmpca_auth vhost, a request signed by hand (to change it after signing),
# and an ACTIVE root CA of a given account. Signing is AWS::Signature4's, through
# ACMPCA::Test.
#
#   use ACMPCA::Test; use ACMPCA::Auth;
#   my($st, $j, $res) = call_as(A => 'ListCertificateAuthorities', {});
package ACMPCA::Auth;

use strict;
use warnings;

use Exporter 'import';
use Carp qw(croak);
use File::Spec::Functions qw(catfile);
use HTTP::Request ();
use POSIX qw(strftime);
use Test::Builder ();

use Apache::Test ();
use ACMPCA::Test;

our @EXPORT = qw(
    AUTH_VHOST key_of account_of auth_credentials_file call_as call_as_ok signed_request send_request
    amz_date active_root_as ee_csr
);

use constant AUTH_VHOST => 'acmpca_auth';

my $TB = Test::Builder->new;

sub auth_credentials_file {
    catfile(Apache::Test::vars('serverroot'), 'conf', 'acmpca-auth-credentials.json');
}

my %BY;    # name -> credentials entry
sub _load {
    return if %BY;
    my $c = json_decode(read_file(auth_credentials_file())) or croak 'cannot parse the test credentials';
    my %names = (AKIDACMPCATESTA00001 => 'A', AKIDACMPCATESTB00001 => 'B',
                 AKIDACMPCATESTC00001 => 'C', AKIDACMPCATESTRO0001 => 'READER',
                 AKIDACMPCATESTDENY01 => 'NOISSUE', AKIDACMPCATESTTOK001 => 'TOKEN');
    for my $e (@{ $c->{Credentials} }) {
        next unless $e->{AccessKeyId};
        $BY{ $names{ $e->{AccessKeyId} } // $e->{AccessKeyId} } = $e;
    }
}

# key_of('A') -> {AccessKeyId, SecretAccessKey, AccountId, ...}
sub key_of { _load(); $BY{ $_[0] } or croak "no test key $_[0]" }
sub account_of { key_of($_[0])->{AccountId} }

# call_as($who, $op, \%body, %headers) -> (status, json, response) on acmpca_auth
# (or -module => ...).
sub call_as {
    my($who, $op, $body, %h) = @_;
    api($op, $body, -module => AUTH_VHOST, -credentials => key_of($who), %h);
}

sub call_as_ok {
    my($who, $op, $body, $name) = @_;
    my(undef, undef, $res) = call_as($who, $op, $body);
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is_api_ok($res, $name // "$op as $who");
}

sub amz_date { strftime('%Y%m%dT%H%M%SZ', gmtime($_[0] // time)) }

# signed_request($who, $op, $bytes, %o) -> HTTP::Request, signed but not sent, so
# that a test can change it afterwards. Options: headers => {...} (signed too),
# date => epoch, region, module, credentials.
sub signed_request {
    my($who, $op, $bytes, %o) = @_;
    my $hp = hostport($o{module} // AUTH_VHOST);
    my $req = HTTP::Request->new(POST => "http://$hp/");
    $req->header('Content-Type' => 'application/x-amz-json-1.1');
    $req->header('X-Amz-Target' => "ACMPrivateCA.$op") if defined $op;
    $req->header(Host => $hp);
    $req->header('X-Amz-Date' => amz_date($o{date})) if defined $o{date};
    my %extra = %{ $o{headers} || {} };
    $req->header($_ => $extra{$_}) for sort keys %extra;
    $req->content($bytes // '{}');
    ACMPCA::Test::sign_request($req, credentials => $o{credentials} // key_of($who),
                               (defined $o{region} ? (region => $o{region}) : ()));
    $req;
}

sub send_request { ACMPCA::Test::ua()->request($_[0]) }

# An end-entity CSR made by openssl.
sub ee_csr { openssl_key_csr(subj => '/CN=' . ($_[0] // 'ee.example.com'))->{csr} }

# active_root_as($who) -> CA ARN of an ACTIVE root CA of that account, or undef.
sub active_root_as {
    my($who, %o) = @_;
    my($st, $j, $res) = call_as($who, CreateCertificateAuthority => {
        CertificateAuthorityType => 'ROOT',
        CertificateAuthorityConfiguration => ca_config(cn => $o{cn} // uniq("root-$who")) });
    return _failed('CreateCertificateAuthority', $res) unless $st == 200;
    my $arn = $j->{CertificateAuthorityArn};
    ($st, $j, $res) = call_as($who, GetCertificateAuthorityCsr => { CertificateAuthorityArn => $arn });
    return _failed('GetCertificateAuthorityCsr', $res) unless $st == 200;
    ($st, $j, $res) = call_as($who, IssueCertificate => {
        CertificateAuthorityArn => $arn, Csr => b64($j->{Csr}), SigningAlgorithm => 'SHA256WITHECDSA',
        TemplateArn => ROOT_TEMPLATE, Validity => { Type => 'YEARS', Value => 5 } });
    return _failed('IssueCertificate (root)', $res) unless $st == 200;
    my $carn = $j->{CertificateArn};
    ($st, $j, $res) = call_as($who, GetCertificate => { CertificateAuthorityArn => $arn, CertificateArn => $carn });
    return _failed('GetCertificate', $res) unless $st == 200;
    ($st, $j, $res) = call_as($who, ImportCertificateAuthorityCertificate => {
        CertificateAuthorityArn => $arn, Certificate => b64($j->{Certificate}) });
    return _failed('ImportCertificateAuthorityCertificate', $res) unless $st == 200;
    $arn;
}

sub _failed {
    my($what, $res) = @_;
    $TB->diag("$what failed: " . $res->code . ' ' . ($res->content // ''));
    return;
}

1;
