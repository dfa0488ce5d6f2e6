# DescribeCertificateAuthority (PCA-API.md §5.2, §1.2): the record of a CA in
# each phase of its life: PENDING_CERTIFICATE, ACTIVE (Serial, NotBefore,
# NotAfter from the imported certificate), DELETED (RestorableUntil); epoch-second
# timestamps as JSON numbers; no null members.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 27, need_module('acmpca');

my $config = ca_config(key => 'RSA_2048', cn => uniq('Describe Root'));
my $t0 = time;
my($st, $j, $res) = api(CreateCertificateAuthority => {
    CertificateAuthorityConfiguration => $config, CertificateAuthorityType => 'ROOT' });
my $arn = $j && $j->{CertificateAuthorityArn};
ok($arn, 'a ROOT CA is created') or diag($res->content);

# ---- PENDING_CERTIFICATE
($st, $j, $res) = api(DescribeCertificateAuthority => { CertificateAuthorityArn => $arn // '' });
my $d = is_api_ok($res, 'DescribeCertificateAuthority answers') && $j->{CertificateAuthority} || {};
is($d->{Arn}, $arn, 'Arn');
is($d->{OwnerAccount}, ACCOUNT, 'OwnerAccount is the configured account');
is($d->{Type}, 'ROOT', 'Type ROOT');
is($d->{Status}, 'PENDING_CERTIFICATE', 'a new CA is PENDING_CERTIFICATE');
ok(defined $d->{CreatedAt} && abs($d->{CreatedAt} - $t0) <= 120, 'CreatedAt is now')
    or diag("CreatedAt=" . ($d->{CreatedAt} // 'undef') . " now=$t0");
ok(defined $d->{LastStateChangeAt} && abs($d->{LastStateChangeAt} - ($d->{CreatedAt} // 0)) <= 2,
    'LastStateChangeAt equals CreatedAt at creation');
like($res->content, qr/"CreatedAt"\s*:\s*\d+(?:\.\d+)?\s*[,}]/, 'CreatedAt is a JSON number (epoch seconds)');
is_deeply($d->{CertificateAuthorityConfiguration}, $config, 'CertificateAuthorityConfiguration echoes the input');
ok(!exists $d->{Serial} && !exists $d->{NotBefore} && !exists $d->{NotAfter},
    'no Serial, NotBefore or NotAfter before a certificate is imported');
ok(!exists $d->{RestorableUntil} && !exists $d->{FailureReason}, 'no RestorableUntil or FailureReason');
unlike($res->content, qr/:\s*null\b/, 'no null members');

# ---- ACTIVE
sleep 1;    # so that LastStateChangeAt can move
my $csr  = get_ca_csr($arn // '');
my $carn = $csr ? issue_ca_cert($arn, $csr, signing => 'SHA256WITHRSA') : undef;
my $got  = $carn ? get_cert($arn, $carn) : undef;
my $imported = $got && import_ca_cert($arn, $got->{Certificate});
ok($imported, 'the CA certificate is issued and imported');
($st, $j, $res) = api(DescribeCertificateAuthority => { CertificateAuthorityArn => $arn // '' });
$d = ($j && $j->{CertificateAuthority}) || {};
is($d->{Status}, 'ACTIVE', 'after import the CA is ACTIVE');
my $cert = $got ? $got->{Certificate} : '';
like($d->{Serial} // '', qr/^[0-9a-f]{2}(?::[0-9a-f]{2})*$/, 'Serial is lowercase colon hex');
ok(same_serial($d->{Serial}, cert_serial_hex($cert)), 'Serial is the serial of the imported certificate')
    or diag('Serial ' . ($d->{Serial} // 'undef') . ' cert ' . (cert_serial_hex($cert) // 'undef'));
my($nb, $na) = cert_dates($cert);
ok(defined $nb && defined $d->{NotBefore} && abs($d->{NotBefore} - $nb) < 1.5, 'NotBefore is the certificate notBefore')
    or diag('NotBefore ' . ($d->{NotBefore} // 'undef') . ' cert ' . ($nb // 'undef'));
ok(defined $na && defined $d->{NotAfter} && abs($d->{NotAfter} - $na) < 1.5, 'NotAfter is the certificate notAfter')
    or diag('NotAfter ' . ($d->{NotAfter} // 'undef') . ' cert ' . ($na // 'undef'));
like($res->content, qr/"NotAfter"\s*:\s*\d+(?:\.\d+)?\s*[,}]/, 'NotAfter is a JSON number');
ok(($d->{LastStateChangeAt} // 0) > ($d->{CreatedAt} // 0), 'LastStateChangeAt moved with the import');

# ---- DELETED
api(UpdateCertificateAuthority => { CertificateAuthorityArn => $arn // '', Status => 'DISABLED' });
my $tdel = time;
($st, undef, $res) = api(DeleteCertificateAuthority => { CertificateAuthorityArn => $arn // '', PermanentDeletionTimeInDays => 9 });
is($st, 200, 'the (disabled) CA is deleted') or diag($res->content);
($st, $j, $res) = api(DescribeCertificateAuthority => { CertificateAuthorityArn => $arn // '' });
$d = ($j && $j->{CertificateAuthority}) || {};
is($d->{Status}, 'DELETED', 'Describe still answers for a DELETED CA, Status DELETED');
ok(defined $d->{RestorableUntil} && abs($d->{RestorableUntil} - ($tdel + 9 * 86400)) <= 120,
    'RestorableUntil = deletion time + PermanentDeletionTimeInDays')
    or diag('RestorableUntil ' . ($d->{RestorableUntil} // 'undef') . ' want ~' . ($tdel + 9 * 86400));
like($res->content, qr/"RestorableUntil"\s*:\s*\d+(?:\.\d+)?\s*[,}]/, 'RestorableUntil is a JSON number');
ok(defined $d->{LastStateChangeAt} && abs($d->{LastStateChangeAt} - $tdel) <= 120, 'LastStateChangeAt is the deletion time');

# ---- a SUBORDINATE pending
my $sub = create_ca(type => 'SUBORDINATE', key => 'EC_secp384r1');
$d = ($sub ? describe_ca($sub) : undef) || {};
ok(($d->{Type} // '') eq 'SUBORDINATE' && ($d->{Status} // '') eq 'PENDING_CERTIFICATE'
    && ($d->{CertificateAuthorityConfiguration}{SigningAlgorithm} // '') eq 'SHA384WITHECDSA',
    'a SUBORDINATE CA: Type, Status and its configuration');
