# ACMPCAAuthentication httpd (issue 5, Build 3): httpd's own authentication (here
# Basic, t/conf/acmpca-auth.htpasswd) decides who calls; the credentials file maps
# user names to accounts: "alice" to 111111111111, anyone else ("*") to
# 444444444444. The acmpca_httpd vhost shares its store with acmpca_auth.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Auth;
use MIME::Base64 qw(encode_base64);

plan tests => 8, need_module('acmpca', 'auth_basic', 'authn_file', 'authz_user');

my $V = 'acmpca_httpd';
my %pw = (alice => 'alice-test-password', zed => 'zed-test-password');

sub as_user {
    my($user, $op, $body, $pass) = @_;
    my %auth = defined $user ? (Authorization => 'Basic ' . encode_base64("$user:" . ($pass // $pw{$user}), '')) : ();
    my $res = raw_post("ACMPrivateCA.$op", json_encode($body), -module => $V, -unsigned => 1, %auth);
    ($res->code, json_decode($res->content), $res);
}

my $create = { CertificateAuthorityType => 'ROOT', CertificateAuthorityConfiguration => ca_config() };

{
    my($st, undef, $res) = as_user(undef, ListCertificateAuthorities => {});
    is($st, 401, 'no user: httpd answers 401 before the module');
    ($st) = as_user(alice => ListCertificateAuthorities => {}, 'wrong');
    is($st, 401, 'a wrong password: 401');
}
{
    my($st, $j, $res) = as_user(alice => CreateCertificateAuthority => $create);
    like($j && $j->{CertificateAuthorityArn} // $res->content, qr/^arn:aws:acm-pca:us-east-1:111111111111:/,
         'alice creates CAs in the account the credentials file gives her');
    ($st, $j, $res) = as_user(zed => CreateCertificateAuthority => $create);
    like($j && $j->{CertificateAuthorityArn} // $res->content, qr/^arn:aws:acm-pca:us-east-1:444444444444:/,
         'an unlisted user gets the "*" entry\'s account');
    my $zed_ca = $j && $j->{CertificateAuthorityArn};
    ($st, undef, $res) = as_user(alice => DescribeCertificateAuthority => { CertificateAuthorityArn => $zed_ca // '' });
    is_aws_error($res, 400, 'ResourceNotFoundException', undef, 'alice does not see zed\'s CA');
}
{
    # The same account through SigV4 on the other vhost (same store).
    my(undef, $j) = call_as(A => CreateCertificateAuthority => $create);
    my $arn = $j && $j->{CertificateAuthorityArn};
    my($st, $d) = as_user(alice => DescribeCertificateAuthority => { CertificateAuthorityArn => $arn // '' });
    is($d && $d->{CertificateAuthority}{OwnerAccount}, '111111111111', 'alice sees the CA key A made: one account, two ways in');
    # A SigV4 header on this vhost means nothing: only r->user counts.
    my $res = raw_post('ACMPrivateCA.ListCertificateAuthorities', '{}', -module => $V, -credentials => key_of('B'));
    is($res->code, 401, 'a SigV4 signature is no way in on an httpd-authenticated vhost');
    like(read_file(Apache::Test::vars('t_logs') . '/error_log'), qr/ACMPCA0505: request \S+: DescribeCertificateAuthority by arn:aws:iam::111111111111:user\/alice \(account 111111111111, httpd user alice\): allowed/,
         'the error log names the user, principal, account and decision');
}
