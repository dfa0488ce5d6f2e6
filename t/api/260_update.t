# UpdateCertificateAuthority (PCA-API.md §5.10, §5.1.1, §4.1): Status ACTIVE <->
# DISABLED, other statuses InvalidArgsException, PENDING_CERTIFICATE and DELETED
# InvalidStateException; the RevocationConfiguration is validated as at creation
# and replaced per top-level member.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use JSON::PP ();

plan tests => 19, need_module('acmpca');

my $T = JSON::PP::true;
my $F = JSON::PP::false;
sub update { my($arn, %b) = @_; my(undef, undef, $res) = api(UpdateCertificateAuthority => { CertificateAuthorityArn => $arn // '', %b }); $res }

my $pending = create_ca();
is_aws_error(update($pending, Status => 'DISABLED'), 400, 'InvalidStateException', undef,
    'PENDING_CERTIFICATE -> InvalidStateException');
is_aws_error(update($pending, RevocationConfiguration => { OcspConfiguration => { Enabled => $T } }), 400, 'InvalidStateException', undef,
    'PENDING_CERTIFICATE, revocation only -> InvalidStateException');

my $R = make_root_active(cn => uniq('Update Root'));
my $arn = $R ? $R->{arn} : '';
my $before = describe_ca($arn) || {};
sleep 1;
is(update($arn, Status => 'DISABLED')->code, 200, 'ACTIVE -> DISABLED');
my $d = describe_ca($arn) || {};
is($d->{Status}, 'DISABLED', 'Describe shows DISABLED');
ok(($d->{LastStateChangeAt} // 0) > ($before->{LastStateChangeAt} // 0), 'LastStateChangeAt moved');
is(update($arn, Status => 'DISABLED')->code, 200, 'DISABLED -> DISABLED is accepted');
is(update($arn, Status => 'ACTIVE')->code, 200, 'DISABLED -> ACTIVE');
is(ca_status($arn), 'ACTIVE', 'Describe shows ACTIVE');

for my $s (qw(PENDING_CERTIFICATE DELETED CREATING EXPIRED FAILED)) {
    is_aws_error(update($arn, Status => $s), 400, 'InvalidArgsException', undef, "Status $s -> InvalidArgsException");
}

# RevocationConfiguration.
is_aws_error(update($arn, RevocationConfiguration => { CrlConfiguration => { Enabled => $F, ExpirationInDays => 3 } }), 400,
    'InvalidArgsException', undef, 'CRL Enabled=false with other members -> InvalidArgsException');
is_aws_error(update($arn, RevocationConfiguration => { CrlConfiguration => { Enabled => $T, S3BucketName => 'Not_A_Bucket' } }), 400,
    'InvalidArgsException', undef, 'an invalid bucket name -> InvalidArgsException');
my $crl = { Enabled => $T, S3BucketName => 'update-crl-bucket', ExpirationInDays => 3 };
is(update($arn, RevocationConfiguration => { CrlConfiguration => $crl })->code, 200, 'CRL enabled by update');
is(update($arn, RevocationConfiguration => { OcspConfiguration => { Enabled => $T } })->code, 200, 'OCSP enabled by a later update');
my $rc = ((describe_ca($arn) || {})->{RevocationConfiguration}) || {};
ok(($rc->{CrlConfiguration}{S3BucketName} // '') eq 'update-crl-bucket' && ($rc->{CrlConfiguration}{ExpirationInDays} // 0) == 3
    && $rc->{CrlConfiguration}{Enabled} && $rc->{OcspConfiguration}{Enabled},
    'the OCSP-only update left the CRL configuration as it was') or diag(json_encode($rc));

# DELETED.
update($arn, Status => 'DISABLED');
api(DeleteCertificateAuthority => { CertificateAuthorityArn => $arn, PermanentDeletionTimeInDays => 7 });
is_aws_error(update($arn, Status => 'ACTIVE'), 400, 'InvalidStateException', undef, 'DELETED -> InvalidStateException');
