# DeleteCertificateAuthority and RestoreCertificateAuthority (PCA-API.md §5.11,
# §5.12, §4): which states may be deleted, PermanentDeletionTimeInDays (default
# 30, 7..30), RestorableUntil, restore to the pre-deletion status, and what a
# DELETED CA refuses.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 28, need_module('acmpca');

sub del { my($arn, %b) = @_; my(undef, undef, $res) = api(DeleteCertificateAuthority => { CertificateAuthorityArn => $arn // '', %b }); $res }
sub restore { my(undef, undef, $res) = api(RestoreCertificateAuthority => { CertificateAuthorityArn => $_[0] // '' }); $res }
sub near { my($got, $want, $slack) = @_; defined $got && abs($got - $want) <= ($slack // 120) }

# ACTIVE cannot be deleted.
my $R = make_root_active(cn => uniq('Delete Root'));
my $ra = $R ? $R->{arn} : '';
is_aws_error(del($ra), 400, 'InvalidStateException', qr/not in a valid state for deletion/,
    'deleting an ACTIVE CA -> InvalidStateException, AWS message');
is(ca_status($ra), 'ACTIVE', '... and it stays ACTIVE');
is_aws_error(restore($ra), 400, 'InvalidStateException', undef, 'restoring a CA that is not DELETED -> InvalidStateException');

for my $days (6, 31, 0) {
    is_aws_error(del($ra, PermanentDeletionTimeInDays => $days), 400, 'ValidationException', qr/permanentDeletionTimeInDays/i,
        "PermanentDeletionTimeInDays $days -> ValidationException");
}

# PENDING_CERTIFICATE, default period.
my $p = create_ca();
my $t = time;
is(del($p)->code, 200, 'a PENDING_CERTIFICATE CA is deleted');
my $d = describe_ca($p // '') || {};
is($d->{Status}, 'DELETED', 'its Status is DELETED');
ok(near($d->{RestorableUntil}, $t + 30 * 86400), 'RestorableUntil defaults to 30 days')
    or diag('RestorableUntil ' . ($d->{RestorableUntil} // 'undef'));
is_aws_error(del($p), 400, 'InvalidStateException', undef, 'deleting it again -> InvalidStateException');

# What a DELETED CA refuses.
my @refused = (
    [TagCertificateAuthority   => { Tags => [{ Key => 'k', Value => 'v' }] }],
    [UntagCertificateAuthority => { Tags => [{ Key => 'k' }] }],
    [ListTags                  => {}],
    [GetCertificateAuthorityCsr => {}],
    [GetCertificateAuthorityCertificate => {}],
    [UpdateCertificateAuthority => { Status => 'ACTIVE' }],
    [IssueCertificate          => { Csr => b64(get_ca_csr($ra) // 'x'), SigningAlgorithm => 'SHA256WITHECDSA',
                                    TemplateArn => ROOT_TEMPLATE, Validity => { Type => 'DAYS', Value => 10 } }],
);
for my $r (@refused) {
    my(undef, undef, $res) = api($r->[0] => { CertificateAuthorityArn => $p // '', %{ $r->[1] } });
    is_aws_error($res, 400, 'InvalidStateException', undef, "$r->[0] on a DELETED CA -> InvalidStateException");
}
is_api_ok(scalar((api(DescribeCertificateAuthority => { CertificateAuthorityArn => $p // '' }))[2]), 'Describe still answers');

# Restore to PENDING_CERTIFICATE.
sleep 1;
is(restore($p)->code, 200, 'the DELETED CA is restored');
$d = describe_ca($p // '') || {};
is($d->{Status}, 'PENDING_CERTIFICATE', 'it is PENDING_CERTIFICATE again (its status before deletion)');
ok(!exists $d->{RestorableUntil}, 'RestorableUntil is gone');
ok(($d->{LastStateChangeAt} // 0) > $t, 'LastStateChangeAt moved');
is_aws_error(restore($p), 400, 'InvalidStateException', undef, 'restoring it again -> InvalidStateException');

# DISABLED: delete with 7 days, restore to DISABLED.
api(UpdateCertificateAuthority => { CertificateAuthorityArn => $ra, Status => 'DISABLED' });
$t = time;
is(del($ra, PermanentDeletionTimeInDays => 7)->code, 200, 'a DISABLED CA is deleted with PermanentDeletionTimeInDays 7');
$d = describe_ca($ra) || {};
ok(near($d->{RestorableUntil}, $t + 7 * 86400), 'RestorableUntil is 7 days out');
is(restore($ra)->code, 200, 'it is restored');
is(ca_status($ra), 'DISABLED', 'it is DISABLED again, not ACTIVE');
is((api(UpdateCertificateAuthority => { CertificateAuthorityArn => $ra, Status => 'ACTIVE' }))[0], 200, 'and can be made ACTIVE');
