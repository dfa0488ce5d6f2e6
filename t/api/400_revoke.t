# RevokeCertificate (PCA-API.md §5.9, §4.1, §11.6): serials with or without colons,
# in any case, with leading zero octets; every reason and how the CRL shows it;
# RequestAlreadyProcessedException, InvalidRequestException (bad syntax, a root's
# own certificate), ResourceNotFoundException; the CA states; revoking a
# subordinate CA's certificate.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke;

plan tests => 32, need_module('acmpca');
use_vhost();

my $R = crl_root(cn => uniq('Revoke Root'));
ok($R, 'an ACTIVE root with a CRL');
my $arn = $R ? $R->{arn} : '';

# Serial forms: AWS's example is "67:07:44:76:83:a9:b7:f4:05:56:27:ff:d5:5c:eb:cc".
my @L = map { issue_leaf($R, cn => "revoke leaf $_") } 1 .. 12;
ok(12 == grep({ $_ } @L), 'twelve end-entity certificates');
sub colons { join ':', unpack '(A2)*', $_[0] }
my $t0 = time;
is_api_ok(revoke_res($arn, uc colons(leaf_serial($L[0])), 'KEY_COMPROMISE'),
    'upper case with colons');
is_api_ok(revoke_res($arn, leaf_serial($L[1]), 'CERTIFICATE_AUTHORITY_COMPROMISE'),
    'lower case without colons');
is_api_ok(revoke_res($arn, '00:00:' . colons(leaf_serial($L[2])), 'AFFILIATION_CHANGED'),
    'leading zero octets and colons');
is_api_ok(revoke_res($arn, '0000' . uc(leaf_serial($L[3])), 'SUPERSEDED'),
    'leading zero octets, upper case, no colons');
is_api_ok(revoke_res($arn, leaf_serial($L[4]), 'CESSATION_OF_OPERATION'), 'CESSATION_OF_OPERATION');
is_api_ok(revoke_res($arn, leaf_serial($L[5]), 'PRIVILEGE_WITHDRAWN'), 'PRIVILEGE_WITHDRAWN');
is_api_ok(revoke_res($arn, leaf_serial($L[6]), 'A_A_COMPROMISE'), 'A_A_COMPROMISE');
is_api_ok(revoke_res($arn, leaf_serial($L[7]), 'UNSPECIFIED'), 'UNSPECIFIED');
my $t1 = time;

# Already revoked, in any spelling.
is_aws_error(revoke_res($arn, leaf_serial($L[0]), 'KEY_COMPROMISE'), 400,
    'RequestAlreadyProcessedException', undef, 'a second revocation -> RequestAlreadyProcessedException');
is_aws_error(revoke_res($arn, colons(leaf_serial($L[1])), 'SUPERSEDED'), 400,
    'RequestAlreadyProcessedException', undef, '... also with another spelling and reason');

# Bad serials, unknown serials.
for my $bad ('xyz', '0x1234', '12::34', ':1234', '12 34') {
    is_aws_error(revoke_res($arn, $bad, 'KEY_COMPROMISE'), 400, 'InvalidRequestException', undef,
        "serial '$bad' -> InvalidRequestException");
}
is_aws_error(revoke_res($arn, '0123456789abcdef0123456789abcdef', 'KEY_COMPROMISE'), 400,
    'ResourceNotFoundException', undef, 'a serial the CA never issued -> ResourceNotFoundException');
is_aws_error(revoke_res($arn, 'a' x 129, 'KEY_COMPROMISE'), 400, 'ValidationException', qr/certificateSerial|CertificateSerial/i,
    'a serial longer than 128 characters -> ValidationException');
is_aws_error(revoke_res($arn, leaf_serial($L[8]), 'BECAUSE'), 400, 'ValidationException', qr/revocationReason|RevocationReason/i,
    'an unknown reason -> ValidationException');

# The root's own certificate (PCA-API.md §5.9 [AWS]).
my($root_serial) = ($R ? $R->{cert_arn} : '') =~ m{/certificate/([0-9a-f]+)$};
is_aws_error(revoke_res($arn, $root_serial, 'KEY_COMPROMISE'), 400, 'InvalidRequestException', qr/root/i,
    "the root's own self-signed certificate -> InvalidRequestException");
