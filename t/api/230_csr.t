# GetCertificateAuthorityCsr (PCA-API.md §5.4, §4.1, §7.1): a PEM string (not
# base64), the CA's own key, stable, still there after activation; DELETED ->
# InvalidStateException.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 10, need_module('acmpca');

my $arn = create_ca(key => 'EC_secp384r1', cn => uniq('CSR Root'));
my($st, $j, $res) = api(GetCertificateAuthorityCsr => { CertificateAuthorityArn => $arn // '' });
my $csr = (is_api_ok($res, 'GetCertificateAuthorityCsr on a PENDING_CERTIFICATE CA') && $j->{Csr}) || '';
like($csr, qr/\A-----BEGIN CERTIFICATE REQUEST-----\n(?:[A-Za-z0-9+\/=]{1,64}\n)+-----END CERTIFICATE REQUEST-----\n?\z/,
    'Csr is a PEM string, not base64 of one');
my $v = openssl('req', '-verify', '-noout', '-in', write_file('ca.csr', $csr));
is($v->{rc}, 0, 'its signature verifies');
like(csr_subject($csr) // '', qr/CN = CSR Root/, 'its subject is the configured one');
is(get_ca_csr($arn // ''), $csr, 'asking again gives the same CSR');

# After activation, the CSR is unchanged and its key is the certificate's.
my $carn = $csr ? issue_ca_cert($arn, $csr, signing => 'SHA384WITHECDSA') : undef;
my $got  = $carn ? get_cert($arn, $carn) : undef;
ok($got && import_ca_cert($arn, $got->{Certificate}), 'the CA is made ACTIVE');
is(get_ca_csr($arn // ''), $csr, 'the CSR is still there, unchanged, once ACTIVE');
is(cert_pubkey($got ? $got->{Certificate} : ''), csr_pubkey($csr), 'the CA certificate carries the CSR key');

# DELETED.
my $p = create_ca();
api(DeleteCertificateAuthority => { CertificateAuthorityArn => $p // '', PermanentDeletionTimeInDays => 7 });
(undef, undef, $res) = api(GetCertificateAuthorityCsr => { CertificateAuthorityArn => $p // '' });
is_aws_error($res, 400, 'InvalidStateException', undef, 'GetCertificateAuthorityCsr on a DELETED CA -> InvalidStateException');
api(RestoreCertificateAuthority => { CertificateAuthorityArn => $p // '' });
is_api_ok(scalar((api(GetCertificateAuthorityCsr => { CertificateAuthorityArn => $p // '' }))[2]),
    '... and it answers again once restored');
