# IssueCertificate idempotency and GetCertificate errors (PCA-API.md §5.5,
# §5.6, §11.8): the same IdempotencyToken gives the same CertificateArn and one
# certificate; certificate ARNs of another CA, swapped or unknown.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 16, need_module('acmpca');

my $R = make_root_active(cn => uniq('Issue Root'));
my $R2 = make_root_active(cn => uniq('Other Root'));
ok($R && $R2, 'two ACTIVE roots');
my $k = openssl_key_csr(subj => '/CN=idempotent sub');
my %req = (CertificateAuthorityArn => $R ? $R->{arn} : '', Csr => b64($k ? $k->{csr} : ''), SigningAlgorithm => 'SHA256WITHECDSA',
           TemplateArn => sub_template(0), Validity => { Type => 'DAYS', Value => 20 });

my $tok = uniq('issue');
my(undef, $j1) = api(IssueCertificate => { %req, IdempotencyToken => $tok });
my(undef, $j2) = api(IssueCertificate => { %req, IdempotencyToken => $tok });
my(undef, $j3) = api(IssueCertificate => { %req, IdempotencyToken => $tok, Validity => { Type => 'DAYS', Value => 40 } });
my($a1, $a2, $a3) = map { ($_ || {})->{CertificateArn} } $j1, $j2, $j3;
ok($a1 && $a2 && $a1 eq $a2, 'the same IdempotencyToken returns the same CertificateArn');
ok($a1 && $a3 && $a1 eq $a3, '... even with other parameters (the first call wins)');
my $c1 = $a1 ? (get_cert($R->{arn}, $a1) || {})->{Certificate} : undef;
my($nb, $na) = $c1 ? cert_dates($c1) : ();
ok(defined $na && abs($na - (time + 20 * 86400)) <= 180, '... and the certificate is the one of the first call (20 days)');
my(undef, $j4) = api(IssueCertificate => { %req, IdempotencyToken => uniq('issue') });
my(undef, $j5) = api(IssueCertificate => \%req);
my(undef, $j6) = api(IssueCertificate => \%req);
my @fresh = grep { $_ } map { ($_ || {})->{CertificateArn} } $j4, $j5, $j6;
ok(@fresh == 3 && !grep({ $_ eq ($a1 // '') } @fresh) && keys(%{ { map { $_ => 1 } @fresh } }) == 3,
    'another token, or none, issues a new certificate each time');

# Serials: 16 octets, positive with the top octet >= 0x40; the first six carry the time
# of issuance in milliseconds (so that the index grows at its end), the rest is random.
my @serials = map { m{/certificate/([0-9a-f]+)$} ? $1 : '' } @fresh;
my @ms = map { (hex(substr($_, 0, 4)) & 0x3FFF) * 2**32 + hex(substr($_, 4, 8)) } @serials;
ok(@serials == 3 && !grep({ !/^[4-7][0-9a-f]{31}$/ } @serials)
    && !grep({ abs($_ / 1000 - time) > 600 } @ms) && $ms[0] <= $ms[1] && $ms[1] <= $ms[2],
    'serials: 16 octets from 0x40 up, the time of issuance first, in order') or diag("@serials");
ok(keys(%{ { map { substr($_, 12) => 1 } @serials } }) == 3, '... then random octets');

# GetCertificate errors.
my $serial = ($a1 // '') =~ m{/certificate/([0-9a-f]+)$} ? $1 : '00';
sub get_c { my(undef, undef, $r) = api(GetCertificate => { CertificateAuthorityArn => $_[0] // '', CertificateArn => $_[1] // '' }); $r }
is_aws_error(get_c($R2 ? $R2->{arn} : '', $a1), 400, 'InvalidArnException', undef,
    'a certificate ARN of another CA -> InvalidArnException');
is_aws_error(get_c($a1, $R ? $R->{arn} : ''), 400, 'InvalidArnException', undef,
    'CA and certificate ARNs swapped -> InvalidArnException');
is_aws_error(get_c($R ? $R->{arn} : '', ($R ? $R->{arn} : '') . '/certificate/0123456789abcdef0123456789abcdef'), 400,
    'ResourceNotFoundException', undef, 'an unknown serial under the CA -> ResourceNotFoundException');
is_aws_error(get_c($R ? $R->{arn} : '', $R ? $R->{arn} : ''), 400, 'InvalidArnException', undef,
    'the CA ARN as certificate ARN -> InvalidArnException');
is_aws_error(get_c($R ? $R->{arn} : '', 'arn:aws:acm:us-east-1:123456789012:certificate/0b7e0c7a-3c1f-4f5e-9a51-1d2c3b4a5f60'), 400,
    'InvalidArnException', undef, 'an ACM certificate ARN -> InvalidArnException');

# GetCertificate in other states.
api(UpdateCertificateAuthority => { CertificateAuthorityArn => $R ? $R->{arn} : '', Status => 'DISABLED' });
is_api_ok(get_c($R ? $R->{arn} : '', $a1), 'GetCertificate on a DISABLED CA answers');
api(DeleteCertificateAuthority => { CertificateAuthorityArn => $R ? $R->{arn} : '', PermanentDeletionTimeInDays => 7 });
is_aws_error(get_c($R ? $R->{arn} : '', $a1), 400, 'InvalidStateException', undef, 'GetCertificate on a DELETED CA -> InvalidStateException');
api(RestoreCertificateAuthority => { CertificateAuthorityArn => $R ? $R->{arn} : '' });
my $res = get_c($R ? $R->{arn} : '', $a1);
ok(is_api_ok($res, 'restored: GetCertificate answers again') && (json_decode($res->content) || {})->{Certificate} eq ($c1 // 'x'),
    '... with the same certificate');