is_aws_error(revoke_res($arn, uc colons($root_serial // '00'), 'KEY_COMPROMISE'), 400, 'InvalidRequestException', undef,
    '... in any spelling');

# Unknown CA, wrong ARN kinds.
(my $other = $arn) =~ s/[0-9a-f]{12}$/000000000000/;
is_aws_error(revoke_res($other, leaf_serial($L[8]), 'KEY_COMPROMISE'), 400, 'ResourceNotFoundException', undef,
    'an unknown CA -> ResourceNotFoundException');
is_aws_error(revoke_res($L[8] ? $L[8]{arn} : '', leaf_serial($L[8]), 'KEY_COMPROMISE'), 400, 'InvalidArnException', undef,
    'a certificate ARN as CA ARN -> InvalidArnException');

# A subordinate CA's certificate, revoked by its issuer.
my $S = crl_sub($R, cn => uniq('Revoked Sub'));
my($sub_serial) = ($S ? $S->{cert_arn} : '') =~ m{/certificate/([0-9a-f]+)$};
is_api_ok(revoke_res($arn, $sub_serial, 'CERTIFICATE_AUTHORITY_COMPROMISE'),
    "the issuer revokes a subordinate CA's certificate");

# The CRL says all of it (PCA-API.md §7.4).
my $crl = crl_der_from_url($L[0] ? cdp_url($L[0]{cert}) : undef);
my $e = crl_entries(crl_text($crl));
my %want = (0 => 'Key Compromise', 1 => 'CA Compromise', 2 => 'Affiliation Changed', 3 => 'Superseded',
            4 => 'Cessation Of Operation', 5 => 'Privilege Withdrawn', 6 => 'AA Compromise', 7 => undef);
my @bad;
for my $i (sort keys %want) {
    my $x = $e->{ leaf_serial($L[$i]) };
    push @bad, "leaf $i missing" and next unless $x;
    push @bad, "leaf $i reason " . ($x->{reason} // 'none') unless ($x->{reason} // '') eq ($want{$i} // '');
    push @bad, "leaf $i time $x->{date}" unless $x->{date} && $x->{date} >= $t0 - 1 && $x->{date} <= $t1 + 1;
}
ok(crl_verify($crl, $R ? $R->{cert} : '') && !@bad && keys %$e == 9,
    'the CRL verifies and lists the eight revocations with their reasons (none for UNSPECIFIED) and times, '
    . 'and the subordinate') or diag join "\n", @bad;
ok($e->{$sub_serial // ''} && ($e->{$sub_serial}{reason} // '') eq 'CA Compromise', "... the subordinate's certificate with cACompromise");
ok(!exists $e->{ leaf_serial($L[8]) }, '... and not the certificates that were not revoked');

# A revoked certificate can still be fetched (PCA-API.md §5.6).
ok(get_cert($arn, $L[0] ? $L[0]{arn} : ''), 'GetCertificate still returns a revoked certificate');

# States (§4.1): DISABLED revokes, PENDING_CERTIFICATE and DELETED do not.
api(UpdateCertificateAuthority => { CertificateAuthorityArn => $arn, Status => 'DISABLED' });
is_api_ok(revoke_res($arn, leaf_serial($L[9]), 'SUPERSEDED'), 'a DISABLED CA revokes');
my $P = create_ca(cn => uniq('Pending'));
is_aws_error(revoke_res($P, leaf_serial($L[10]), 'SUPERSEDED'), 400, 'InvalidStateException', undef,
    'a PENDING_CERTIFICATE CA -> InvalidStateException');
api(DeleteCertificateAuthority => { CertificateAuthorityArn => $arn, PermanentDeletionTimeInDays => 7 });
is_aws_error(revoke_res($arn, leaf_serial($L[10]), 'SUPERSEDED'), 400, 'InvalidStateException', undef,
    'a DELETED CA -> InvalidStateException');
